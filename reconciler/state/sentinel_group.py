"""A replicated Redis on this machine: three `redis-server`s and three Sentinels (the same
binary, `--sentinel`) on free loopback ports, for the failover test and benchmark.

Every server runs with AOF on and a password (the replicas authenticate to the primary with
it); the Sentinels have a password of their own. Timings are the short ones the Helm chart
sets (`down-after-milliseconds` 1 s here, a small `failover-timeout`), so a primary's death
is noticed and a replica promoted within about two seconds.

    with SentinelGroup(workdir) as group:
        env = group.environment()          # RECONCILER_REDIS_SENTINELS=..., _MASTER, passwords
        group.kill_primary()               # SIGKILL; returns once a replica is the new primary

With `tls=TlsFiles(ca, cert, key)` every server and Sentinel listens for TLS only (`port 0`,
`tls-port`), replicas and Sentinels reach the primary over TLS (`tls-replication yes`), and
`environment()` adds the RECONCILER_REDIS_TLS / RECONCILER_REDIS_SENTINEL_TLS settings with the CA.
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import redis

from reconciler.state.redis_server import RedisUnavailable, find_redis_binary, free_port

MASTER_NAME = "mymaster"
DOWN_AFTER_MS = 1000
FAILOVER_TIMEOUT_MS = 2000


@dataclass(frozen=True)
class TlsFiles:
    """PEM files: the CA clients verify the servers with, and the servers' certificate and key."""

    ca: str
    cert: str
    key: str

    def config_lines(self, port: int) -> list[str]:
        return [
            "port 0", f"tls-port {port}", f'tls-cert-file "{self.cert}"', f'tls-key-file "{self.key}"',
            f'tls-ca-cert-file "{self.ca}"', "tls-auth-clients no", "tls-replication yes",
        ]  # fmt: skip


class _Server:
    """One redis-server process (data server or Sentinel) with its own config file."""

    def __init__(self, directory: Path, port: int, config: str, sentinel: bool) -> None:
        self.directory = directory
        self.port = port
        self.config = config
        self.sentinel = sentinel
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        conf = self.directory / ("sentinel.conf" if self.sentinel else "redis.conf")
        if not conf.exists() or not self.sentinel:  # a Sentinel rewrites its file: keep what it learnt
            fd = os.open(conf, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as out:
                out.write(self.config)
        args = [find_redis_binary(), str(conf), *(["--sentinel"] if self.sentinel else [])]
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()
        self.proc = None


class SentinelGroup:
    def __init__(
        self,
        workdir: Path,
        servers: int = 3,
        sentinels: int = 3,
        down_after_ms: int = DOWN_AFTER_MS,
        tls: TlsFiles | None = None,
    ) -> None:
        self.workdir = Path(workdir)
        self.down_after_ms = down_after_ms
        self.tls = tls
        self.password = secrets.token_hex(16)
        self.sentinel_password = secrets.token_hex(16)
        ports = [free_port() for _ in range(servers)]
        self.servers = [
            _Server(self.workdir / f"redis{i}", port, self._server_config(port, ports[0] if i else None), False)
            for i, port in enumerate(ports)
        ]
        self.sentinels = [
            _Server(self.workdir / f"sentinel{i}", port, self._sentinel_config(port, ports[0]), True)
            for i, port in enumerate(free_port() for _ in range(sentinels))
        ]

    def _server_config(self, port: int, primary_port: int | None) -> str:
        lines = [
            "bind 127.0.0.1",
            *(self.tls.config_lines(port) if self.tls else [f"port {port}"]),
            f'dir "{self.workdir / f"redis-{port}"}"',
            "appendonly yes",
            "appendfsync everysec",
            'save ""',
            f"requirepass {self.password}",
            f"masterauth {self.password}",
            "maxmemory-policy noeviction",
            "loglevel warning",
            f'logfile "{self.workdir / f"redis-{port}.log"}"',
        ]
        if primary_port is not None:
            lines.append(f"replicaof 127.0.0.1 {primary_port}")
        (self.workdir / f"redis-{port}").mkdir(parents=True, exist_ok=True)
        return "\n".join(lines) + "\n"

    def _sentinel_config(self, port: int, primary_port: int) -> str:
        return "\n".join([
            "bind 127.0.0.1",
            *(self.tls.config_lines(port) if self.tls else [f"port {port}"]),
            f'dir "{self.workdir}"',
            f"requirepass {self.sentinel_password}",
            f"sentinel sentinel-pass {self.sentinel_password}",
            f"sentinel monitor {MASTER_NAME} 127.0.0.1 {primary_port} 2",
            f"sentinel auth-pass {MASTER_NAME} {self.password}",
            f"sentinel down-after-milliseconds {MASTER_NAME} {self.down_after_ms}",
            f"sentinel failover-timeout {MASTER_NAME} {FAILOVER_TIMEOUT_MS}",
            f"sentinel parallel-syncs {MASTER_NAME} 2",
            "loglevel warning",
            f'logfile "{self.workdir / f"sentinel-{port}.log"}"',
        ]) + "\n"  # fmt: skip

    # lifecycle -----------------------------------------------------------------------

    def start(self, timeout: float = 20.0) -> SentinelGroup:
        for server in self.servers + self.sentinels:
            server.start()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._replicas_in_sync() and all(self._sentinel_knows_replicas(s) for s in self.sentinels):
                return self
            if not all(s.alive() for s in self.servers + self.sentinels):
                self.stop()
                raise RedisUnavailable(f"a redis-server or Sentinel exited at start; see the logs in {self.workdir}")
            time.sleep(0.1)
        self.stop()
        raise RedisUnavailable(f"the Sentinel group did not come up within {timeout}s; see {self.workdir}")

    def stop(self) -> None:
        for server in self.sentinels + self.servers:
            server.stop()

    def __enter__(self) -> SentinelGroup:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # what clients are told -------------------------------------------------------------

    @property
    def sentinel_addresses(self) -> str:
        return ",".join(f"127.0.0.1:{s.port}" for s in self.sentinels)

    def environment(self) -> dict[str, str]:
        env = {
            "RECONCILER_REDIS_SENTINELS": self.sentinel_addresses,
            "RECONCILER_REDIS_MASTER": MASTER_NAME,
            "RECONCILER_REDIS_PASSWORD": self.password,
            "RECONCILER_REDIS_SENTINEL_PASSWORD": self.sentinel_password,
        }
        if self.tls:
            env.update({
                "RECONCILER_REDIS_TLS": "true", "RECONCILER_REDIS_TLS_CA_FILE": self.tls.ca,
                "RECONCILER_REDIS_SENTINEL_TLS": "true", "RECONCILER_REDIS_SENTINEL_TLS_CA_FILE": self.tls.ca,
            })  # fmt: skip
        return env

    def _tls_kwargs(self) -> dict[str, Any]:
        return {"ssl": True, "ssl_ca_certs": self.tls.ca} if self.tls else {}

    # failures ----------------------------------------------------------------------------

    def primary_port(self) -> int | None:
        """The primary's port as a majority of the Sentinels reports it (None while they disagree)."""
        votes: dict[int, int] = {}
        for sentinel in self.sentinels:
            try:
                client = redis.Redis(port=sentinel.port, password=self.sentinel_password, socket_timeout=1,
                                     **self._tls_kwargs())  # fmt: skip
                with client:
                    _host, port = client.execute_command("SENTINEL", "get-master-addr-by-name", MASTER_NAME)
                votes[int(port)] = votes.get(int(port), 0) + 1
            except (redis.RedisError, TypeError, ValueError):
                continue
        best = max(votes.items(), key=lambda item: item[1], default=None)
        return best[0] if best and best[1] > len(self.sentinels) // 2 else None

    def kill_primary(self, timeout: float = 30.0) -> float:
        """SIGKILL the primary, wait until a replica answers as the new primary, then start the
        dead one again (it rejoins as a replica). Returns the time of the kill (time.time())."""
        old = self.primary_port()
        server = next(s for s in self.servers if s.port == old)
        killed_at = time.time()
        server.kill()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            new = self.primary_port()
            if new not in (None, old) and self._role(new) == "master":
                break
            time.sleep(0.05)
        else:
            raise AssertionError(f"no replica was promoted within {timeout}s of killing the primary on port {old}")
        server.start()
        return killed_at

    def wait_until_replicated(self, timeout: float = 60.0) -> None:
        """Until every server runs and every replica has caught up with the primary."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._replicas_in_sync():
                return
            time.sleep(0.1)
        raise AssertionError(f"the replicas did not catch up within {timeout}s")

    def _client(self, port: int) -> redis.Redis:
        return redis.Redis(port=port, password=self.password, socket_timeout=1, decode_responses=True,
                           **self._tls_kwargs())  # fmt: skip

    def _role(self, port: int) -> str:
        try:
            with self._client(port) as client:
                return str(client.execute_command("ROLE")[0])
        except redis.RedisError:
            return ""

    def _replicas_in_sync(self) -> bool:
        primary = self.primary_port() or self.servers[0].port
        try:
            with self._client(primary) as client:
                info = client.info("replication")
        except redis.RedisError:
            return False
        if info.get("role") != "master" or int(info.get("connected_slaves", 0)) < len(self.servers) - 1:
            return False
        # Online and close behind (the primary keeps taking writes while this looks).
        offset = int(info.get("master_repl_offset", 0))
        replicas = [info[f"slave{i}"] for i in range(len(self.servers) - 1)]
        return all(r.get("state") == "online" and offset - int(r.get("offset", 0)) < 1_000_000 for r in replicas)

    def _sentinel_knows_replicas(self, sentinel: _Server) -> bool:
        try:
            with redis.Redis(port=sentinel.port, password=self.sentinel_password, socket_timeout=1,
                             **self._tls_kwargs()) as client:  # fmt: skip
                replicas = client.execute_command("SENTINEL", "replicas", MASTER_NAME)
                others = client.execute_command("SENTINEL", "sentinels", MASTER_NAME)
        except redis.RedisError:
            return False
        return len(replicas) >= len(self.servers) - 1 and len(others) >= len(self.sentinels) - 1
