"""What the benchmark scripts share."""

from __future__ import annotations

import os


def pin_to_one_cpu() -> str:
    """Pin this process (and Arrow's pools) to one CPU, so every figure is single-core."""
    try:
        cpu = min(os.sched_getaffinity(0))
        os.sched_setaffinity(0, {cpu})
        try:
            import pyarrow as pa

            pa.set_cpu_count(1)
            pa.set_io_thread_count(1)
        except Exception:  # pragma: no cover - old pyarrow
            pass
        return f"pinned to CPU {cpu}"
    except (AttributeError, OSError) as exc:  # pragma: no cover - not Linux
        return f"not pinned ({exc})"


def status_mib(field: str) -> float | None:
    """A ``/proc/self/status`` memory field (``VmRSS``, ``VmHWM``, ...) in MiB; None where /proc is missing."""
    try:
        with open("/proc/self/status") as handle:
            for line in handle:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) / 1024
    except OSError:  # pragma: no cover - not Linux
        pass
    return None
