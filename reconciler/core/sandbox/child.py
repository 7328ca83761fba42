"""The sandbox's child process: runs one job at a time under the limits its parent sends.

Started by pool.py as `python -I -c ...` with a clean environment. It dies with its parent
(PR_SET_PDEATHSIG), imports the job module it was started for, says it is ready, then
answers requests until its stdin closes. Before each job it lowers its own soft limits:
RLIMIT_DATA to what it holds now plus the job's memory, RLIMIT_CPU to the CPU it has used
plus the job's seconds; after the job it raises them again (a soft limit may go back up to
the hard one, which stays unlimited). A job that exceeds them dies here: a Go runtime
aborts with "out of memory" or "SIGXCPU", Python raises MemoryError or gets SIGXCPU; the
parent reads the cause from the exit status and the first lines of stderr.
"""

from __future__ import annotations

import ctypes
import importlib
import json
import os
import pickle
import resource
import signal
import sys
from collections.abc import Callable
from typing import Any, BinaryIO

from reconciler.core.sandbox.frames import read_frame_blocking, write_frame

_PR_SET_PDEATHSIG = 1
# Files a job writes (scratch copies of a chart, say) stay below this: it cannot fill the disk.
MAX_FILE_BYTES = 256 * 1024 * 1024
_ALLOWED_PREFIX = "reconciler."
WARM_UP = "sandbox_warm_up"  # a job module's function the child calls once, before any job
_MESSAGE_LIMIT = 500


def data_bytes() -> int:
    """This process's VmData: the memory RLIMIT_DATA counts."""
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmData:"):
                return int(line.split()[1]) * 1024
    return 0


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def describe_process() -> dict[str, object]:
    """A job that tells what a sandboxed job sees: its process, parent, environment variables
    (names only) and open descriptors. For checking the sandbox itself."""
    return {
        "pid": os.getpid(),
        "parent": os.getppid(),
        "environment": sorted(os.environ),
        "descriptors": sorted(int(fd) for fd in os.listdir("/proc/self/fd")),
    }


def _die_with_parent(parent: int) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent:  # the parent died before prctl took effect
        os._exit(1)


def _resolve(reference: str) -> Callable[..., Any]:
    module_name, _, qualname = reference.partition(":")
    if not module_name.startswith(_ALLOWED_PREFIX):
        raise ValueError(f"jobs come from {_ALLOWED_PREFIX}* modules only, not {module_name!r}")
    target: Any = importlib.import_module(module_name)
    for part in qualname.split("."):
        target = getattr(target, part)
    if not callable(target):
        raise TypeError(f"{reference} is not callable")
    return target  # type: ignore[no-any-return]


def _soft(which: int, wanted: int) -> None:
    """Set the soft limit `which` to `wanted`, or to the hard limit when that is lower (a
    container may set one): the job gets the lesser of the two."""
    _, hard = resource.getrlimit(which)
    resource.setrlimit(which, (wanted if hard == resource.RLIM_INFINITY else min(wanted, hard), hard))


def _limit(memory_bytes: int, cpu: float) -> None:
    _soft(resource.RLIMIT_DATA, data_bytes() + memory_bytes)
    _soft(resource.RLIMIT_CPU, int(cpu_seconds() + cpu) + 1)


def _unlimit() -> None:
    for which in (resource.RLIMIT_DATA, resource.RLIMIT_CPU):
        _, hard = resource.getrlimit(which)
        resource.setrlimit(which, (hard, hard))


def _answer(reference: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any]:
    try:
        return {"ok": _resolve(reference)(*args, **kwargs)}
    except MemoryError:
        raise
    except Exception as exc:  # reported as the job's failure; the process goes on serving
        return {"failed": f"{type(exc).__name__}: {' '.join(str(exc).split())[:_MESSAGE_LIMIT]}"}


def _serve(requests: BinaryIO, answers: BinaryIO) -> None:
    while True:
        frame = read_frame_blocking(requests)
        if frame is None:
            return
        reference, args, kwargs, memory_bytes, cpu = pickle.loads(frame)
        try:
            _limit(memory_bytes, cpu)
            answer = _answer(reference, args, kwargs)
            # What the parent needs to judge the next job and this process: CPU used so far
            # (a CPU breach is read against it) and its memory now (a grown process is retired).
            answer |= {"cpu": cpu_seconds(), "data": data_bytes()}
            payload = json.dumps(answer, separators=(",", ":")).encode()
        except MemoryError:
            _unlimit()
            write_frame(answers, b'{"limit":"memory"}')
            os._exit(3)  # a heap that hit its limit once is not trusted with the next job
        except (TypeError, ValueError) as exc:
            payload = json.dumps({"failed": f"the job's answer is not JSON: {exc}"[:_MESSAGE_LIMIT]}).encode()
        _unlimit()
        write_frame(answers, payload)


def main() -> None:
    parent, warm = int(sys.argv[1]), sys.argv[2:]
    _die_with_parent(parent)
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    resource.setrlimit(resource.RLIMIT_FSIZE, (MAX_FILE_BYTES, MAX_FILE_BYTES))
    requests = os.fdopen(0, "rb", buffering=0)
    answers = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # whatever a library prints goes to the log, never into the answers
    for module in warm:
        # A job module may load what its jobs need up front (a Go runtime: a hundred MiB), so that
        # it is counted in the process's memory before the first job's limit, not against it.
        warm_up = getattr(importlib.import_module(module), WARM_UP, None)
        if callable(warm_up):
            warm_up()
    write_frame(answers, json.dumps({"ready": True, "cpu": cpu_seconds(), "data": data_bytes()}).encode())
    _serve(requests, answers)
