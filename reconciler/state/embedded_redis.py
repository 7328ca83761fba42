"""The embedded Redis of a data dir, for single-machine use without REDIS_URL.

The first `reconciler` command that needs Redis starts one `redis-server` for the data
dir (append-only file on, so a restart keeps state) and records its port; every later
command, in any shell, finds it there. A file lock keeps two commands starting at once
from starting two servers.
"""

from __future__ import annotations

import contextlib
import socket
import subprocess
import time
from pathlib import Path

from filelock import FileLock

from reconciler.settings import Settings
from reconciler.state.redis_server import find_redis_binary, free_port

PORT_FILE = "redis.port"


def _answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.3) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def _recorded_port(data_dir: Path) -> int | None:
    try:
        return int((data_dir / PORT_FILE).read_text().strip())
    except (OSError, ValueError):
        return None


def embedded_redis_url(settings: Settings, start: bool = True) -> str:
    """URL of the data dir's Redis, starting it (detached) when it is not running."""
    data_dir = settings.redis_data_dir
    data_dir.mkdir(parents=True, exist_ok=True)
    with FileLock(str(data_dir / "start.lock"), timeout=30):
        port = _recorded_port(data_dir)
        if port and _answers(port):
            return f"redis://127.0.0.1:{port}/0"
        if not start:
            raise RuntimeError(f"the embedded Redis of {data_dir} is not running; run `reconciler up`")
        port = free_port()
        subprocess.run(
            [
                find_redis_binary(),
                "--bind", "127.0.0.1",
                "--port", str(port),
                "--dir", str(data_dir),
                "--appendonly", "yes",
                "--save", "",
                "--protected-mode", "no",
                "--daemonize", "yes",
                "--pidfile", str(data_dir / "redis.pid"),
                "--logfile", str(data_dir / "redis.log"),
            ],
            check=True,
            stdout=subprocess.DEVNULL,
        )
        for _ in range(250):
            if _answers(port):
                break
            time.sleep(0.02)
        else:
            raise RuntimeError(f"embedded Redis did not start; see {data_dir / 'redis.log'}")
        (data_dir / PORT_FILE).write_text(str(port))
        return f"redis://127.0.0.1:{port}/0"


def stop_embedded_redis(settings: Settings) -> bool:
    """Shut the data dir's Redis down (saving its AOF); False when none was running."""
    data_dir = settings.redis_data_dir
    port = _recorded_port(data_dir)
    if not port or not _answers(port):
        return False
    import redis

    with contextlib.suppress(redis.ConnectionError):  # the server closes the connection as it exits
        redis.Redis(host="127.0.0.1", port=port).shutdown(nosave=False)
    return True
