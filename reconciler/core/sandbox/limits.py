"""What one sandboxed job may use, and the errors that say it used more.

A job runs in a child process (pool.py): its memory is held by RLIMIT_DATA (which counts
every private writable mapping, so it also holds a Go runtime's heap, unlike RLIMIT_AS,
which Go's address-space reservations of gigabytes would trip at once), its CPU by
RLIMIT_CPU, and its wall-clock time by the parent, which kills it at the deadline.
"""

from __future__ import annotations

from dataclasses import dataclass

from reconciler.core.errors import InputError

MEMORY, CPU, TIME = "memory", "cpu", "time"


@dataclass(frozen=True)
class Limits:
    """`memory_bytes` the job may add to its process, `cpu_seconds` of CPU, `timeout_seconds`
    of wall-clock time from the moment it is handed to a ready process."""

    memory_bytes: int
    cpu_seconds: float
    timeout_seconds: float

    def describe(self, limit: str) -> str:
        """`needed more than 256 MiB of memory`, for messages: "stopped: it ..."."""
        if limit == MEMORY:
            return f"needed more than {format_bytes(self.memory_bytes)} of memory"
        if limit == CPU:
            return f"used more than {self.cpu_seconds:g} s of CPU time"
        return f"ran longer than {self.timeout_seconds:g} s"


class SandboxError(InputError):
    """A sandboxed job did not give an answer."""


class LimitExceeded(SandboxError):
    """The job was stopped for using more than its `limit` ("memory", "cpu" or "time") allows."""

    def __init__(self, limit: str, limits: Limits) -> None:
        super().__init__(f"stopped: it {limits.describe(limit)}")
        self.limit = limit
        self.limits = limits


class JobFailed(SandboxError):
    """The job raised an exception the job itself did not turn into an answer, or its process
    died for a reason that is not a limit. The message is ours (type and exit status), never
    a dump of what the process wrote."""


def format_bytes(count: int) -> str:
    for unit, size in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if count >= size and count % size == 0:
            return f"{count // size} {unit}"
    if count >= 1 << 20:
        return f"{count / (1 << 20):.1f} MiB"
    return f"{count} bytes"
