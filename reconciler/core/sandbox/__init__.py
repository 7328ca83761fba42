"""Run untrusted work (a Helm chart's templates, Jsonnet, a Lua health check) in child
processes with memory, CPU-time and wall-clock limits and a clean environment.

    run_untrusted(fn, args, limits) -> answer      fn: a module-level reconciler.* function
    prewarm(fn)                                     start a process for fn's module ahead of need
    Limits(memory_bytes, cpu_seconds, timeout_seconds)
    LimitExceeded(limit in "memory" | "cpu" | "time"), JobFailed

See pool.py for how processes are kept and child.py for what runs in them.
"""

from reconciler.core.sandbox.limits import CPU, MEMORY, TIME, JobFailed, LimitExceeded, Limits, SandboxError
from reconciler.core.sandbox.pool import prewarm, run_untrusted

__all__ = [
    "CPU",
    "MEMORY",
    "TIME",
    "JobFailed",
    "LimitExceeded",
    "Limits",
    "SandboxError",
    "prewarm",
    "run_untrusted",
]
