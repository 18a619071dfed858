"""A small built-in scheduler: run a job now, then on a fixed cadence, until told to stop.

``graphlinker schedule --every 6h INPUT...`` uses it to run ``refresh`` on hosts with no
cron, systemd timer or CronJob. The loop is deliberately simple:

* the first run starts at once; run *n* is due at ``start + n * interval`` (a fixed
  cadence, not "interval after the previous run ended");
* a run that overruns skips the ticks it missed and the next one starts at the next
  tick still in the future: runs never overlap and never bunch up to catch up;
* a job's exit code (3 nothing new, 4 lock held, 2 bad input, ...) never stops the
  loop, nor does an exception: a GraphlinkerError counts as its documented code,
  anything else as code 1 with its traceback logged;
* setting ``stop`` (what the SIGTERM/SIGINT handlers do) ends the loop after the
  current job, or at once while it is waiting for the next tick.

Clock and sleep are injectable so the cadence is tested without real time passing.
"""

from __future__ import annotations

import logging
import math
import re
import signal
import threading
import time
from collections.abc import Callable

from graphlinker.errors import ExitCode, GraphlinkerError

log = logging.getLogger(__name__)

#: Longest single sleep while a ``stop`` event can end the wait: the loop notices a
#: SIGTERM within this many seconds. (The loop never calls ``stop.wait()``: setting an
#: Event from a signal handler while the main thread holds the Event's lock in ``wait``
#: can deadlock, whereas ``is_set()`` takes no lock.)
SLEEP_SLICE_S = 1.0

# Log level of a job's one-line message by exit code: nothing new is normal, a held lock
# is worth a look only when it repeats, the rest are errors.
_LEVELS = {int(ExitCode.OK): logging.INFO, int(ExitCode.NOTHING_NEW): logging.INFO, int(ExitCode.LOCK_HELD): logging.WARNING}

_UNITS = {"d": 86400.0, "h": 3600.0, "m": 60.0, "s": 1.0}
_NUMBER = r"\d+(?:\.\d+)?"
_PLAIN = re.compile(rf"{_NUMBER}")
_COMPOUND = re.compile(rf"(?:(?P<d>{_NUMBER})d)?(?:(?P<h>{_NUMBER})h)?(?:(?P<m>{_NUMBER})m)?(?:(?P<s>{_NUMBER})s)?")


def parse_interval(text: str) -> float:
    """Seconds in an interval such as ``90s``, ``15m``, ``6h``, ``1d``, ``1h30m`` or plain ``3600``.

    Units are ``d``, ``h``, ``m``, ``s``, largest first, each at most once; numbers may
    have a decimal part (``1.5h``). Case and surrounding spaces are ignored. Raises
    ValueError with a message naming the accepted forms for anything else, and for
    intervals that are not positive.
    """
    raw = text if isinstance(text, str) else ""
    cleaned = raw.strip().lower()
    hint = "use a positive duration such as 90s, 15m, 6h, 1d, 1h30m or plain seconds (3600)"
    if not cleaned:
        raise ValueError(f"empty interval: {hint}")
    if _PLAIN.fullmatch(cleaned):
        seconds = float(cleaned)
    else:
        match = _COMPOUND.fullmatch(cleaned)
        if match is None or not any(match.groupdict().values()):
            raise ValueError(f"cannot read interval {raw.strip()!r}: {hint}")
        seconds = sum(float(value) * _UNITS[unit] for unit, value in match.groupdict().items() if value)
    if not math.isfinite(seconds) or seconds <= 0:
        raise ValueError(f"interval {raw.strip()!r} is not positive: {hint}")
    return seconds


def _exit_code(exc: Exception | SystemExit) -> int | None:
    """The exit code an exception from a job carries, or None for a bug.

    ``sys.exit(n)`` and ``typer.Exit(n)`` carry their code, a
    :class:`~graphlinker.errors.GraphlinkerError` its documented one (e.g. 5 for an
    unreachable store).
    """
    if isinstance(exc, SystemExit):
        if exc.code is None:
            return int(ExitCode.OK)
        return exc.code if isinstance(exc.code, int) else int(ExitCode.FAILURE)
    code = getattr(exc, "exit_code", None)  # GraphlinkerError, click/typer Exit
    return int(code) if isinstance(code, int) else None


def run_every(
    interval_s: float,
    job: Callable[[], int],
    *,
    sleep: Callable[[float], object] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
    max_runs: int | None = None,
    on_result: Callable[[int, int, float], None] | None = None,
    stop: threading.Event | None = None,
) -> int:
    """Run ``job`` now and then every ``interval_s`` seconds; return the last job's exit code.

    Run *n* (counting from 0) is due at ``start + n * interval_s``. When a job ends
    after one or more due times, those ticks are skipped and the next run starts at
    the first tick that is not yet past, so runs never overlap and never burst.

    ``job`` returns an exit code (``None`` counts as 0). A nonzero code does not stop
    the loop. An exception does not either: it is logged with its traceback and counted
    as code 1, or as the code it carries (``SystemExit``, ``typer.Exit``,
    :class:`~graphlinker.errors.GraphlinkerError`). ``KeyboardInterrupt`` propagates.

    After each job ``on_result(run_number, code, seconds)`` is called, ``run_number``
    counting from 1 and ``seconds`` measured with ``clock``. The loop ends after
    ``max_runs`` jobs, or when ``stop`` is set: after the current job, or while waiting
    for the next tick (checked at least every :data:`SLEEP_SLICE_S` seconds). If
    ``stop`` is already set at the start no job runs and 0 is returned.
    """
    if not (isinstance(interval_s, (int, float)) and math.isfinite(interval_s) and interval_s > 0):
        raise ValueError(f"interval must be a positive number of seconds, got {interval_s!r}")
    if max_runs is not None and max_runs < 0:
        raise ValueError(f"max_runs must be 0 or more, got {max_runs!r}")

    def stopped() -> bool:
        return stop is not None and stop.is_set()

    last_code = int(ExitCode.OK)
    runs = 0
    start = clock()
    tick = 0  # index of the tick the next run is due at
    while True:
        if (max_runs is not None and runs >= max_runs) or stopped():
            return last_code

        began = clock()
        try:
            result = job()
            code = int(ExitCode.OK) if result is None else int(result)
        except (Exception, SystemExit) as exc:  # one job's failure or exit must not end the loop
            carried = _exit_code(exc)
            if carried is None:
                code = int(ExitCode.FAILURE)
                log.exception("scheduled run %d failed with an unexpected error", runs + 1)
            else:
                code = carried
                message = exc.code if isinstance(exc, SystemExit) else exc
                if isinstance(message, (str, GraphlinkerError)):  # typer.Exit/sys.exit(n) say nothing
                    level = _LEVELS.get(code, logging.ERROR)
                    log.log(level, "scheduled run %d: %s", runs + 1, " ".join(str(message).split()))
        ended = clock()
        runs += 1
        last_code = code
        if on_result is not None:
            on_result(runs, code, ended - began)

        if (max_runs is not None and runs >= max_runs) or stopped():
            return last_code

        # Next tick: the one after the tick this run was due at, or, if the run overran
        # it, the first tick not yet past.
        tick += 1
        if start + tick * interval_s < ended:
            tick = math.ceil((ended - start) / interval_s)
        due = start + tick * interval_s
        while True:
            remaining = due - clock()
            if remaining <= 0:
                break
            if stopped():
                return last_code
            sleep(min(remaining, SLEEP_SLICE_S) if stop is not None else remaining)
        if stopped():
            return last_code


def install_signal_handlers(stop: threading.Event) -> dict[int, object]:
    """Make SIGTERM and SIGINT set ``stop``; return the previous handlers by signal number.

    The first signal asks the loop to finish the running job and exit. A second one,
    while ``stop`` is already set, restores the default disposition and re-raises the
    signal, ending the process at once (a refresh is crash-safe, so that is safe too).
    Must be called from the main thread (a rule of :func:`signal.signal`).
    """

    def handle(signum: int, frame: object) -> None:
        if stop.is_set():
            signal.signal(signum, signal.SIG_DFL)
            signal.raise_signal(signum)
            return
        stop.set()

    previous: dict[int, object] = {}
    for signum in (signal.SIGTERM, signal.SIGINT):
        previous[int(signum)] = signal.signal(signum, handle)
    return previous
