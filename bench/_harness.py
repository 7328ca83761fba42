"""Shared setup for whole-system benchmarks: a private Redis, kubesim, `reconciler worker`
and `reconciler beat` subprocesses, local git repositories, and the meters benchmarks read
(kubesim's request counters and log, Redis telemetry, worker RSS).

    with BenchSystem(workdir, workers=2, concurrency=2) as system:
        repo = system.make_repo("config", {"apps/a/cm.yaml": "..."})
        ...                              # register apps through system.store
        system.kubesim.stats()           # per-verb request counters

Every process it starts runs in its own process group (so a prefork worker's children go
with it) and is stopped when the `with` block ends, on error, Ctrl-C or SIGTERM.
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from types import FrameType, TracebackType
from typing import Any
from urllib.parse import urlparse

from kubesim.kubeconfig import write_kubeconfig
from reconciler.state import Keys, Store
from reconciler.state.redis_server import RedisProcess
from reconciler.state.sealing import KEY_FILE, Sealer

ROOT = Path(__file__).resolve().parent.parent
CELERY_QUEUES = ("urgent", "sync", "poll")
GIT_ENV = {
    "GIT_AUTHOR_NAME": "Bench",
    "GIT_AUTHOR_EMAIL": "bench@example.com",
    "GIT_COMMITTER_NAME": "Bench",
    "GIT_COMMITTER_EMAIL": "bench@example.com",
    "GIT_CONFIG_NOSYSTEM": "1",
}


def log(message: str) -> None:
    """Progress goes to stderr: stdout holds only the JSON result."""
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


@contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """Turn SIGTERM into KeyboardInterrupt, so `finally` blocks stop child processes."""

    def on_term(_signum: int, _frame: FrameType | None) -> None:
        raise KeyboardInterrupt("SIGTERM")

    previous = signal.signal(signal.SIGTERM, on_term)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


class ProcessGroup:
    """Child processes, each the leader of its own process group, stopped together."""

    def __init__(self, log_dir: Path) -> None:
        self.log_dir = log_dir
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self.ended: set[str] = set()  # ended on purpose (a profiler stopped): not a failure

    def start(self, name: str, argv: list[str], env: dict[str, str],
              stdout: int | None = None) -> subprocess.Popen[bytes]:
        log_file = open(self.log_dir / f"{name}.log", "wb")  # noqa: SIM115 - the child holds it
        proc = subprocess.Popen(
            argv,
            cwd=ROOT,
            env=env,
            stdout=stdout if stdout is not None else log_file,
            stderr=log_file,
            start_new_session=True,  # own group: Ctrl-C in our terminal is ours to handle
        )
        log_file.close()
        self.procs[name] = proc
        return proc

    def check_alive(self) -> None:
        for name, proc in self.procs.items():
            if name not in self.ended and proc.poll() is not None:
                raise RuntimeError(
                    f"{name} exited with status {proc.returncode}; see {self.log_dir / (name + '.log')}"
                )

    def stop_all(self, timeout: float = 20.0) -> None:
        for proc in self.procs.values():
            _signal_group(proc, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        for proc in self.procs.values():
            with suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            _signal_group(proc, signal.SIGKILL)  # the group's stragglers (prefork children) too
            proc.wait()
            if proc.stdout:
                proc.stdout.close()
        self.procs.clear()


def _signal_group(proc: subprocess.Popen[bytes], sig: int) -> None:
    with suppress(ProcessLookupError):
        os.killpg(proc.pid, sig)


def group_rss_mb(leader_pids: list[int]) -> float:
    """Resident memory (VmRSS) of every process in the groups these leaders lead, in MiB."""
    groups = set(leader_pids)
    total_kb = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            # Fields after the parenthesised command name: state, ppid, pgrp, ...
            pgrp = int(stat.rsplit(")", 1)[1].split()[2])
            if pgrp not in groups:
                continue
            for line in (entry / "status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total_kb += int(line.split()[1])
        except (OSError, ValueError, IndexError):
            continue  # the process ended while we looked
    return round(total_kb / 1024, 1)


def largest_process_rss_mb(leader_pids: list[int]) -> float:
    """The VmRSS of the largest single process in these groups, in MiB (a per-process budget)."""
    groups, largest = set(leader_pids), 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if int((entry / "stat").read_text().rsplit(")", 1)[1].split()[2]) not in groups:
                continue
            for line in (entry / "status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    largest = max(largest, int(line.split()[1]))
        except (OSError, ValueError, IndexError):
            continue
    return round(largest / 1024, 1)


def _cpu_ticks(stat: Path) -> tuple[int, int]:
    """(process group, user + system CPU ticks) from a /proc/PID/stat file."""
    fields = stat.read_text().rsplit(")", 1)[1].split()  # after the command name, which may hold spaces
    return int(fields[2]), int(fields[11]) + int(fields[12])


def group_cpu_seconds(leader_pids: list[int]) -> float:
    """User + system CPU seconds used so far by every process in these groups (living ones)."""
    groups = set(leader_pids)
    total = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            group, ticks = _cpu_ticks(entry / "stat")
        except (OSError, ValueError, IndexError):
            continue
        if group in groups:
            total += ticks
    return total / os.sysconf("SC_CLK_TCK")


def process_cpu_seconds(pid: int) -> float:
    """User + system CPU seconds used so far by one process (0 once it is gone)."""
    try:
        return _cpu_ticks(Path(f"/proc/{pid}/stat"))[1] / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return 0.0


class KubesimAdmin:
    """kubesim's `/_kubesim/` endpoints over plain HTTP (no proxy settings apply to loopback)."""

    def __init__(self, url: str) -> None:
        parsed = urlparse(url)
        self.url = url
        self.host = parsed.hostname or "127.0.0.1"
        self.port = parsed.port or 80

    def call(self, method: str, path: str, body: Any = None) -> Any:
        conn = http.client.HTTPConnection(self.host, self.port, timeout=60)
        try:
            payload = json.dumps(body).encode() if body is not None else None
            headers = {"Content-Type": "application/json"} if payload else {}
            conn.request(method, path, body=payload, headers=headers)
            response = conn.getresponse()
            data = response.read()
        finally:
            conn.close()
        if response.status >= 300:
            raise RuntimeError(f"kubesim {method} {path} answered {response.status}: {data[:300]!r}")
        return json.loads(data) if data else None

    def stats(self) -> dict[str, int]:
        return dict(self.call("GET", "/_kubesim/stats"))

    def requests(self) -> list[dict[str, Any]]:
        return list(self.call("GET", "/_kubesim/requests"))

    def clear_log(self) -> None:
        self.call("POST", "/_kubesim/clear_log")

    def create_namespace(self, name: str) -> None:
        self.call("POST", "/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})


class GitRepo:
    """A local git repository served to the system as a file:// URL."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.url = path.as_uri()

    def git(self, *args: str) -> str:
        out = subprocess.run(["git", *args], cwd=self.path, env={**os.environ, **GIT_ENV},
                             check=True, capture_output=True, text=True)
        return out.stdout.strip()

    def commit(self, files: dict[str, str], message: str = "change") -> str:
        for rel, content in files.items():
            target = self.path / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(content)
        self.git("add", "-A")
        self.git("commit", "-q", "--allow-empty", "-m", message)
        return self.git("rev-parse", "HEAD")


class BenchSystem:
    """The whole system as separate processes: redis-server, kubesim, workers and beat.

    `workers` worker processes, each a Celery prefork pool of `concurrency` children;
    `env` adds or overrides RECONCILER_* settings for workers and beat; `watchers`
    `reconciler watch` processes (reconciler/live) run beside them.
    """

    def __init__(
        self,
        workdir: Path,
        *,
        workers: int = 2,
        concurrency: int = 2,
        kubesim_controllers: bool = True,
        ready_delay: float = 0.2,
        env: dict[str, str] | None = None,
        watchers: int = 0,
        profile_workers: bool = False,
        aof: bool = False,
    ) -> None:
        self.workdir = workdir
        self.watcher_count = watchers
        self.profile_workers = profile_workers
        self.aof = aof  # Redis with its append-only file on, as deployed
        self.worker_count = workers
        self.concurrency = concurrency
        self.kubesim_controllers = kubesim_controllers
        self.ready_delay = ready_delay
        self.extra_env = env or {}
        self.procs = ProcessGroup(workdir)
        self.redis: RedisProcess | None = None
        self.store: Store | None = None
        self.kubesim: KubesimAdmin | None = None
        self.env: dict[str, str] = {}

    # lifecycle -----------------------------------------------------------------------

    def __enter__(self) -> BenchSystem:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    def start(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.redis = RedisProcess(self.workdir / "redis", persistent=self.aof).start()
        # The workers' key (generated into their data dir): this process reads what they seal.
        self.store = Store.from_url(self.redis.url, Sealer(key_file=self.workdir / "data" / KEY_FILE))
        self.kubesim = KubesimAdmin(self._start_kubesim())
        kubeconfig = write_kubeconfig(self.workdir / "kubeconfig", self.kubesim.url)
        self.env = {
            **os.environ,
            "REDIS_URL": self.redis.url,
            "KUBECONFIG": str(kubeconfig),
            "RECONCILER_DATA_DIR": str(self.workdir / "data"),
            # The bench's repositories are local ones in its workdir.
            "RECONCILER_LOCAL_REPO_ROOTS": str(self.workdir.resolve()),
            "PYTHONUNBUFFERED": "1",
            **self.extra_env,
        }
        for i in range(self.worker_count):
            argv = [sys.executable, "-m", "reconciler.cli", "worker", "--pool", "prefork",
                    "--concurrency", str(self.concurrency), "--loglevel", "WARNING"]
            if self.profile_workers:
                # py-spy can only sample its own children here (no ptrace of other processes).
                # --gil: samples of the thread holding the GIL, i.e. Python CPU, not I/O waits.
                argv = [str(Path(sys.executable).with_name("py-spy")), "record", "--subprocesses", "--gil",
                        "--rate", "50", "--format", "raw", "-o", str(self.workdir / f"worker{i}.spy"), "--", *argv]
            self.procs.start(f"worker{i}", argv, self.env)
        self.procs.start("beat", [sys.executable, "-m", "reconciler.cli", "beat", "--loglevel", "WARNING"], self.env)
        for i in range(self.watcher_count):
            self.procs.start(f"watch{i}", [sys.executable, "-m", "reconciler.cli", "watch", "--loglevel", "WARNING"],
                             self.env)

    def _start_kubesim(self) -> str:
        argv = [sys.executable, "-m", "kubesim", "--port", "0"]
        if self.kubesim_controllers:
            argv += ["--controllers", "--ready-delay", str(self.ready_delay)]
        proc = self.procs.start("kubesim", argv, dict(os.environ), stdout=subprocess.PIPE)
        assert proc.stdout is not None
        line = proc.stdout.readline().decode()
        if "serving on" not in line:
            raise RuntimeError(f"kubesim did not start (exit status {proc.poll()}); see {self.workdir}/kubesim.log")
        return line.strip().rsplit(" ", 1)[-1]

    def stop(self) -> None:
        self.procs.stop_all()
        if self.store is not None:
            self.store.r.close()
        if self.redis is not None:
            self.redis.stop()

    # helpers -------------------------------------------------------------------------

    def make_repo(self, name: str, files: dict[str, str]) -> GitRepo:
        path = self.workdir / "repos" / name
        path.mkdir(parents=True)
        repo = GitRepo(path)
        repo.git("init", "-q", "-b", "main")
        repo.commit(files, message="initial")
        return repo

    def worker_pids(self) -> list[int]:
        return [p.pid for name, p in self.procs.procs.items() if name.startswith("worker")]

    def worker_rss_mb(self) -> float:
        return group_rss_mb(self.worker_pids())

    def stop_profiling(self) -> list[Path]:
        """Stop the workers' py-spy (SIGINT: it writes its samples; the worker under it ends)."""
        files = []
        for name, proc in list(self.procs.procs.items()):
            if name.startswith("worker"):
                self.procs.ended.add(name)
                with suppress(ProcessLookupError):
                    os.kill(proc.pid, signal.SIGINT)
                with suppress(subprocess.TimeoutExpired):
                    proc.wait(timeout=60)
                files.append(self.workdir / f"{name}.spy")
        return [f for f in files if f.exists()]

    def worker_rss_mb_largest_process(self) -> float:
        return largest_process_rss_mb(self.worker_pids())

    def worker_cpu_seconds(self) -> float:
        return group_cpu_seconds(self.worker_pids())

    def cpu_seconds_by_role(self) -> dict[str, float]:
        """CPU seconds used so far by each part of the system (process groups by role), and by
        this benchmark process itself, so a run can say which part a phase's time went to."""
        roles: dict[str, list[int]] = {}
        for name, proc in self.procs.procs.items():
            roles.setdefault(name.rstrip("0123456789"), []).append(proc.pid)
        figures = {role: group_cpu_seconds(pids) for role, pids in roles.items()}
        if self.redis is not None and self.redis.pid is not None:
            figures["redis"] = process_cpu_seconds(self.redis.pid)
        usage = os.times()
        figures["bench"] = usage.user + usage.system
        return figures

    def watcher_pids(self) -> list[int]:
        return [p.pid for name, p in self.procs.procs.items() if name.startswith("watch")]

    def watcher_rss_mb(self) -> float:
        return group_rss_mb(self.watcher_pids())

    def watcher_live(self) -> bool:
        """A watcher holds the cluster and has listed every kind it watches."""
        assert self.store is not None
        for key in self.store.r.scan_iter(match=Keys.live_meta("*"), count=100):
            meta = self.store.r.hgetall(key)
            if meta.get("heartbeat") and time.time() - float(meta["heartbeat"]) < 10 and meta.get("listed") == "1":
                return True
        return False

    def redis_used_memory_mb(self) -> float:
        assert self.store is not None
        return round(int(self.store.r.info("memory")["used_memory"]) / 2**20, 1)

    def redis_memory_figures(self) -> dict[str, float]:
        """What Redis holds (used_memory), what the process occupies (RSS), its peak, and the AOF
        on disk, in MiB: the figures to size maxmemory and the volume by."""
        assert self.store is not None and self.redis is not None
        info = self.store.r.info("memory")
        persistence = self.store.r.info("persistence")
        aof_bytes = sum(f.stat().st_size for f in (self.redis.data_dir).rglob("*.aof")) if self.aof else 0
        return {
            "used_memory_mb": round(int(info["used_memory"]) / 2**20, 1),
            "used_memory_rss_mb": round(int(info["used_memory_rss"]) / 2**20, 1),
            "used_memory_peak_mb": round(int(info["used_memory_peak"]) / 2**20, 1),
            "aof_enabled": int(persistence.get("aof_enabled", 0)),
            "aof_on_disk_mb": round(aof_bytes / 2**20, 1),
        }

    def queues_idle(self) -> bool:
        """No task waiting in a queue nor reserved by a worker, and no sync holding a lock."""
        assert self.store is not None
        r = self.store.r
        if any(r.llen(q) for q in CELERY_QUEUES) or r.hlen("unacked"):
            return False
        return not any(True for _ in r.scan_iter(match=Keys.lock("*"), count=1000))

    def git_request_counts(self) -> dict[str, float] | None:
        """Remote git requests made so far by every worker (ls-remote and fetch calls), from
        the counters workers flush to Redis after each task; None when none were ever written."""
        assert self.store is not None
        raw = self.store.r.hgetall(Keys.metrics_git)
        if not raw:
            return None
        totals: dict[str, float] = {}
        for field, value in raw.items():
            request_type, _repo, measure = json.loads(field)
            if measure == "calls":
                totals[request_type] = totals.get(request_type, 0) + float(value)
        return totals

    def wait_for(self, predicate: Callable[[], Any], timeout: float, what: str, every: float = 0.5) -> Any:
        deadline = time.monotonic() + timeout
        while True:
            self.procs.check_alive()
            value = predicate()
            if value:
                return value
            if time.monotonic() > deadline:
                raise TimeoutError(f"timed out after {timeout:.0f}s waiting for {what}")
            time.sleep(every)
