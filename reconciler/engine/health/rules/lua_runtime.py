"""Run an Argo CD Lua health check in a sandbox process, in a sandboxed Lua state, and read its verdict.

The contract is Argo CD's (`util/lua`): the live object is the global `obj`; the script
returns a table with `status` (Healthy, Progressing, Degraded, Suspended, Missing, Unknown)
and `message`. Anything else (a syntax error, a runtime error, a status outside that set,
an exceeded budget) becomes Unknown with the reason as the message: a check never takes
a poll down.

Why Lua 5.4 and not 5.1 (gopher-lua, which Argo CD embeds, is mostly 5.1): checks in the
wild use `goto continue`, which 5.1 lacks; `unpack` and `table.getn` are given back below.

Two walls. The outer one: every check runs in a sandbox process (reconciler.core.sandbox),
which is killed when a check outlives TIME_LIMIT_SECONDS (plus a moment for the round
trip), so a loop in C that nothing inside Lua can interrupt still ends in an Unknown
verdict within the budget, in a poll, a sync and the watcher alike. The inner one, built
once per Lua state (lua_bootstrap.py), gives the reasons:
- each call gets a fresh global table holding only `obj`, the safe base functions, copies
  of `string`, `table`, `math` (without `string.dump`: no bytecode), and `os.time`,
  `os.date`, `os.clock`, `os.difftime` (Argo CD's "safe os"). No `io`, `debug`,
  `package`, `coroutine` (a coroutine would run outside the instruction hook),
  `collectgarbage`, `dofile`, `loadfile`, `string.pack`, and no `__gc` finalizers (they
  would run later, outside any budget). `require` answers only "os" (as Argo CD preloads
  it); `load`/`loadstring` accept source text only, bound to the sandbox;
- the shared string metatable is locked, so one script cannot change `string` for the
  next one;
- an instruction budget and a time limit, enforced by a count hook that keeps failing
  once exceeded (so a `pcall` inside the script cannot swallow it);
- the C loops the hook cannot reach are refused up front when their worst case is too
  long: pattern matching (subject length to the power of the pattern's quantifiers + 1,
  `?`, `-` and back-references counted; n * m for a plain search), `string.rep` (copies,
  even of ""), and the table functions that loop over a range or a claimed length;
- a memory ceiling per call (lupa's allocator limit), so `string.rep('x', 2^30)` fails
  at once instead of taking the process's memory.

Compiled scripts are cached per runtime by their text and origin; one runtime per thread, since a
Lua state must not be entered by two threads at once.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from lupa import lua54

from reconciler.core.errors import InputError
from reconciler.core.sandbox import CPU, MEMORY, JobFailed, LimitExceeded, Limits, run_untrusted
from reconciler.engine.health.rules.lua_bootstrap import bootstrap_source
from reconciler.engine.health.rules.model import Health, HealthStatus

# Argo CD gives a script 1 s of wall time; an instruction budget also stops a tight loop
# on a machine under load, and the memory cap stops huge strings and tables.
INSTRUCTION_BUDGET = 20_000_000
TIME_LIMIT_SECONDS = 1.0
MEMORY_LIMIT_BYTES = 32 * 1024 * 1024
_HOOK_EVERY = 1000  # instructions between two checks of the budget
# Worst-case backtracking steps allowed to one string.find/match/gmatch/gsub call (they run
# in C, out of the hook's reach). Measured on this project's machines at 0.2-1 billion steps
# a second: a few seconds at the very worst, while a status message of a few hundred
# characters still takes patterns with three quantifiers.
PATTERN_COST_BUDGET = 10**9
# Copies string.rep makes, elements a table function loops over: past this, refused.
MAX_REPEATS = 10_000_000
# The sandbox process's own limits, behind the ones inside Lua: the wall-clock kill comes a
# moment after the budget (the round trip); memory covers the object's conversion too.
SANDBOX_LIMITS = Limits(memory_bytes=256 * 1024 * 1024, cpu_seconds=TIME_LIMIT_SECONDS + 1,
                        timeout_seconds=TIME_LIMIT_SECONDS + 0.25)

_COMPILED_CACHE_SIZE = 512


class LuaCheckError(InputError):
    """A script that cannot run (syntax error); the message says where."""


@dataclass(frozen=True)
class LuaScript:
    """A health check's source and where it came from, for messages."""

    source: str
    origin: str  # "argocd-cm resource.customizations.health.cert-manager.io_Certificate", a path, ...


class _Runtime:
    """One Lua state with the sandbox runner and a cache of compiled chunks."""

    def __init__(self) -> None:
        # max_memory=0 installs lupa's counting allocator without a limit; the per-call
        # limit is set around each run.
        self.lua = lua54.LuaRuntime(
            max_memory=0,
            register_eval=False,
            register_builtins=False,
            attribute_filter=_deny_python_attributes,
        )
        self.run = self.lua.execute(bootstrap_source(PATTERN_COST_BUDGET, MAX_REPEATS, MEMORY_LIMIT_BYTES))
        # The runner keeps its own references; nothing in the runtime's globals is reachable
        # from a script, but drop the dangerous ones anyway.
        for name in ("debug", "io", "os", "package", "python", "require", "dofile", "loadfile"):
            self.lua.globals()[name] = None
        self._compiled: dict[tuple[str, str], Any] = {}

    def compile(self, script: LuaScript) -> Any:
        # Keyed by origin too: the chunk's name is in its error messages.
        key = (script.source, script.origin)
        chunk = self._compiled.get(key)
        if chunk is None:
            try:
                # mode "t": text only, never precompiled bytecode.
                chunk = self.lua.compile(script.source, name=f"={script.origin}", mode="t")
            except lua54.LuaSyntaxError as error:
                raise LuaCheckError(str(error)) from None
            if len(self._compiled) >= _COMPILED_CACHE_SIZE:
                self._compiled.pop(next(iter(self._compiled)))
            self._compiled[key] = chunk
        return chunk

    def execute(self, script: LuaScript, obj: Mapping[str, Any], whole: bool = False,
                params: Mapping[str, str] | None = None, convert: Any = None) -> tuple[bool, Any]:
        """Run `script` on `obj`: (True, (status, message)) for a health check; with `whole`,
        (True, convert(result table)) for an action; (False, error message) when it fails."""
        chunk = self.compile(script)
        lua_obj = self.lua.table_from(_plain(obj), recursive=True)
        lua_params = self.lua.table_from(dict(params or {}))
        self.lua.set_max_memory(self.lua.get_memory_used() + MEMORY_LIMIT_BYTES)
        try:
            ok, *result = self.run(chunk, lua_obj, INSTRUCTION_BUDGET // _HOOK_EVERY, TIME_LIMIT_SECONDS, _HOOK_EVERY,
                                   whole, lua_params)
            if ok and whole:
                return True, convert(result[0]) if convert is not None else result[0]
            return ok, tuple(result) if ok else result[0]
        except lua54.LuaMemoryError:
            return False, _memory_message()
        finally:
            self.lua.set_max_memory(0)
            self.lua.gccollect()


def _deny_python_attributes(obj: object, name: object, is_setting: bool) -> str:
    # No Python object is ever handed to a script; should one leak, it stays opaque.
    raise AttributeError("Python attributes are not accessible from health checks")


def _plain(value: Any) -> Any:
    """JSON-like data with None dropped from maps: Lua has no null, an absent key is nil."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items() if v is not None}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    return value


def _memory_message() -> str:
    return f"health check stopped: it used more than {MEMORY_LIMIT_BYTES // (1024 * 1024)} MiB of memory"


_local = threading.local()


def runtime() -> _Runtime:
    """This thread's Lua state (resource actions run their scripts in it too)."""
    return _runtime()


def _runtime() -> _Runtime:
    runtime = getattr(_local, "runtime", None)
    if runtime is None:
        runtime = _local.runtime = _Runtime()
    return runtime


def run_health_check(script: LuaScript, obj: Mapping[str, Any]) -> Health:
    """The verdict of `script` on `obj`, judged in a sandbox process. Never raises."""
    try:
        status, message = run_untrusted(evaluate, (script.source, script.origin, obj), SANDBOX_LIMITS)
    except LimitExceeded as breach:
        if breach.limit == MEMORY:
            return Health(HealthStatus.Unknown, _memory_message())
        if breach.limit == CPU:
            return Health(HealthStatus.Unknown, f"health check stopped: it {SANDBOX_LIMITS.describe(CPU)}")
        return Health(HealthStatus.Unknown, f"health check stopped: it ran longer than {TIME_LIMIT_SECONDS} s")
    except JobFailed as error:
        return Health(HealthStatus.Unknown, f"health check {script.origin} failed: {error}")
    return Health(HealthStatus(status), str(message))


def evaluate(source: str, origin: str, obj: Mapping[str, Any]) -> list[str]:
    """In the sandbox process: [status, message] of the script on `obj`."""
    health = judge(LuaScript(source, origin), obj)
    return [health.status.value, health.message]


def judge(script: LuaScript, obj: Mapping[str, Any]) -> Health:
    """The verdict of `script` on `obj` in this process's Lua state. Never raises."""
    try:
        ok, result = _runtime().execute(script, obj)
    except LuaCheckError as error:
        return Health(HealthStatus.Unknown, f"health check {script.origin} does not compile: {error}")
    except Exception as error:  # lupa conversion errors and the like: a verdict, not a crash
        return Health(HealthStatus.Unknown, f"health check {script.origin} failed: {type(error).__name__}: {error}")
    if not ok:
        if result == "not enough memory":
            return Health(HealthStatus.Unknown, _memory_message())
        return Health(HealthStatus.Unknown, str(result))
    return _to_health(*result)


@lru_cache(maxsize=8)
def _valid_statuses() -> frozenset[str]:
    return frozenset(status.value for status in HealthStatus)


def _to_health(status: Any, message: Any) -> Health:
    if not isinstance(status, str) or status not in _valid_statuses():
        # Argo CD's own wording for this case.
        return Health(HealthStatus.Unknown, "Lua returned an invalid health status")
    if message is None:
        text = ""
    elif isinstance(message, str):
        text = message
    elif isinstance(message, bool) or not isinstance(message, int | float):
        text = ""
    else:
        text = str(int(message)) if isinstance(message, float) and message.is_integer() else str(message)
    return Health(HealthStatus(status), text)
