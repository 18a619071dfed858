"""The built-in schedule loop, with a fake clock: no test sleeps for real."""

from __future__ import annotations

import logging
import signal
import sys
import threading

import pytest
import typer

from graphlinker.cli.schedule import SLEEP_SLICE_S, install_signal_handlers, parse_interval, run_every
from graphlinker.errors import LockHeld, NothingNew, StoreUnavailable


class FakeTime:
    """A clock that only moves when the loop sleeps or a job "takes" time."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        assert seconds > 0, f"slept {seconds}"
        self.sleeps.append(seconds)
        self.now += seconds


class Jobs:
    """A job that records when it started and plays back durations and outcomes.

    Each step is ``(seconds, outcome)``: an int is returned as the exit code, an
    exception instance is raised.
    """

    def __init__(self, time: FakeTime, steps: list[tuple[float, object]]) -> None:
        self.time = time
        self.steps = list(steps)
        self.starts: list[float] = []

    def __call__(self) -> int:
        self.starts.append(self.time.now)
        seconds, outcome = self.steps.pop(0)
        self.time.now += seconds
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome  # type: ignore[return-value]


def run(interval: float, steps: list[tuple[float, object]], **kwargs):
    """Run the loop over ``steps`` (one run each unless told otherwise); return (code, job, results, time)."""
    time = FakeTime()
    job = Jobs(time, steps)
    results: list[tuple[int, int, float]] = []
    kwargs.setdefault("max_runs", len(steps))
    code = run_every(interval, job, sleep=time.sleep, clock=time.clock,
                     on_result=lambda *result: results.append(result), **kwargs)
    return code, job, results, time


# --- cadence -------------------------------------------------------------------------


def test_first_run_at_once_then_fixed_cadence_from_scheduled_starts():
    code, job, results, time = run(60, [(5, 0), (10, 0), (0, 0), (59, 0)])
    # Starts are start + n*60 whatever each job took: the cadence does not drift.
    assert job.starts == [1000, 1060, 1120, 1180]
    assert results == [(1, 0, 5), (2, 0, 10), (3, 0, 0), (4, 0, 59)]
    assert sum(time.sleeps) == 55 + 50 + 60  # waits between runs; none after the last
    assert time.now == 1239
    assert code == 0


def test_without_stop_event_waits_in_one_sleep_per_gap():
    _, _, _, time = run(3600, [(100, 0), (0, 0)])
    assert time.sleeps == [3500]


def test_overrun_skips_missed_ticks_and_never_overlaps_or_bursts():
    # Ticks every 10 s from 1000. Run 1 takes 25 s: the ticks at 1010 and 1020 are missed,
    # so run 2 starts at 1030 (not at 1025, and not twice to catch up).
    code, job, results, _ = run(10, [(25, 0), (3, 0), (10, 0), (10.5, 0), (0, 0)])
    assert job.starts == [1000, 1030, 1040, 1050, 1070]
    # A run ending exactly on a tick (1040 + 10 = 1050) starts the next at once;
    # one ending just past it (1050 + 10.5) waits for the following tick (1070).
    assert [r[0] for r in results] == [1, 2, 3, 4, 5]
    assert code == 0


def test_overrun_by_many_intervals_waits_for_next_future_tick():
    _, job, _, time = run(7, [(100, 0), (0, 0)])
    # 1000 + 100 = 1100; ticks are 1000 + 7k; the first at or after 1100 is 1105.
    assert job.starts == [1000, 1105]
    assert time.sleeps == [5]


def test_fractional_interval_does_not_drift():
    _, job, _, _ = run(0.1, [(0, 0)] * 31)
    assert job.starts[-1] == pytest.approx(1003.0)
    assert all(b > a for a, b in zip(job.starts, job.starts[1:]))


def test_max_runs_zero_runs_nothing():
    code, job, results, time = run(60, [(1, 4)], max_runs=0)
    assert (code, job.starts, results, time.sleeps) == (0, [], [], [])


# --- exit codes and exceptions -------------------------------------------------------


def test_nonzero_codes_do_not_stop_the_loop_and_last_code_is_returned():
    code, job, results, _ = run(60, [(1, 3), (1, 4), (1, 2), (1, 0), (1, 3)])
    assert [r[:2] for r in results] == [(1, 3), (2, 4), (3, 2), (4, 0), (5, 3)]
    assert job.starts == [1000, 1060, 1120, 1180, 1240]
    assert code == 3


def test_exception_is_code_1_logged_and_the_loop_goes_on(caplog):
    with caplog.at_level(logging.ERROR, logger="graphlinker.cli.schedule"):
        code, job, results, _ = run(60, [(2, RuntimeError("boom")), (1, 0), (4, KeyError("x"))])
    assert results == [(1, 1, 2), (2, 0, 1), (3, 1, 4)]
    assert job.starts == [1000, 1060, 1120]
    assert code == 1
    failures = [r for r in caplog.records if r.exc_info]
    assert [type(r.exc_info[1]) for r in failures] == [RuntimeError, KeyError]


def test_exceptions_carrying_an_exit_code_keep_it(caplog):
    steps = [(0, StoreUnavailable("neo4j  down")), (0, typer.Exit(3)), (0, SystemExit(4)), (0, SystemExit(None)),
             (0, SystemExit("gave up")), (0, None)]
    with caplog.at_level(logging.ERROR, logger="graphlinker.cli.schedule"):
        code, _, results, _ = run(60, steps)
    assert [r[1] for r in results] == [5, 3, 4, 0, 1, 0]
    assert code == 0
    # User errors are one line each, as on the CLI; no traceback (that is for bugs).
    assert [(r.getMessage(), r.exc_info) for r in caplog.records] == [
        ("scheduled run 1: neo4j down", None), ("scheduled run 5: gave up", None)]


def test_nothing_new_and_lock_held_raised_as_errors_are_codes_3_and_4_not_errors(caplog):
    with caplog.at_level(logging.INFO, logger="graphlinker.cli.schedule"):
        code, _, results, _ = run(60, [(0, NothingNew("no new rows")), (0, LockHeld("held by pid 7"))])
    assert [r[1] for r in results] == [3, 4]
    assert code == 4
    assert [(r.levelname, r.getMessage()) for r in caplog.records] == [
        ("INFO", "scheduled run 1: no new rows"), ("WARNING", "scheduled run 2: held by pid 7")]


def test_keyboard_interrupt_propagates():
    with pytest.raises(KeyboardInterrupt):
        run(60, [(0, 0), (0, KeyboardInterrupt())])


# --- stop -----------------------------------------------------------------------------


def test_stop_during_a_job_ends_the_loop_after_that_job_without_sleeping():
    time = FakeTime()
    stop = threading.Event()
    starts = []

    def job() -> int:
        starts.append(time.now)
        time.now += 5
        if len(starts) == 2:
            stop.set()  # SIGTERM arrives while run 2 is running
        return 3

    code = run_every(60, job, sleep=time.sleep, clock=time.clock, stop=stop)
    assert starts == [1000, 1060]
    assert code == 3
    assert time.now == 1065  # returned as soon as run 2 ended


def test_stop_while_sleeping_ends_the_wait_within_a_slice():
    time = FakeTime()
    stop = threading.Event()
    results = []

    def sleep(seconds: float) -> None:
        time.sleep(seconds)
        if time.now >= 1000 + 3:
            stop.set()  # SIGTERM three seconds into the hour-long wait

    code = run_every(3600, lambda: 4, sleep=sleep, clock=time.clock, stop=stop,
                     on_result=lambda *r: results.append(r))
    assert results == [(1, 4, 0)]
    assert code == 4
    assert time.sleeps == [SLEEP_SLICE_S] * 3
    assert time.now == 1003


def test_sliced_sleep_still_keeps_the_cadence():
    time = FakeTime()
    stop = threading.Event()
    starts = []

    def job() -> int:
        starts.append(time.now)
        time.now += 0.25
        return 0

    run_every(5, job, sleep=time.sleep, clock=time.clock, stop=stop, max_runs=3)
    assert starts == [1000, 1005, 1010]
    assert max(time.sleeps) <= SLEEP_SLICE_S
    assert sum(time.sleeps) == pytest.approx(2 * 4.75)


def test_stop_already_set_runs_nothing():
    stop = threading.Event()
    stop.set()
    code, job, results, _ = run(60, [(0, 2)], stop=stop)
    assert (code, job.starts, results) == (0, [], [])


@pytest.mark.parametrize("interval", [0, -5, float("inf"), float("nan")])
def test_run_every_rejects_bad_intervals(interval):
    with pytest.raises(ValueError, match="positive"):
        run_every(interval, lambda: 0, max_runs=1)


# --- signals ----------------------------------------------------------------------------


@pytest.fixture
def restore_signals():
    saved = {s: signal.getsignal(s) for s in (signal.SIGTERM, signal.SIGINT)}
    yield
    for s, handler in saved.items():
        signal.signal(s, handler)


def test_signal_handlers_set_stop_then_second_signal_reraises(restore_signals, monkeypatch):
    stop = threading.Event()
    previous = install_signal_handlers(stop)
    assert set(previous) == {int(signal.SIGTERM), int(signal.SIGINT)}

    raised = []
    monkeypatch.setattr(signal, "raise_signal", raised.append)
    signal.getsignal(signal.SIGTERM)(signal.SIGTERM, None)
    assert stop.is_set() and raised == []

    signal.getsignal(signal.SIGINT)(signal.SIGINT, None)  # a second signal: stop now
    assert raised == [signal.SIGINT]
    assert signal.getsignal(signal.SIGINT) is signal.SIG_DFL


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_real_sigterm_stops_a_real_loop(restore_signals):
    stop = threading.Event()
    install_signal_handlers(stop)
    calls = []

    def job() -> int:
        calls.append(1)
        signal.raise_signal(signal.SIGTERM)  # delivered to this (main) thread at once
        return 0

    assert run_every(3600, job, stop=stop) == 0
    assert calls == [1] and stop.is_set()


# --- parse_interval ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("90s", 90), ("15m", 900), ("6h", 21600), ("1d", 86400), ("1h30m", 5400),
        ("3600", 3600), ("1d2h3m4s", 93784), ("1.5h", 5400), (" 6H ", 21600), ("0.5", 0.5),
        ("2m0s", 120),
    ],
)
def test_parse_interval_good(text, seconds):
    assert parse_interval(text) == seconds


@pytest.mark.parametrize(
    "text",
    ["", "   ", "0", "0s", "0h0m", "-5", "-5m", "abc", "6 h", "h", "5x", "30m1h", "1h1h", "1e3",
     "inf", "nan", "1.h", ".5h", "6h!", "1,5h"],
)
def test_parse_interval_bad(text):
    with pytest.raises(ValueError, match=r"90s, 15m, 6h, 1d, 1h30m"):
        parse_interval(text)


def test_parse_interval_messages_name_the_problem():
    with pytest.raises(ValueError, match=r"^interval '0m' is not positive"):
        parse_interval("0m")
    with pytest.raises(ValueError, match=r"^cannot read interval 'every day'"):
        parse_interval("every day")
    with pytest.raises(ValueError, match=r"^empty interval"):
        parse_interval("")
