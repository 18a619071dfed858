"""One writer per store: the embedded store's lock file.

``fcntl.flock`` locks belong to the open file, so the kernel drops the lock when
the holder exits for any reason, kill -9 included: a crashed refresh never
leaves the workspace locked. The file also records who holds it, for the
message a second refresh prints. (The Neo4j store uses a lease node instead;
see :mod:`graphlinker.store.neo4j`.)
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from graphlinker.errors import LockHeld

POLL_SECONDS = 0.5


def holder_description(command: str) -> dict:
    return {"command": command, "pid": os.getpid(), "host": socket.gethostname(),
            "since": datetime.now(UTC).isoformat(timespec="seconds")}


def describe(holder: dict | None) -> str:
    if not holder:
        return "another process"
    return f"{holder.get('command', 'a writer')} (pid {holder.get('pid')} on {holder.get('host')}, since {holder.get('since')})"


@contextmanager
def file_lock(path: Path, command: str, wait_seconds: float = 0.0) -> Iterator[None]:
    """Hold an exclusive lock on ``path``; wait up to ``wait_seconds`` for it, else raise LockHeld."""
    handle = open(os.open(path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o600), "a+")
    try:
        deadline = time.monotonic() + max(0.0, wait_seconds)
        while True:
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    handle.seek(0)
                    try:
                        holder = json.loads(handle.read() or "null")
                    except json.JSONDecodeError:
                        holder = None
                    raise LockHeld(f"the workspace is locked by {describe(holder)}; "
                                   f"wait for it or pass --wait SECONDS") from None
                time.sleep(POLL_SECONDS)
        handle.seek(0)
        handle.truncate()
        handle.write(json.dumps(holder_description(command)))
        handle.flush()
        yield
    finally:
        handle.close()  # closing the file releases the lock
