"""Child processes that run untrusted work under limits, kept warm between jobs.

`run_untrusted(fn, args, limits)` runs `fn(*args)` (a module-level function of a
`reconciler.*` module) in a child process of this process and returns its JSON-safe
answer, or raises LimitExceeded (memory, CPU, wall-clock time) or JobFailed. A breach ends
the child, never the caller.

Processes are kept per job module (a Helm process has loaded Helm's Go runtime, a Lua one
its interpreter), up to MAX_IDLE idle ones each, so a job usually costs one round trip to a
ready process rather than a Python start and an import. A process is retired after
MAX_JOBS jobs, when its memory grew by half a job's allowance, or when a job in it failed
in a way that leaves it suspect (a limit, a timeout).

Children start with a clean environment (no REDIS_URL, no credentials, no RECONCILER_*),
a private HOME and TMPDIR, no descriptors of ours but three pipes, and die with this
process (PR_SET_PDEATHSIG, set from one long-lived spawner thread because the signal is
tied to the thread that forked). After a fork (Celery's prefork pool) a process starts
its own children: it never uses its parent's.
"""

from __future__ import annotations

import atexit
import concurrent.futures
import json
import os
import pickle
import queue
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import IO, Any

from reconciler.core.sandbox.frames import FrameTimeout, FrameTooLarge, read_frame_until, write_frame
from reconciler.core.sandbox.limits import CPU, MEMORY, TIME, JobFailed, LimitExceeded, Limits, SandboxError

MAX_IDLE = 2
MAX_JOBS = 1000
SPAWN_TIMEOUT_SECONDS = 60.0
_REAP_SECONDS = 5.0
_LOG_PEEK = 4096
_BOOT = (
    "import json, sys; sys.path[:] = json.loads(sys.argv[1]); del sys.argv[1]; "
    "from reconciler.core.sandbox.child import main; main()"
)
# What a runtime prints when the address-space limit refuses it memory: Python, C++, glibc, and
# Go (its heap, its arena map, or the stack of a new thread: `pthread_create failed`).
_MEMORY_WORDS = (
    "out of memory", "memoryerror", "cannot allocate memory", "bad_alloc", "not enough memory",
    "cannot map pages", "failed to create new os thread", "pthread_create failed",
)


def clean_environment(home: str) -> dict[str, str]:
    """The whole environment of a child: nothing of ours (no secrets, no Redis URL) leaks in."""
    return {
        "PATH": os.environ.get("PATH", os.defpath),
        "HOME": home,
        "TMPDIR": home,
        "LANG": "C.UTF-8",
        "PYTHONDONTWRITEBYTECODE": "1",
        # A Go runtime that aborts (out of memory, SIGXCPU) says why in one line, without
        # dumping every goroutine into the log.
        "GOTRACEBACK": "none",
    }


@dataclass
class _Process:
    proc: subprocess.Popen[bytes]
    log: IO[bytes]
    cpu: float  # CPU seconds it had used before the job it runs now
    data: int  # its VmData when it became ready
    jobs: int = 0
    grown: bool = field(default=False)

    @property
    def alive(self) -> bool:
        return self.proc.poll() is None

    def log_text(self) -> str:
        fd = self.log.fileno()
        size = os.fstat(fd).st_size
        head = os.pread(fd, _LOG_PEEK, 0)
        tail = os.pread(fd, _LOG_PEEK, max(size - _LOG_PEEK, _LOG_PEEK)) if size > _LOG_PEEK else b""
        return (head + b"\n" + tail).decode(errors="replace")

    def reap(self) -> tuple[int, Any]:
        """(wait status, rusage) of the ended process; killed first when it lingers."""
        deadline = time.monotonic() + _REAP_SECONDS
        while True:
            try:
                pid, status, usage = os.wait4(self.proc.pid, os.WNOHANG)
            except ChildProcessError:  # reaped already (Popen.poll)
                return (self.proc.returncode or 0) << 8, None
            if pid:
                self.proc.returncode = os.waitstatus_to_exitcode(status)
                return status, usage
            if time.monotonic() > deadline:
                self.proc.kill()
                deadline = float("inf")
            time.sleep(0.01)

    def close(self) -> None:
        if self.alive:
            self.proc.kill()
            self.reap()
        for stream in (self.proc.stdin, self.proc.stdout):
            if stream is not None:
                stream.close()
        self.log.close()


class _Spawner:
    """One long-lived thread that starts every child: PR_SET_PDEATHSIG, which ends a child
    when its parent dies, fires when the *thread* that forked it ends, and worker threads
    (a watcher's, a thread pool's) may end while this process lives on."""

    def __init__(self) -> None:
        self._requests: queue.SimpleQueue[tuple[Callable[[], Any], concurrent.futures.Future[Any]]] = (
            queue.SimpleQueue()
        )
        threading.Thread(target=self._serve, name="sandbox-spawner", daemon=True).start()

    def _serve(self) -> None:
        while True:
            task, future = self._requests.get()
            if future.set_running_or_notify_cancel():
                try:
                    future.set_result(task())
                except BaseException as exc:
                    future.set_exception(exc)

    def submit(self, task: Callable[[], Any]) -> concurrent.futures.Future[Any]:
        future: concurrent.futures.Future[Any] = concurrent.futures.Future()
        self._requests.put((task, future))
        return future


class SandboxPool:
    """The warm processes of one job module."""

    def __init__(self, module: str, spawner: _Spawner, home: str) -> None:
        self.module = module
        self._spawner = spawner
        self._home = home
        self._idle: list[_Process] = []
        self._lock = threading.Lock()

    def run(self, reference: str, args: tuple[Any, ...], kwargs: dict[str, Any], limits: Limits) -> Any:
        process = self._take()
        try:
            answer = self._ask(process, reference, args, kwargs, limits)
        except BaseException:
            process.close()
            raise
        self._give_back(process)
        if "failed" in answer:
            raise JobFailed(str(answer["failed"]))
        return answer.get("ok")

    def prewarm(self) -> None:
        """Start one process in the background when none is idle."""
        with self._lock:
            if self._idle:
                return
        self._spawner.submit(lambda: self._give_back(self._spawn()))

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for process in idle:
            process.close()

    def _take(self) -> _Process:
        with self._lock:
            while self._idle:
                process = self._idle.pop()
                if process.alive:
                    return process
                process.close()
        return self._spawner.submit(self._spawn).result()  # type: ignore[no-any-return]

    def _give_back(self, process: _Process) -> None:
        if process.grown or process.jobs >= MAX_JOBS or not process.alive:
            process.close()
            return
        with self._lock:
            if len(self._idle) < MAX_IDLE:
                self._idle.append(process)
                return
        process.close()

    def _spawn(self) -> _Process:
        fd, path = tempfile.mkstemp(prefix="sandbox-", suffix=".log", dir=self._home)
        os.close(fd)
        log = open(path, "a+b")  # noqa: SIM115 - owned by the _Process; O_APPEND: truncation per job works
        os.unlink(path)
        proc = subprocess.Popen(
            [sys.executable, "-I", "-c", _BOOT, json.dumps([p for p in sys.path if p]), str(os.getpid()), self.module],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log,
            env=clean_environment(self._home), cwd=self._home, close_fds=True,
        )  # fmt: skip
        process = _Process(proc=proc, log=log, cpu=0.0, data=0)
        try:
            assert proc.stdout is not None
            frame = read_frame_until(proc.stdout.fileno(), time.monotonic() + SPAWN_TIMEOUT_SECONDS)
        except (FrameTimeout, FrameTooLarge):
            frame = None
        ready = json.loads(frame) if frame else {}
        if not ready.get("ready"):
            first_line = (process.log_text().strip().splitlines() or ["no output"])[-1][:300]
            process.close()
            raise JobFailed(f"the sandbox process for {self.module} did not start: {first_line}")
        process.cpu, process.data = float(ready["cpu"]), int(ready["data"])
        return process

    def _ask(
        self, process: _Process, reference: str, args: tuple[Any, ...], kwargs: dict[str, Any], limits: Limits
    ) -> dict[str, Any]:
        payload = pickle.dumps((reference, args, kwargs, limits.memory_bytes, limits.cpu_seconds))
        os.ftruncate(process.log.fileno(), 0)
        process.jobs += 1
        assert process.proc.stdin is not None and process.proc.stdout is not None
        frame: bytes | None = None
        try:
            write_frame(process.proc.stdin, payload)
            frame = read_frame_until(process.proc.stdout.fileno(), time.monotonic() + limits.timeout_seconds)
        except FrameTimeout:
            process.proc.kill()
            process.reap()
            raise LimitExceeded(TIME, limits) from None
        except FrameTooLarge as exc:
            raise JobFailed(f"the job's answer was refused: {exc}") from None
        except (BrokenPipeError, ConnectionResetError):
            frame = None
        if frame is None:
            status, usage = process.reap()
            raise _cause_of_death(process, status, usage, limits)
        answer: dict[str, Any] = json.loads(frame)
        if "limit" in answer:
            raise LimitExceeded(str(answer["limit"]), limits)
        process.cpu = float(answer.get("cpu", process.cpu))
        process.grown = int(answer.get("data", 0)) > process.data + limits.memory_bytes // 2
        return answer


def _cause_of_death(process: _Process, status: int, usage: Any, limits: Limits) -> SandboxError:
    """Which limit a child that died during a job ran into, from its exit and its log."""
    text = process.log_text()
    signalled = os.WIFSIGNALED(status)
    number = os.WTERMSIG(status) if signalled else 0
    used = (usage.ru_utime + usage.ru_stime - process.cpu) if usage is not None else 0.0
    if number == signal.SIGXCPU or "SIGXCPU" in text or used >= limits.cpu_seconds:
        return LimitExceeded(CPU, limits)
    if any(word in text.lower() for word in _MEMORY_WORDS):
        return LimitExceeded(MEMORY, limits)
    if number == signal.SIGKILL:  # not ours (we kill only at the deadline): most likely the OOM killer
        return JobFailed("its process was killed (SIGKILL): the machine or container may have run out of memory")
    if signalled:
        return JobFailed(f"its process was killed by {signal.Signals(number).name}")
    return JobFailed(f"its process ended with exit status {os.WEXITSTATUS(status)}")


# -- the pools of this process -----------------------------------------------------------

_guard = threading.Lock()
_owner = 0
_pools: dict[str, SandboxPool] = {}
_spawner: _Spawner | None = None
_home = ""


def pool_for(module: str) -> SandboxPool:
    """This process's pool for `module`, made on first use (again after a fork)."""
    global _owner, _spawner, _home
    with _guard:
        if _owner != os.getpid():
            # A forked process: the parent's children, threads and HOME are not ours to use.
            _pools.clear()
            _owner, _spawner = os.getpid(), _Spawner()
            _home = tempfile.mkdtemp(prefix="reconciler-sandbox-")
            atexit.register(_shutdown, os.getpid())
        pool = _pools.get(module)
        if pool is None:
            assert _spawner is not None
            pool = _pools[module] = SandboxPool(module, _spawner, _home)
        return pool


def _shutdown(owner: int) -> None:
    if owner != os.getpid():
        return
    with _guard:
        pools = list(_pools.values())
        _pools.clear()
    for pool in pools:
        pool.close()
    shutil.rmtree(_home, ignore_errors=True)


def reference_of(fn: Callable[..., Any]) -> str:
    module, qualname = getattr(fn, "__module__", ""), getattr(fn, "__qualname__", "")
    if not module.startswith("reconciler.") or "<" in qualname:
        raise ValueError(f"{fn!r} is not a module-level function of a reconciler.* module: it cannot be sandboxed")
    return f"{module}:{qualname}"


def run_untrusted(
    fn: Callable[..., Any], args: tuple[Any, ...] = (), limits: Limits | None = None,
    kwargs: dict[str, Any] | None = None,
) -> Any:  # fmt: skip
    """`fn(*args, **kwargs)` in a sandboxed child process under `limits`.

    `fn` must be a module-level function of a `reconciler.*` module; args are pickled to
    the child, the answer comes back as JSON (tuples become lists). Raises LimitExceeded
    naming the limit, or JobFailed (an exception `fn` did not handle, with its type and
    message; or a process that died otherwise). The caller's process is never at risk.
    """
    if limits is None:
        raise ValueError("run_untrusted needs limits")
    reference = reference_of(fn)
    return pool_for(fn.__module__).run(reference, tuple(args), dict(kwargs or {}), limits)


def prewarm(fn: Callable[..., Any]) -> None:
    """Start a process for `fn`'s module in the background, so a first job finds it ready."""
    reference_of(fn)
    pool_for(fn.__module__).prewarm()
