"""A local Neo4j 5.26 Community server that graphlinker fetches from Maven Central and starts itself.

No Docker and no neo4j.com are needed: the server's jars are resolved once by Maven from
the packaged ``graphlinker/devserver/neo4j-server/pom.xml`` into a per-user cache, and the server
is started as a detached ``java`` process whose data lives in a *home* directory::

    fetch()                      # jars -> ~/.cache/graphlinker/neo4j-5.26.24/lib and .../plugins (once)
    info = start()               # ~/.local/share/graphlinker/neo4j, bolt://127.0.0.1:7687
    info = start(http_port=0)    # ... and Neo4j Browser on http://127.0.0.1:<free port>/browser/
    connection_settings()        # {"uri", "user", "password", "database"} for the driver
    stop()

With auth (the default) the first start generates a random password, keeps it in
``HOME/password`` (mode 0600) and sets it *before* the server first starts (Neo4j's
``neo4j-admin dbms set-initial-password``, run from the same jars), so the default
``neo4j/neo4j`` never opens the database; it is never printed, logged or put on a command line.
The home is owner-only (directories 0700, files 0600; the server runs with umask 077).

The server is locked down for analysts' Cypher: ``LOAD CSV`` may not read files
(``dbms.security.allow_csv_import_from_file_urls=false``) nor reach any host
(``internal.dbms.cypher_ip_blocklist`` blocks every IPv4 and IPv6 address); see :data:`SECURITY_SETTINGS`.

Every server gets the plugins of the packaged ``neo4j-plugins/pom.xml``, pinned and cached beside
the server's jars: Graph Data Science (GPLv3), APOC Core (Apache 2.0) and Neo4j Browser. Their jars
are linked into ``HOME/plugins`` (where Neo4j registers their procedures) and put on the java
classpath (both are needed). APOC reads and writes no file (``conf/apoc.conf``:
:data:`APOC_SETTINGS`) and its URL loaders meet the same IP blocklist as ``LOAD CSV``. The HTTP
connector (Browser and the HTTP API) is off unless ``start(http_port=...)`` (``neo4j start --browser``)
turns it on, on 127.0.0.1 only.
``python -m graphlinker.devserver.server fetch`` fetches the jars and the plugins (what CI runs first).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import re
import secrets
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path

from graphlinker.errors import GraphlinkerError, StoreUnavailable
from graphlinker.settings.environment import value as env_value

NEO4J_VERSION = "5.26.24"  # keep in step with <neo4j.version> in neo4j-server/pom.xml beside this module
# Keep these in step with neo4j-plugins/pom.xml beside this module (tests/test_neo4j_server.py checks).
GDS_VERSION = "2.13.9"  # Graph Data Science, GPLv3; built for Neo4j 5.26.24
APOC_VERSION = "5.26.19"  # APOC Core, Apache 2.0; the newest 5.26.x on Maven Central
BROWSER_VERSION = "5.24.0"  # Neo4j Browser, GPLv3; the newest 5.x on Maven Central
DEFAULT_BOLT_PORT = 7687
DEFAULT_HTTP_PORT = 7474
DEFAULT_USER = "neo4j"
DEFAULT_DATABASE = "neo4j"
JAVA_VERSIONS = (17, 21)  # what Neo4j 5.26 supports (it also started on Java 25 here; older ones fail)
ENTRY_POINT = "org.neo4j.server.CommunityEntryPoint"
ADMIN_TOOL = "org.neo4j.cli.AdminTool"  # neo4j-admin, from neo4j-command-line among the server's jars
STATE_FILE = "graphlinker.json"  # under HOME/run
PASSWORD_FILE = "password"  # under HOME
POM_RESOURCE = "neo4j-server/pom.xml"  # package data of graphlinker.devserver: the artifacts Maven fetches
MARKER_FILE = ".complete"  # beside lib/, holds the pom's sha256 once a fetch succeeded
PLUGINS_POM_RESOURCE = "neo4j-plugins/pom.xml"  # package data too: GDS, APOC and Browser
PLUGINS_MARKER_FILE = ".plugins-complete"  # beside plugins/, holds the plugins pom's sha256
PRIVATE_UMASK = 0o077  # the server and neo4j-admin create owner-only files in the home

# Written into every managed server's neo4j.conf. Names as in Neo4j 5.26 (GraphDatabaseSettings /
# GraphDatabaseInternalSettings of neo4j-configuration-5.26.x; the Operations Manual's
# configuration settings and LOAD CSV pages). Community has no LOAD privilege (GRANT LOAD ON CIDR
# is Enterprise), so the internal IP blocklist is what keeps LOAD CSV (and APOC's loaders) off
# every host: the server refuses "access to /127.0.0.1 is blocked via ... cypher_ip_blocklist".
SECURITY_SETTINGS = {
    "dbms.security.allow_csv_import_from_file_urls": "false",  # no file:/// URLs in LOAD CSV
    "internal.dbms.cypher_ip_blocklist": "0.0.0.0/0,::/0",  # no http(s)/ftp URL reaches any address
}

# GDS and APOC procedures use internal APIs, so Neo4j only loads them when they are unrestricted.
PLUGIN_SETTINGS = {
    "dbms.security.procedures.unrestricted": "gds.*,apoc.*",
}

# conf/apoc.conf (APOC 5 refuses its settings in neo4j.conf). With file import and export off,
# apoc.load.*/apoc.import.* cannot read a file and apoc.export.* cannot write one (streaming
# exports, ``{stream: true}``, still work); their http(s) URLs meet cypher_ip_blocklist like LOAD CSV.
APOC_SETTINGS = {
    "apoc.import.file.enabled": "false",
    "apoc.export.file.enabled": "false",
    "apoc.import.file.use_neo4j_config": "true",
    "apoc.trigger.enabled": "false",
}

# With the HTTP connector on (Browser): Browser fetches remote content (guides) from no other host
# and sends no product analytics (names as Neo4j 5.26 declares them: "whitelist" is its spelling).
BROWSER_SETTINGS = {
    "browser.remote_content_hostname_whitelist": "localhost",
    "client.allow_telemetry": "false",
}

Log = Callable[[str], None] | None

# Servers started by this Python process, so a dead child is reaped and not mistaken for a live zombie.
_children: dict[int, subprocess.Popen] = {}

JVM_FLAGS = [
    "-XX:+UseG1GC",
    "-XX:-OmitStackTraceInFastThrow",
    "-XX:+UnlockExperimentalVMOptions",
    "-XX:+TrustFinalNonStaticFields",
    "-XX:+DisableExplicitGC",
    "-XX:+ExitOnOutOfMemoryError",
    "-Djdk.nio.maxCachedBufferSize=1024",
    "-Dio.netty.tryReflectionSetAccessible=true",
    "-Djdk.tls.ephemeralDHKeySize=2048",
    "-Dlog4j2.disable.jmx=true",
    "-Dfile.encoding=UTF-8",
    "--add-opens=java.base/java.nio=ALL-UNNAMED",
    "--add-opens=java.base/java.io=ALL-UNNAMED",
    "--add-opens=java.base/sun.nio.ch=ALL-UNNAMED",
]


@dataclass(frozen=True)
class ServerInfo:
    """A running server: where it listens and which process and home it is."""

    home: Path
    pid: int
    uri: str
    port: int
    auth: bool
    version: str = NEO4J_VERSION
    started_at: str = ""
    http_port: int | None = None  # the HTTP connector (Neo4j Browser) on 127.0.0.1, when it is on

    @property
    def browser_url(self) -> str | None:
        """Neo4j Browser's address, when the server runs with the HTTP connector on."""
        return f"http://127.0.0.1:{self.http_port}/browser/" if self.http_port else None

    def to_json(self) -> dict:
        data = asdict(self)
        data["home"] = str(self.home)
        data["browser_url"] = self.browser_url
        return data


# --------------------------------------------------------------------------- locations


def _user_dir(env: str, fallback: str) -> Path:
    value = env_value(env)
    return Path(value).expanduser() if value else Path.home() / fallback


def cache_root() -> Path:
    """Where fetched jars live: ``$GRAPHLINKER_CACHE`` else ``$XDG_CACHE_HOME/graphlinker`` (``~/.cache/graphlinker``)."""
    if cache := env_value("GRAPHLINKER_CACHE"):
        return Path(cache).expanduser()
    return _user_dir("XDG_CACHE_HOME", ".cache") / "graphlinker"


def jars_dir() -> Path:
    """The server's jar directory: ``<cache root>/neo4j-<version>/lib``."""
    return cache_root() / f"neo4j-{NEO4J_VERSION}" / "lib"


def plugins_dir() -> Path:
    """The plugins' jar directory (GDS, APOC, Browser): ``<cache root>/neo4j-<version>/plugins``."""
    return cache_root() / f"neo4j-{NEO4J_VERSION}" / "plugins"


def default_home(home: os.PathLike | str | None = None) -> Path:
    """The server home: ``home`` if given, else ``$GRAPHLINKER_NEO4J_HOME``, else ``$XDG_DATA_HOME/graphlinker/neo4j``."""
    if home is not None:
        return Path(home).expanduser().resolve()
    if configured := env_value("GRAPHLINKER_NEO4J_HOME"):
        return Path(configured).expanduser().resolve()
    return (_user_dir("XDG_DATA_HOME", ".local/share") / "graphlinker" / "neo4j").resolve()


def pom_path() -> Path:
    """The pom listing the server's artifacts: ``$GRAPHLINKER_NEO4J_POM`` else the one packaged beside this module.

    The packaged pom is package data (``neo4j-server/pom.xml``), found with :mod:`importlib.resources`, so an
    installed wheel finds it as an editable checkout does. Maven reads it by path, so the package must be
    installed as files (what pip does with every wheel), not imported from a zip.
    """
    if pom := env_value("GRAPHLINKER_NEO4J_POM"):
        return Path(pom).expanduser()
    return Path(str(resources.files(__package__ or "graphlinker.devserver").joinpath(POM_RESOURCE)))


def plugins_pom_path() -> Path:
    """The pom listing the plugins' artifacts (GDS, APOC, Browser), packaged beside this module."""
    return Path(str(resources.files(__package__ or "graphlinker.devserver").joinpath(PLUGINS_POM_RESOURCE)))


# --------------------------------------------------------------------------- prerequisites


def java_executable(log: Log = None) -> str:
    """``$GRAPHLINKER_JAVA``, else ``$JAVA_HOME/bin/java``, else ``java`` on PATH; checked to be Java 17 or later."""
    candidate = env_value("GRAPHLINKER_JAVA")
    java_home = env_value("JAVA_HOME")
    if not candidate and java_home:
        path = Path(java_home) / "bin" / "java"
        candidate = str(path) if path.exists() else None
    if not candidate:
        candidate = shutil.which("java")
    if not candidate:
        raise StoreUnavailable(
            "Java is not installed: the local Neo4j server needs a Java 17 or 21 runtime "
            "(e.g. `apt-get install openjdk-17-jre-headless`), or set GRAPHLINKER_JAVA to its java binary"
        )
    major = _java_major(candidate)
    if major < min(JAVA_VERSIONS):
        raise StoreUnavailable(
            f"{candidate} is Java {major}, but Neo4j {NEO4J_VERSION} needs Java 17 or 21 "
            "(e.g. `apt-get install openjdk-17-jre-headless`); set GRAPHLINKER_JAVA or JAVA_HOME to point at one"
        )
    if major not in JAVA_VERSIONS and log:
        log(f"warning: {candidate} is Java {major}; Neo4j {NEO4J_VERSION} supports Java 17 and 21")
    return candidate


def _java_major(java: str) -> int:
    try:
        out = subprocess.run([java, "-version"], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.SubprocessError) as exc:
        raise StoreUnavailable(f"cannot run {java} -version: {exc}") from None
    match = re.search(r'version "(\d+)(?:\.(\d+))?', out.stderr + out.stdout)
    if not match:
        raise StoreUnavailable(f"cannot tell the Java version of {java}")
    major = int(match.group(1))
    return int(match.group(2) or 0) if major == 1 else major  # "1.8.0" is Java 8


def maven_executable() -> str:
    mvn = shutil.which("mvn")
    if not mvn:
        raise StoreUnavailable(
            "Maven is not installed: the Neo4j server's jars are fetched from Maven Central with `mvn` "
            "(e.g. `apt-get install maven`)"
        )
    return mvn


# --------------------------------------------------------------------------- fetch


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    """An exclusive advisory lock on ``path`` (waits for the holder: another fetch or start)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600), "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _pom_digest(pom: Path) -> str:
    return hashlib.sha256(pom.read_bytes()).hexdigest()


def _complete(marker: Path, pom: Path) -> bool:
    return marker.is_file() and pom.is_file() and marker.read_text().strip() == _pom_digest(pom)


def is_fetched() -> bool:
    """Whether the jar cache is complete for the current poms: the server's jars and the plugins'."""
    return _complete(jars_dir().parent / MARKER_FILE, pom_path()) and plugins_fetched()


def plugins_fetched() -> bool:
    """Whether the plugins' jar cache (GDS, APOC, Browser) is complete for the packaged plugins pom."""
    return _complete(plugins_dir().parent / PLUGINS_MARKER_FILE, plugins_pom_path())


def fetch(log: Log = None) -> Path:
    """Resolve the server's jars into :func:`jars_dir` and the plugins' into :func:`plugins_dir`, once; returns lib.

    Idempotent: each part is skipped when its marker says the cache is complete for its pom.
    The jars are copied into a scratch directory that replaces ``lib/`` (``plugins/``) only after
    Maven succeeded, and the marker is written last, so an interrupted fetch is simply redone.
    ``$GRAPHLINKER_MAVEN_ARGS`` adds Maven options (e.g. ``-Dmaven.repo.local=...``).
    """
    lib = jars_dir()
    pom = pom_path()
    if not pom.is_file():
        raise StoreUnavailable(f"cannot find the Neo4j server pom at {pom} (set GRAPHLINKER_NEO4J_POM)")
    plugins_pom = plugins_pom_path()
    if not plugins_pom.is_file():
        raise StoreUnavailable(f"cannot find the Neo4j plugins pom at {plugins_pom} (reinstall graphlinker)")
    with _locked(lib.parent / ".lock"):
        if not _complete(lib.parent / MARKER_FILE, pom):
            _fetch_into(
                pom, lib, lib.parent / MARKER_FILE, f"Neo4j {NEO4J_VERSION}",
                f"Fetching Neo4j {NEO4J_VERSION} from Maven Central into {lib} (first time only, ~1 min)", log,
            )
        plugins = plugins_dir()
        if not _complete(plugins.parent / PLUGINS_MARKER_FILE, plugins_pom):
            _fetch_into(
                plugins_pom, plugins, plugins.parent / PLUGINS_MARKER_FILE,
                f"the Neo4j plugins (GDS {GDS_VERSION}, APOC {APOC_VERSION}, Browser {BROWSER_VERSION})",
                f"Fetching GDS {GDS_VERSION}, APOC {APOC_VERSION} and Neo4j Browser {BROWSER_VERSION} "
                f"from Maven Central into {plugins} (first time only)", log,
            )
        return lib


def _fetch_into(pom: Path, target: Path, marker: Path, what: str, announce: str, log: Log) -> None:
    """``mvn dependency:copy-dependencies`` of ``pom`` into ``target`` (replaced whole), then ``marker``."""
    mvn = maven_executable()
    java_executable()  # Maven needs Java too; fail early with the clear message
    if log:
        log(announce)
    scratch = target.parent / f"{target.name}.partial-{os.getpid()}"
    shutil.rmtree(scratch, ignore_errors=True)
    marker.unlink(missing_ok=True)
    cmd = [
        mvn, "-B", "-q", "-Dstyle.color=never", "-f", str(pom),
        "dependency:copy-dependencies", "-DincludeScope=runtime", f"-DoutputDirectory={scratch}",
        *shlex.split(env_value("GRAPHLINKER_MAVEN_ARGS") or ""),
    ]
    try:
        done = subprocess.run(cmd, capture_output=True, text=True)
    except OSError as exc:
        raise StoreUnavailable(f"cannot run Maven: {exc}") from None
    jars = list(scratch.glob("*.jar")) if scratch.is_dir() else []
    if done.returncode != 0 or not jars:
        shutil.rmtree(scratch, ignore_errors=True)
        output = re.sub(r"\x1b\[[0-9;]*m", "", done.stdout + done.stderr)
        boilerplate = ("-e switch", "-X switch", "[ERROR] [Help", "For more information", "Re-run Maven")
        errors = [line for line in output.splitlines()
                  if line.startswith("[ERROR]") and line.strip() != "[ERROR]" and not any(b in line for b in boilerplate)]
        tail = "\n".join(errors[:10]) or _tail_text(output, 15)
        raise StoreUnavailable(
            f"fetching {what} from Maven Central failed (mvn exit code {done.returncode}); "
            f"is Maven Central reachable?\n{tail}"
        )
    shutil.rmtree(target, ignore_errors=True)
    scratch.rename(target)
    marker.write_text(_pom_digest(pom) + "\n")
    if log:
        log(f"Fetched {len(jars)} jars")


# --------------------------------------------------------------------------- process state


def _state_path(home: Path) -> Path:
    return home / "run" / STATE_FILE


def _read_state(home: Path) -> ServerInfo | None:
    path = _state_path(home)
    try:
        data = json.loads(path.read_text())
        return ServerInfo(
            home=home, pid=int(data["pid"]), uri=str(data["uri"]), port=int(data["port"]),
            auth=bool(data.get("auth", True)), version=str(data.get("version", NEO4J_VERSION)),
            started_at=str(data.get("started_at", "")),
            http_port=int(data["http_port"]) if data.get("http_port") else None,
        )
    except FileNotFoundError:
        return None
    except (ValueError, KeyError, TypeError):
        path.unlink(missing_ok=True)  # unreadable: treat like a stale file
        return None


def _write_state(info: ServerInfo) -> None:
    path = _state_path(info.home)
    tmp = path.with_suffix(".tmp")
    _write_private(tmp, json.dumps(info.to_json(), indent=2) + "\n")
    tmp.replace(path)


def _write_private(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` as an owner-only (0600) file, whatever the umask."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        os.fchmod(handle.fileno(), 0o600)
        handle.write(text)


def _make_private_dir(path: Path) -> None:
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(path, 0o700)


def _alive(pid: int, home: Path) -> bool:
    """Whether ``pid`` is a live Neo4j server of ``home`` (not a zombie, not a recycled pid)."""
    child = _children.get(pid)
    if child is not None:
        if child.poll() is None:
            return True
        _children.pop(pid, None)
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, owned by someone else
    cmdline = Path(f"/proc/{pid}/cmdline")
    if cmdline.parent.exists():
        try:
            args = cmdline.read_bytes().split(b"\0")
        except OSError:
            return False
        return ENTRY_POINT.encode() in args and f"--home-dir={home}".encode() in args
    return True


def status(home: os.PathLike | str | None = None) -> ServerInfo | None:
    """The server running in ``home``, or None; a stale state file (process gone) is removed."""
    home = default_home(home)
    info = _read_state(home)
    if info is None:
        return None
    if not _alive(info.pid, home):
        _state_path(home).unlink(missing_ok=True)
        return None
    return info


# --------------------------------------------------------------------------- start / stop


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _port_free(port: int) -> bool:
    """Whether the server could listen on 127.0.0.1:``port``, probed the way it binds.

    The JVM (and Netty) bind server sockets with SO_REUSEADDR, so connections of a server just
    stopped that linger in TIME_WAIT/FIN_WAIT do not keep it off its port; a plain bind (or a
    connect) would call such a port busy. With SO_REUSEADDR only a listening socket conflicts.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
            sock.listen(1)
        except OSError:
            return False
        return True


def _write_conf(home: Path, port: int, auth: bool, pagecache: str, http_port: int | None = None) -> None:
    dirs = {name: home / name for name in ("data", "logs", "run", "import", "plugins", "conf")}
    _make_private_dir(home)
    for path in dirs.values():
        _make_private_dir(path)
    if http_port:  # Neo4j Browser and the HTTP API, on loopback only
        http = [
            "server.http.enabled=true",
            f"server.http.listen_address=127.0.0.1:{http_port}",
            f"server.http.advertised_address=127.0.0.1:{http_port}",
            *(f"{key}={value}" for key, value in BROWSER_SETTINGS.items()),
        ]
    else:
        http = ["server.http.enabled=false"]
    lines = [
        "# Written by graphlinker on every start (graphlinker/devserver/server.py); edits are overwritten.",
        "server.default_listen_address=127.0.0.1",
        "server.default_advertised_address=127.0.0.1",
        f"server.bolt.listen_address=127.0.0.1:{port}",
        f"server.bolt.advertised_address=127.0.0.1:{port}",
        "server.bolt.enabled=true",
        *http,
        "server.https.enabled=false",
        f"dbms.security.auth_enabled={'true' if auth else 'false'}",
        f"server.directories.data={dirs['data']}",
        f"server.directories.logs={dirs['logs']}",
        f"server.directories.run={dirs['run']}",
        f"server.directories.import={dirs['import']}",
        f"server.directories.plugins={dirs['plugins']}",
        f"server.memory.pagecache.size={pagecache}",
        "dbms.usage_report.enabled=false",
        "db.tx_log.rotation.retention_policy=2 files",
        "db.tx_log.rotation.size=64M",
        # Bolt waits 5 s twice on shutdown for connections that a local server does not have
        "internal.server.bolt.thread_pool_shutdown_wait_time=1s",
        "internal.server.bolt.connection_shutdown_wait_time=1s",
        # analysts' Cypher may not read files or reach hosts (see SECURITY_SETTINGS)
        *(f"{key}={value}" for key, value in SECURITY_SETTINGS.items()),
        # GDS and APOC (plugins/; see PLUGIN_SETTINGS)
        *(f"{key}={value}" for key, value in PLUGIN_SETTINGS.items()),
    ]
    _write_private(dirs["conf"] / "neo4j.conf", "\n".join(lines) + "\n")
    apoc = ["# Written by graphlinker on every start (graphlinker/devserver/server.py); edits are overwritten.",
            *(f"{key}={value}" for key, value in APOC_SETTINGS.items())]
    _write_private(dirs["conf"] / "apoc.conf", "\n".join(apoc) + "\n")


def _link_plugins(home: Path, plugins: Path) -> None:
    """Link the cached plugin jars into ``HOME/plugins`` (replacing links to other versions); other files stay.

    Neo4j registers procedures only from jars in its plugins directory, and they must be on the
    classpath too (:func:`_launch` puts ``HOME/plugins/*`` first on it).
    """
    target = home / "plugins"
    wanted = {jar.name: jar for jar in plugins.glob("*.jar")}
    for entry in target.iterdir():
        if entry.is_symlink() and (entry.name not in wanted or Path(os.readlink(entry)) != wanted[entry.name]):
            entry.unlink()
    for name, jar in wanted.items():
        link = target / name
        if not link.is_symlink() and not link.exists():
            link.symlink_to(jar)


def _password_path(home: Path) -> Path:
    return home / PASSWORD_FILE


def _read_or_create_password(home: Path) -> str:
    path = _password_path(home)
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_urlsafe(24) + "\n")
    os.chmod(path, 0o600)
    password = path.read_text().strip()
    if not password:
        raise StoreUnavailable(f"the password file {path} is empty; delete it and the home's data/ to start afresh")
    return password


def _tail_text(text: str, lines: int) -> str:
    text = re.sub(r"\x1b\[[0-9;]*m", "", text)  # Maven colours some lines even in batch mode
    return "\n".join(text.strip().splitlines()[-lines:])


def _console_tail(home: Path, offset: int = 0, lines: int = 25) -> str:
    path = home / "logs" / "console.log"
    try:
        with open(path, "rb") as handle:
            handle.seek(offset)
            text = handle.read().decode("utf-8", "replace")
    except OSError:
        return "(no console.log)"
    return _tail_text(text, lines) or "(console.log is empty)"


def _launch(java: str, lib: Path, home: Path, heap: str) -> subprocess.Popen:
    classpath = os.pathsep.join([str(home / "plugins" / "*"), str(home / "conf" / "*"), str(lib / "*")])
    cmd = [
        java, f"-Xms{heap}", f"-Xmx{heap}", *JVM_FLAGS, "-cp", classpath, ENTRY_POINT,
        f"--home-dir={home}", f"--config-dir={home / 'conf'}", "--console-mode",
    ]
    env = dict(os.environ, NEO4J_HOME=str(home), NEO4J_CONF=str(home / "conf"))
    console_fd = os.open(home / "logs" / "console.log", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    with os.fdopen(console_fd, "ab") as console:
        os.fchmod(console.fileno(), 0o600)
        console.write(f"--- graphlinker: starting Neo4j {NEO4J_VERSION} at {datetime.now(UTC).isoformat()}\n".encode())
        console.flush()
        proc = subprocess.Popen(
            cmd, cwd=home, env=env, stdin=subprocess.DEVNULL, stdout=console, stderr=subprocess.STDOUT,
            start_new_session=True, close_fds=True, umask=PRIVATE_UMASK,
        )
    _children[proc.pid] = proc
    return proc


def _first_start(home: Path) -> bool:
    """Whether the server has never started in ``home`` (its system database does not exist yet)."""
    return not (home / "data" / "databases" / "system").exists()


def _set_initial_password(java: str, lib: Path, home: Path, password: str) -> None:
    """``neo4j-admin dbms set-initial-password`` before the first start: no window with neo4j/neo4j.

    The password goes to the tool through a picocli @-file (owner-only, deleted afterwards),
    never on a command line that other users could read in /proc.
    """
    if any(ch in password for ch in "\"'\\") or any(ch.isspace() or not ch.isprintable() for ch in password):
        raise StoreUnavailable(
            f"the password in {_password_path(home)} has quotes, backslashes, spaces or control characters; "
            "delete the file (a new one is generated) or write one without them"
        )
    args = home / "run" / f"initial-password-{os.getpid()}.args"
    _write_private(args, f'"{password}"\n')
    cmd = [
        java, "-Xms64m", "-Xmx256m", "-XX:+UseSerialGC", *JVM_FLAGS[-3:], "-cp", str(lib / "*"), ADMIN_TOOL,
        "dbms", "set-initial-password", "--", f"@{args}",  # "--": a password may start with "-" (token_urlsafe)
    ]
    env = dict(os.environ, NEO4J_HOME=str(home), NEO4J_CONF=str(home / "conf"))
    try:
        done = subprocess.run(
            cmd, cwd=home, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=180,
            umask=PRIVATE_UMASK,
        )
    except (OSError, subprocess.SubprocessError) as exc:
        raise StoreUnavailable(f"cannot run neo4j-admin to set the initial password: {type(exc).__name__}") from None
    finally:
        args.unlink(missing_ok=True)
    if done.returncode != 0:
        output = _tail_text((done.stdout + done.stderr).replace(password, "***"), 5)
        raise StoreUnavailable(f"setting the initial Neo4j password failed (neo4j-admin exit code {done.returncode}): {output}")


def _driver(uri: str, auth):
    from neo4j import GraphDatabase  # imported lazily: the embedded store never needs the driver

    return GraphDatabase.driver(uri, auth=auth, connection_timeout=5, max_connection_lifetime=60)


def _wait_ready(info: ServerInfo, auth, deadline: float, console_offset: int) -> str:
    """Poll Bolt until the server answers; returns "ok" or "auth-failed" (server up, credentials refused)."""
    from neo4j.exceptions import AuthError, DriverError, Neo4jError

    while True:
        if not _alive(info.pid, info.home):
            raise StoreUnavailable(
                f"Neo4j exited during start-up; the end of {info.home / 'logs' / 'console.log'}:\n"
                + _console_tail(info.home, console_offset)
            )
        try:
            with _driver(info.uri, auth) as driver:
                driver.verify_connectivity()
            return "ok"
        except AuthError:
            return "auth-failed"
        except (DriverError, Neo4jError, OSError):
            pass
        if time.monotonic() > deadline:
            raise StoreUnavailable(
                f"Neo4j did not answer on {info.uri} in time; the end of {info.home / 'logs' / 'console.log'}:\n"
                + _console_tail(info.home, console_offset)
            )
        time.sleep(0.5)


def _ensure_password(info: ServerInfo, password: str, deadline: float, console_offset: int) -> None:
    """Make ``password`` the neo4j user's password (first start: change it from the default), then verify it."""
    from neo4j.exceptions import AuthError, ClientError

    if _wait_ready(info, (DEFAULT_USER, password), deadline, console_offset) == "ok":
        current = None  # the stored password logs in: it was set on an earlier start
    else:
        current = "neo4j"  # a fresh database: the default password, which must be changed first
    if current is not None:
        try:
            with _driver(info.uri, (DEFAULT_USER, current)) as driver:
                driver.execute_query(
                    "ALTER CURRENT USER SET PASSWORD FROM $current TO $password",
                    current=current, password=password, database_="system",
                )
        except AuthError:
            raise StoreUnavailable(
                f"Neo4j in {info.home} rejects the password in {_password_path(info.home)} and the default one; "
                f"if its data is disposable, stop it and delete {info.home / 'data'} to start afresh"
            ) from None
        except ClientError as exc:
            raise StoreUnavailable(f"setting the Neo4j password failed: {exc.code}") from None
    try:  # verify: the stored password logs in and may run queries
        with _driver(info.uri, (DEFAULT_USER, password)) as driver:
            driver.execute_query("RETURN 1", database_=DEFAULT_DATABASE)
    except (AuthError, ClientError) as exc:
        raise StoreUnavailable(f"Neo4j does not accept the stored password: {getattr(exc, 'code', exc)}") from None


def start(
    home: os.PathLike | str | None = None,
    bolt_port: int | None = None,
    auth: bool = True,
    heap: str = "1g",
    pagecache: str = "512m",
    timeout: float = 180,
    log: Log = None,
    http_port: int | None = None,
) -> ServerInfo:
    """Start a Neo4j server in ``home`` (detached) and wait until Bolt answers; returns its info.

    Already running: returns the running server's info unchanged. ``bolt_port`` None means 7687,
    0 means a free port. ``http_port`` None leaves the HTTP connector off; a port turns it on with
    Neo4j Browser at ``http://127.0.0.1:PORT/browser/`` (0: a free port; the CLI's default is 7474).
    Both listen on 127.0.0.1 only. Fetches the jars and the plugins first if needed; every server
    gets GDS and APOC.
    """
    home = default_home(home)
    _make_private_dir(home)
    _make_private_dir(home / "run")
    with _locked(home / "run" / "graphlinker.lock"):
        running = status(home)
        if running is not None:
            if log:
                log(f"Neo4j is already running in {home} (pid {running.pid})")
                if http_port is not None and running.http_port is None:
                    log("It runs without Neo4j Browser: stop it and start it again with --browser to have Browser")
            return running
        java = java_executable(log)
        lib = fetch(log)
        port = DEFAULT_BOLT_PORT if bolt_port is None else int(bolt_port)
        if port == 0:
            port = _free_port()
        elif not _port_free(port):
            raise StoreUnavailable(
                f"port {port} on 127.0.0.1 is already in use (another Neo4j?); pass --port N, or --port 0 for a free one"
            )
        http = None if http_port is None else int(http_port)
        if http == 0:
            http = _free_port()
            while http == port:
                http = _free_port()
        elif http is not None and (http == port or not _port_free(http)):
            raise StoreUnavailable(
                f"port {http} on 127.0.0.1 is already in use (another Neo4j?); pass --http-port N, or --http-port 0 for a free one"
            )
        _write_conf(home, port, auth, pagecache, http)
        _link_plugins(home, plugins_dir())
        password = _read_or_create_password(home) if auth else None
        if auth and _first_start(home):
            if log:
                log("Setting the initial password before the first start")
            _set_initial_password(java, lib, home, password)
        console = home / "logs" / "console.log"
        offset = console.stat().st_size if console.exists() else 0
        if log:
            log(f"Starting Neo4j {NEO4J_VERSION} in {home} on bolt://127.0.0.1:{port}")
        began = time.monotonic()
        proc = _launch(java, lib, home, heap)
        info = ServerInfo(
            home=home, pid=proc.pid, uri=f"bolt://127.0.0.1:{port}", port=port, auth=auth,
            started_at=datetime.now(UTC).isoformat(timespec="seconds"), http_port=http,
        )
        _write_state(info)
        deadline = began + timeout
        try:
            if auth:
                _ensure_password(info, password, deadline, offset)
            else:
                _wait_ready(info, None, deadline, offset)
        except BaseException:
            _terminate(info, 30)
            raise
        if http is not None:
            _wait_http(info, deadline, offset)
        if log:
            log(f"Neo4j is up after {time.monotonic() - began:.0f} s")
        return info


def _wait_http(info: ServerInfo, deadline: float, console_offset: int) -> None:
    """Wait until Neo4j Browser answers on the HTTP connector (it comes up with Bolt; this is a check)."""
    import urllib.error
    import urllib.request

    url = info.browser_url or ""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback: never through a proxy
    while True:
        try:
            with opener.open(url, timeout=5) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        if time.monotonic() > deadline:
            _terminate(info, 30)
            raise StoreUnavailable(
                f"Neo4j Browser did not answer on {url} in time; the end of {info.home / 'logs' / 'console.log'}:\n"
                + _console_tail(info.home, console_offset)
            )
        time.sleep(0.5)


def _terminate(info: ServerInfo, timeout: float) -> None:
    """SIGTERM the server's process group, SIGKILL it after ``timeout``; forget its state file."""
    def signal_group(sig: int) -> None:
        try:
            os.killpg(info.pid, sig)
        except (ProcessLookupError, PermissionError):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(info.pid, sig)

    if _alive(info.pid, info.home):
        signal_group(signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while _alive(info.pid, info.home) and time.monotonic() < deadline:
            time.sleep(0.2)
        if _alive(info.pid, info.home):
            signal_group(signal.SIGKILL)
            deadline = time.monotonic() + 10
            while _alive(info.pid, info.home) and time.monotonic() < deadline:
                time.sleep(0.1)
    child = _children.pop(info.pid, None)
    if child is not None:
        with contextlib.suppress(subprocess.TimeoutExpired):
            child.wait(timeout=5)
    _state_path(info.home).unlink(missing_ok=True)


def stop(home: os.PathLike | str | None = None, timeout: float = 60) -> bool:
    """Stop the server in ``home``; True if one was running. Idempotent."""
    home = default_home(home)
    if not (home / "run").is_dir():
        return False
    with _locked(home / "run" / "graphlinker.lock"):
        info = status(home)
        if info is None:
            return False
        _terminate(info, timeout)
        return True


# --------------------------------------------------------------------------- connection settings


def connection_settings(home: os.PathLike | str | None = None) -> dict:
    """``{uri, user, password, database}`` for the Neo4j driver.

    From ``NEO4J_URI`` (+ ``NEO4J_USER``, ``NEO4J_PASSWORD``, ``NEO4J_DATABASE``) when it is set;
    else from the server started in ``home`` (:func:`default_home`), so nothing needs configuring.
    """
    if uri := env_value("NEO4J_URI"):
        return {
            "uri": uri,
            "user": env_value("NEO4J_USER") or DEFAULT_USER,
            "password": env_value("NEO4J_PASSWORD") or "",
            "database": env_value("NEO4J_DATABASE") or DEFAULT_DATABASE,
        }
    return server_settings(home)


def server_settings(home: os.PathLike | str | None = None) -> dict:
    """``{uri, user, password, database}`` of the server running in ``home``, ignoring ``NEO4J_*`` variables."""
    home = default_home(home)
    info = status(home)
    if info is None:
        raise StoreUnavailable(
            f"no Neo4j server is running in {home} and NEO4J_URI is not set: run `graphlinker neo4j start` "
            "(or set NEO4J_URI, NEO4J_USER and NEO4J_PASSWORD for another server)"
        )
    password = ""  # a server without auth accepts any credentials
    if info.auth:
        try:
            password = _password_path(home).read_text().strip()
        except OSError:
            raise StoreUnavailable(f"cannot read the Neo4j password file {_password_path(home)}") from None
    return {"uri": info.uri, "user": DEFAULT_USER, "password": password, "database": DEFAULT_DATABASE}


# --------------------------------------------------------------------------- python -m graphlinker.devserver.server


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv != ["fetch"]:
        print("usage: python -m graphlinker.devserver.server fetch", file=sys.stderr)
        return 2
    try:
        lib = fetch(log=lambda message: print(message, file=sys.stderr))
    except GraphlinkerError as exc:
        print(f"error: {' '.join(str(exc).split())}", file=sys.stderr)  # one line, as the CLI prints it
        return int(exc.exit_code)
    print(lib)  # .ci/fetch-neo4j reads this line; the plugins are in plugins_dir(), beside it
    return 0


if __name__ == "__main__":
    sys.exit(main())
