"""What the benchmark scripts share."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path


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


def checkout(root: Path, work: Path, rev: str) -> dict:
    """A detached worktree of ``rev`` of the repository at ``root``, under ``work/baseline-COMMIT`` (made once,
    reused), so a benchmark can run an earlier revision beside this tree in the same session.

    Remove it with ``git worktree remove PATH`` when done (``git worktree prune`` after deleting it by hand).
    """
    proc = subprocess.run(["git", "-C", str(root), "rev-parse", "--verify", f"{rev}^{{commit}}"], capture_output=True, text=True)
    if proc.returncode != 0:
        sys.exit(f"--baseline {rev}: not a commit of {root}: {proc.stderr.strip()}")
    commit = proc.stdout.strip()
    path = Path(work) / f"baseline-{commit[:12]}"
    if not (path / "graphlinker" / "__init__.py").exists():
        shutil.rmtree(path, ignore_errors=True)
        subprocess.run(["git", "-C", str(root), "worktree", "prune"], capture_output=True)
        made = subprocess.run(["git", "-C", str(root), "worktree", "add", "--detach", str(path), commit], capture_output=True, text=True)
        if made.returncode != 0:
            sys.exit(f"--baseline {rev}: git worktree add failed: {made.stderr.strip()}")
    return {"commit": commit, "path": path}
