"""One Spark session per process, started the way this project needs it (``docs/scaling.md``).

Workers must run the interpreter that has graphlinker installed (``PYSPARK_PYTHON``), a local
session binds to loopback only, and Spark's web UI and console progress bars stay off (progress is
ours). ``master`` is ``local[*]`` by default, ``$SPARK_MASTER`` or ``--master spark://host:7077``
for a cluster: its executors need graphlinker installed and the input files at the same paths.
"""

from __future__ import annotations

import os
import sys
import threading
import warnings
from typing import TYPE_CHECKING

from graphlinker.errors import ConfigError, ExitCode, GraphlinkerError
from graphlinker.settings import environment

if TYPE_CHECKING:  # pragma: no cover
    from pyspark.sql import SparkSession

MASTER_ENV = "SPARK_MASTER"
_lock = threading.Lock()


class EngineUnavailable(GraphlinkerError):
    """The Spark engine cannot start (no pyspark, no Java, a master that cannot be reached): exit 5, as a store."""

    exit_code = ExitCode.STORE_UNAVAILABLE


def master_of(configured: str | None) -> str:
    """``--master`` / ``[engine] master``, else ``$SPARK_MASTER``, else ``local[*]``."""
    return configured or environment.value(MASTER_ENV) or "local[*]"


def spark_session(master: str | None = None, shuffle_partitions: int = 0) -> SparkSession:
    """The process's Spark session (created on first use; later calls return the same one)."""
    # pyspark 4.3 warns that pandas >= 3 is not fully supported; this engine exchanges Arrow only (mapInArrow,
    # toArrow), never pandas through Spark, so the warning does not apply to it.
    warnings.filterwarnings("ignore", message="PySpark does not yet fully support pandas", category=FutureWarning)
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        raise ConfigError("the Spark engine needs pyspark: pip install 'graphlinker[spark]'") from None
    master = master_of(master)
    with _lock:
        active = SparkSession.getActiveSession()
        if active is not None:
            return active
        python = environment.set_default("PYSPARK_PYTHON", sys.executable)
        local = master.startswith("local")
        if local:
            environment.set_default("SPARK_LOCAL_IP", "127.0.0.1")
        partitions = shuffle_partitions or (2 * (os.cpu_count() or 2) if local else 200)
        builder = (
            SparkSession.builder.master(master)
            .appName("graphlinker")
            .config("spark.ui.enabled", "false")
            .config("spark.ui.showConsoleProgress", "false")
            .config("spark.sql.shuffle.partitions", str(partitions))
            .config("spark.sql.execution.arrow.pyspark.enabled", "true")
            .config("spark.sql.session.timeZone", "UTC")
            .config("spark.driver.memory", environment.value("GRAPHLINKER_SPARK_DRIVER_MEMORY") or "4g")
            .config("spark.pyspark.python", python)
            .config("spark.pyspark.driver.python", sys.executable)
        )
        if local:
            builder = builder.config("spark.driver.bindAddress", "127.0.0.1").config("spark.driver.host", "127.0.0.1")
        try:
            session = builder.getOrCreate()
        except Exception as exc:  # Java missing, master unreachable: py4j/Spark raise many types
            raise EngineUnavailable(f"cannot start Spark (master {master}): {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}") from None
        session.sparkContext.setLogLevel("ERROR")
        return session


def stop_session() -> None:
    """Stop the process's session, if any (tests and the CLI's exit)."""
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        return
    with _lock:
        active = SparkSession.getActiveSession()
        if active is not None:
            active.stop()
