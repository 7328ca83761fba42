"""The embedded Redis of a data dir, for single-machine use without REDIS_URL.

The first `reconciler` command that needs Redis starts one `redis-server` for the data
dir (append-only file on, so a restart keeps state) and records its port; every later
command, in any shell, finds it there. A file lock keeps two commands starting at once
from starting two servers.

It listens on 127.0.0.1 only, with protected mode on, and requires a password generated
once into `<data dir>/redis/password` (mode 0600): another user of the machine, or a web
page posting to 127.0.0.1:<port>, cannot read or change the state. The password goes to
redis-server in a 0600 config file, never on a command line; the URL every `reconciler`
command of the data dir builds carries it, and is printed without it.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import socket
import subprocess
import time
from pathlib import Path

from filelock import FileLock

from reconciler.settings import Settings
from reconciler.state.redis_server import find_redis_binary, free_port

PORT_FILE = "redis.port"
PASSWORD_FILE = "password"
CONFIG_FILE = "redis.conf"


def _answers(port: int, password: str) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.3) as sock:
            sock.sendall(f"AUTH {password}\r\nPING\r\n".encode())
            reply = b""
            while b"PONG" not in reply and len(reply) < 64:
                chunk = sock.recv(64)
                if not chunk:
                    break
                reply += chunk
            return reply.startswith(b"+OK") and b"+PONG" in reply
    except OSError:
        return False


def _answers_without_password(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.3) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def _shut_down(port: int, password: str | None) -> None:
    import redis

    with contextlib.suppress(redis.ConnectionError):  # the server closes the connection as it exits
        redis.Redis(host="127.0.0.1", port=port, password=password).shutdown(nosave=False)
    for _ in range(250):
        if not _answers_without_password(port) and not (password and _answers(port, password)):
            return
        time.sleep(0.02)


def _private_file(path: Path, content: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(content)
    os.chmod(path, 0o600)


def _password(data_dir: Path) -> str:
    path = data_dir / PASSWORD_FILE
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        password = secrets.token_hex(24)
        _private_file(path, password)
        return password


def _url(port: int, password: str) -> str:
    return f"redis://:{password}@127.0.0.1:{port}/0"


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
        password = _password(data_dir)
        port = _recorded_port(data_dir)
        if port and _answers(port, password):
            return _url(port, password)
        if not start:
            raise RuntimeError(f"the embedded Redis of {data_dir} is not running; run `reconciler up`")
        if port and _answers_without_password(port):
            # Started by a version without a password: stop it (saving its data) before starting
            # the protected one on the same directory; two servers must never share an AOF.
            _shut_down(port, None)
        port = free_port()
        config = "\n".join([
            "bind 127.0.0.1",
            "protected-mode yes",
            f"port {port}",
            f'dir "{data_dir}"',
            "appendonly yes",
            'save ""',
            "daemonize yes",
            f'pidfile "{data_dir / "redis.pid"}"',
            f'logfile "{data_dir / "redis.log"}"',
            f"requirepass {password}",
        ])  # fmt: skip
        _private_file(data_dir / CONFIG_FILE, config + "\n")
        subprocess.run([find_redis_binary(), str(data_dir / CONFIG_FILE)], check=True, stdout=subprocess.DEVNULL)
        for _ in range(250):
            if _answers(port, password):
                break
            time.sleep(0.02)
        else:
            raise RuntimeError(f"embedded Redis did not start; see {data_dir / 'redis.log'}")
        (data_dir / PORT_FILE).write_text(str(port))
        return _url(port, password)


def stop_embedded_redis(settings: Settings) -> bool:
    """Shut the data dir's Redis down (saving its AOF); False when none was running."""
    data_dir = settings.redis_data_dir
    port = _recorded_port(data_dir)
    try:
        password = (data_dir / PASSWORD_FILE).read_text().strip()
    except OSError:
        return False
    if not port or not _answers(port, password):
        return False
    _shut_down(port, password)
    return True
