"""Stop a `graphlinker` command at a named place, so that a test can kill it there: on an event, not a clock.

Run as a script it is the graphlinker CLI with one function wrapped, nothing else changed::

    python tests/proc_events_pause.py MODULE:QUALNAME[#N] ARGS...     # ARGS as for `python -m graphlinker`

When the N-th call (default the first) of ``MODULE.QUALNAME`` begins, the process writes one line
``proc_events: paused at MODULE:QUALNAME#N`` to stderr and stops itself with SIGSTOP, before the call does
anything. Imported, it is the test's side: :func:`stopped_at` starts such a command, returns once the kernel
reports it stopped (with the stderr lines it printed before), and kills it with SIGKILL on the way out in any case.
"""

from __future__ import annotations

import functools
import importlib
import os
import select
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

MARK = "proc_events: paused at"


def _install(spec: str) -> None:
    target, _, nth = spec.partition("#")
    module_name, _, qualname = target.partition(":")
    owner = importlib.import_module(module_name)
    *path, name = qualname.split(".")
    for part in path:
        owner = getattr(owner, part)
    original = getattr(owner, name)  # an AttributeError here (a renamed function) ends the command before it starts
    wanted, calls = int(nth or 1), 0

    @functools.wraps(original)
    def paused(*args, **kwargs):
        nonlocal calls
        calls += 1
        if calls == wanted:
            sys.stderr.flush()  # the progress lines printed so far come first
            os.write(2, f"{MARK} {target}#{wanted}\n".encode())
            os.kill(os.getpid(), signal.SIGSTOP)
        return original(*args, **kwargs)

    setattr(owner, name, paused)


@dataclass
class Stopped:
    """A command stopped at its pause point; ``lines`` is what it printed on stderr before."""

    process: subprocess.Popen
    lines: list[str] = field(default_factory=list)

    def printed(self, text: str) -> bool:
        return any(text in line for line in self.lines)

    def kill(self) -> int:
        """kill -9 the stopped command; returns its exit status (``-SIGKILL``)."""
        self.process.send_signal(signal.SIGKILL)
        return self.process.wait()


def _lines_until_mark(process: subprocess.Popen, spec: str, timeout: float) -> list[str]:
    fd, text, deadline = process.stderr.fileno(), b"", time.monotonic() + timeout
    while MARK.encode() not in text:
        remaining = deadline - time.monotonic()
        ready = select.select([fd], [], [], max(remaining, 0))[0] if remaining > 0 else []
        if not ready:
            raise AssertionError(f"no pause at {spec} within {timeout:.0f}s; stderr so far:\n{text.decode()[-3000:]}")
        chunk = os.read(fd, 65536)
        if not chunk:
            raise AssertionError(f"the command ended (exit {process.wait()}) without reaching {spec}:\n{text.decode()[-3000:]}")
        text += chunk
    before = text.decode().split(MARK)[0]
    return [line.strip() for line in before.splitlines() if line.strip()]


@contextmanager
def stopped_at(spec: str, args: list[str], env: dict, timeout: float = 300) -> Iterator[Stopped]:
    """Start ``graphlinker ARGS`` paused at ``spec`` (``MODULE:QUALNAME[#N]``); yield it once it is stopped there."""
    process = subprocess.Popen([sys.executable, __file__, spec, *args], stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE, env=env)
    try:
        lines = _lines_until_mark(process, spec, timeout)
        _, status = os.waitpid(process.pid, os.WUNTRACED)  # returns once the SIGSTOP has taken effect
        assert os.WIFSTOPPED(status), f"the command did not stop at {spec} (wait status {status})"
        yield Stopped(process, lines)
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGKILL)  # a stopped process dies of SIGKILL too
            process.wait()
        process.stderr.close()


if __name__ == "__main__":
    _install(sys.argv[1])
    sys.argv = ["graphlinker", *sys.argv[2:]]
    from graphlinker.cli.app import app

    app(prog_name="graphlinker")
