"""The ``graphlinker`` process: the CLI app, with garbage collection kept off what lives until exit.

A command runs once and exits, so the objects its imports create (pandas, numba, typer: ~180k) are
never garbage. CPython's full collections still walk all of them: during a run, and again several times
while the interpreter shuts down. :func:`gc.freeze` moves every object alive at that moment out of the
collector's generations (Python docs, ``gc.freeze``; the technique CPython added for pre-fork servers).
Frozen once the CLI is imported and again when the command returns, a 0.2M-row ``graphlinker run``
spent 0.11-0.13 s in full collections instead of 0.31-0.34 s and ~0.2 s shutting down instead of ~0.8 s;
whole process, median of five, 8.48 -> 7.30 s (``bench/bench_run.py``, README "Performance and scale"). Cycles
created by the command are still collected while it runs; what the freeze keeps is freed by reference
counting as modules are torn down, as before. Only the console command does this: the Python API
leaves the collector alone in the caller's process.
"""

from __future__ import annotations

import gc


def main() -> None:
    """Run the ``graphlinker`` command line (the console script and ``python -m graphlinker``)."""
    from graphlinker.cli.app import app

    gc.freeze()
    try:
        app(prog_name="graphlinker")
    finally:
        gc.freeze()
