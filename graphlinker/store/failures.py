"""What a store failure means for the caller: retry later (exit 5) or fix the query (exit 2).

Schedulers act on exit codes (README, "Exit codes"): 5 means "the store is unreachable or
unusable, retry", 2 means "what was asked is wrong, do not retry unchanged", 1 is a bug.
Neo4j reports its failures as status codes (``Neo.<classification>.<category>.<title>``,
Neo4j Status Codes reference); this module maps them once, for every command, and keeps
credentials out of every message.
"""

from __future__ import annotations

import errno
import re
from pathlib import Path

from graphlinker.errors import GraphlinkerError, InputError, StoreUnavailable

# A URI's user-info part (scheme://user:password@host): the password is never printed.
_USERINFO = re.compile(r"(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]*://)(?P<user>[^:/@\s]*):(?P<secret>[^@/\s]*)@")

# Server status codes (by prefix) that mean the store itself is unusable or went away: retry later.
_UNAVAILABLE_CODES = (
    "Neo.TransientError.General.DatabaseUnavailable",
    "Neo.TransientError.Database.DatabaseUnavailable",
    "Neo.TransientError.Transaction.Terminated",  # terminated by an administrator or a shutdown
    "Neo.ClientError.Transaction.Terminated",
    "Neo.TransientError.Transaction.LockClientStopped",
    "Neo.TransientError.Cluster",
    "Neo.ClientError.Cluster.NotALeader",
    "Neo.ClientError.Database.DatabaseNotFound",
    "Neo.ClientError.Security",  # credentials refused, or not allowed
    "Neo.DatabaseError",  # the server failed, not the query
)
# Codes that are about what was asked, although the server files some of them as transient.
_QUERY_CODES = (
    "Neo.TransientError.General.MemoryPoolOutOfMemoryError",  # the query needs more memory than the server allows
    "Neo.TransientError.General.TransactionMemoryLimit",
    "Neo.ClientError.Transaction.TransactionTimedOut",  # ran past its transaction timeout
)


def redact(text: str) -> str:
    """``text`` with the password of any ``scheme://user:password@host`` replaced by ``***``."""
    return _USERINFO.sub(lambda m: f"{m['scheme']}{m['user']}:***@", str(text))


def one_line(exc: BaseException) -> str:
    """An exception's message on one line, any URI password masked."""
    text = getattr(exc, "message", None) or str(exc) or type(exc).__name__
    return redact(" ".join(str(text).split()))


def from_neo4j(exc: Exception, uri: str | None) -> GraphlinkerError:
    """The :class:`GraphlinkerError` (and so the exit code) a Neo4j driver exception stands for."""
    from neo4j.exceptions import (
        AuthError,
        ClientError,
        DriverError,
        Neo4jError,
        ServiceUnavailable,
        SessionExpired,
    )

    where = f"Neo4j at {redact(uri)}" if uri else "Neo4j"
    if isinstance(exc, AuthError):
        return StoreUnavailable(f"{where} refused the credentials: {one_line(exc)}")
    if isinstance(exc, (ServiceUnavailable, SessionExpired)):
        return StoreUnavailable(f"lost {where} ({one_line(exc)}); start it or check $NEO4J_URI, then run again "
                                f"(an interrupted write is undone by the next run)")
    if isinstance(exc, Neo4jError):
        code = exc.code or ""
        if code.startswith(_QUERY_CODES):
            return InputError(f"{where} refused the query ({code.rsplit('.', 1)[-1]}): {one_line(exc)}")
        if code.startswith(_UNAVAILABLE_CODES) or not isinstance(exc, ClientError):
            return StoreUnavailable(f"{where} is unavailable ({code.rsplit('.', 1)[-1] or type(exc).__name__}): "
                                    f"{one_line(exc)}; run again when it is back")
        return InputError(f"{where} refused the query: {one_line(exc)}")
    if isinstance(exc, DriverError):
        return StoreUnavailable(f"cannot use {where}: {one_line(exc)}")
    return StoreUnavailable(f"cannot use {where}: {one_line(exc)}")


def from_os_error(exc: OSError, workspace: Path | None = None) -> StoreUnavailable:
    """A file-system failure (full, read-only, gone) in the workspace, or in a file a command writes: exit 5."""
    advice = {
        errno.ENOSPC: "free space on that file system (or pass --workspace elsewhere) and run again",
        errno.EDQUOT: "free space on that file system (or pass --workspace elsewhere) and run again",
        errno.EFBIG: "the file-size limit (ulimit -f) stopped a write; raise it and run again",
        errno.EROFS: "the file system is read-only; remount it read-write or pass --workspace elsewhere",
        errno.EACCES: "this user may not write there; fix its permissions or pass --workspace elsewhere",
        errno.EPERM: "this user may not write there; fix its permissions or pass --workspace elsewhere",
    }.get(exc.errno, "check the disk and the path, then run again")
    if workspace is None:
        return StoreUnavailable(f"cannot write {exc.filename or 'a file'}: {exc.strerror or exc}; {advice}")
    where = exc.filename or workspace
    return StoreUnavailable(f"cannot use workspace {workspace}: {exc.strerror or exc} ({where}); {advice}; "
                            f"the last published run is untouched")
