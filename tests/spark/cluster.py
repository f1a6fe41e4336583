"""A Spark standalone cluster on loopback, started and stopped with Spark's own scripts.

PyPI's PySpark ships `sbin/spark-daemon.sh` (what `start-master.sh` and `start-worker.sh`
call) but not those two wrappers, so the daemons are started with it directly.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

MASTER = "org.apache.spark.deploy.master.Master"
WORKER = "org.apache.spark.deploy.worker.Worker"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def standalone_cluster(root: Path, cores: int = 2, memory: str = "1g") -> Iterator[str]:
    """Yield the master URL of a one-worker cluster; both daemons are stopped afterwards."""
    import pyspark

    spark_home = Path(pyspark.__file__).parent
    daemon = spark_home / "sbin" / "spark-daemon.sh"
    for folder in ("conf", "logs", "pids", "work"):
        (root / folder).mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        "SPARK_HOME": str(spark_home),
        "SPARK_CONF_DIR": str(root / "conf"),
        "SPARK_LOG_DIR": str(root / "logs"),
        "SPARK_PID_DIR": str(root / "pids"),
        "SPARK_WORKER_DIR": str(root / "work"),
        "SPARK_IDENT_STRING": f"mdfs-test-{os.getpid()}",
        "SPARK_MASTER_HOST": "127.0.0.1",
        "SPARK_LOCAL_IP": "127.0.0.1",
        "SPARK_DAEMON_MEMORY": "256m",
    }
    port, ui = free_port(), free_port()
    url = f"spark://127.0.0.1:{port}"
    master_args = ["--host", "127.0.0.1", "--port", str(port), "--webui-port", str(ui)]
    worker_args = ["--host", "127.0.0.1", "--webui-port", str(free_port()),
                   "--cores", str(cores), "--memory", memory, url]  # fmt: skip

    def daemon_call(*args: str) -> None:
        subprocess.run(["bash", str(daemon), *args], env=env, check=True, capture_output=True)

    try:
        daemon_call("start", MASTER, "1", *master_args)
        daemon_call("start", WORKER, "1", *worker_args)
        deadline = time.time() + 180
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{ui}/json/", timeout=5) as page:
                    if json.load(page).get("aliveworkers", 0) >= 1:
                        break
            # ValueError: the UI answers with an HTML page for a moment after it binds its
            # port, before its JSON handler is attached (seen under load)
            except (OSError, ValueError):
                pass
            if time.time() > deadline:
                logs = "\n".join(p.read_text()[-2000:] for p in (root / "logs").glob("*.out"))
                raise RuntimeError(f"the standalone cluster did not come up:\n{logs}")
            time.sleep(1)
        yield url
    finally:
        for name in (WORKER, MASTER):
            subprocess.run(["bash", str(daemon), "stop", name, "1"], env=env, capture_output=True)
