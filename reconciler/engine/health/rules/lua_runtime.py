"""Run an Argo CD Lua health check in-process, sandboxed, and read its verdict.

The contract is Argo CD's (`util/lua`): the live object is the global `obj`; the script
returns a table with `status` (Healthy, Progressing, Degraded, Suspended, Missing, Unknown)
and `message`. Anything else (a syntax error, a runtime error, a status outside that set,
an exceeded budget) becomes Unknown with the reason as the message: a check never takes
a poll down.

Why Lua 5.4 and not 5.1 (gopher-lua, which Argo CD embeds, is mostly 5.1): checks in the
wild use `goto continue`, which 5.1 lacks; `unpack` and `table.getn` are given back below.

The sandbox, built once per runtime (see `_BOOTSTRAP`):
- each call gets a fresh global table holding only `obj`, the safe base functions, copies
  of `string`, `table`, `math` (without `string.dump`: no bytecode), and `os.time`,
  `os.date`, `os.clock`, `os.difftime` (Argo CD's "safe os"). No `io`, `debug`,
  `package`, `coroutine` (a coroutine would run outside the instruction hook),
  `collectgarbage`, `dofile`, `loadfile`, and no `__gc` finalizers (they would run
  later, outside any budget). `require` answers only "os" (as Argo CD
  preloads it); `load`/`loadstring` accept source text only, bound to the sandbox;
- the shared string metatable is locked, so one script cannot change `string` for the
  next one;
- an instruction budget and a wall-clock limit, enforced by a count hook that keeps
  failing once exceeded (so a `pcall` inside the script cannot swallow it);
- pattern matching (C code the hook cannot interrupt) refused when its worst case
  (subject length to the power of the pattern's quantifiers + 1) exceeds a budget;
- a memory ceiling per call (lupa's allocator limit), so `string.rep('x', 2^30)` fails
  at once instead of taking the worker's memory.

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

_COMPILED_CACHE_SIZE = 512

_BOOTSTRAP = r"""
local sethook, setupvalue, getinfo = debug.sethook, debug.setupvalue, debug.getinfo
local clock, time, date, difftime = os.clock, os.time, os.date, os.difftime
local load, pcall, xpcall, error, type, pairs, tostring = load, pcall, xpcall, error, type, pairs, tostring
local string_lib, table_lib, math_lib, unpack = string, table, math, table.unpack

local function copy(lib, without)
  local result = {}
  for name, value in pairs(lib) do
    if name ~= without then result[name] = value end
  end
  return result
end

-- Pattern matching runs in C, where the instruction hook never fires: a pattern such as
-- ".-.-.-b" on a few hundred characters takes seconds (backtracking costs about n^(k+1)
-- for k quantifiers). Each call is refused when that worst case exceeds the budget.
local sub, tostring_, max_pattern_cost = string_lib.sub, tostring, PATTERN_COST_BUDGET

local function quantifiers(pattern)
  local count, i, n, in_set = 0, 1, #pattern, false
  while i <= n do
    local c = sub(pattern, i, i)
    if c == "%" then
      if sub(pattern, i + 1, i + 1) == "b" then count = count + 1; i = i + 3 else i = i + 1 end
    elseif in_set then
      if c == "]" then in_set = false end
    elseif c == "[" then
      in_set = true
      if sub(pattern, i + 1, i + 1) == "^" then i = i + 1 end
      if sub(pattern, i + 1, i + 1) == "]" then i = i + 1 end
    elseif c == "*" or c == "+" or c == "-" then
      count = count + 1
    end
    i = i + 1
  end
  return count
end

local function guarded(match, anchor_counts)
  return function(subject, pattern, ...)
    local plain = select(2, ...)
    if not (match == string_lib.find and plain) and type(pattern) == "string"
        and (type(subject) == "string" or type(subject) == "number") then
      local n = #tostring_(subject)
      local k = quantifiers(pattern)
      if anchor_counts and sub(pattern, 1, 1) == "^" then k = k - 1 end
      if n ^ (k + 1) > max_pattern_cost then
        error("pattern " .. string_lib.format("%q", sub(pattern, 1, 40)) .. " on a string of " .. n ..
              " characters could run too long for a health check", 2)
      end
    end
    return match(subject, pattern, ...)
  end
end

local safe_string = copy(string_lib, "dump")
safe_string.find = guarded(string_lib.find, true)
safe_string.match = guarded(string_lib.match, true)
safe_string.gmatch = guarded(string_lib.gmatch, false)
safe_string.gsub = guarded(string_lib.gsub, true)

-- Methods on strings ("x"):find(...) use the guarded functions too; the metatable is
-- locked so a script cannot reach or change this shared table through getmetatable("").
getmetatable("").__index = safe_string
getmetatable("").__metatable = false

-- A finalizer (__gc) runs whenever the collector decides, outside any budget: refused.
-- Lua marks an object for finalization only if __gc is there when setmetatable is called.
local setmetatable_ = setmetatable
local function safe_setmetatable(t, mt)
  if type(mt) == "table" and rawget(mt, "__gc") ~= nil then
    error("__gc metamethods are not allowed in health checks", 2)
  end
  return setmetatable_(t, mt)
end

local exceeded = nil
local deadline_clock, hook_calls_left, instruction_budget, seconds_allowed = 0, 0, 0, 0

local function rethrow_budget(ok, ...)
  if exceeded then error(exceeded, 0) end
  return ok, ...
end

local function sandbox_env(obj)
  local env = {
    obj = obj,
    assert = assert, error = error, ipairs = ipairs, next = next, pairs = pairs,
    select = select, tonumber = tonumber, tostring = tostring, type = type,
    rawequal = rawequal, rawget = rawget, rawlen = rawlen, rawset = rawset,
    getmetatable = getmetatable, setmetatable = safe_setmetatable,
    print = function(...) end,
    unpack = unpack,
    _VERSION = _VERSION,
    string = copy(safe_string),
    table = copy(table_lib),
    math = copy(math_lib),
    utf8 = copy(utf8),
  }
  env.table.getn = function(t) return #t end
  local safe_os = {time = time, date = date, clock = clock, difftime = difftime}
  env.os = safe_os
  env.pcall = function(...) return rethrow_budget(pcall(...)) end
  env.xpcall = function(...) return rethrow_budget(xpcall(...)) end
  env.require = function(name)
    if name == "os" then return safe_os end
    error("require is not available in health checks (asked for '" .. tostring(name) .. "')", 2)
  end
  env.load = function(chunk, name, mode, _)
    if type(chunk) ~= "string" and type(chunk) ~= "function" then
      return nil, "load expects source text"
    end
    return load(chunk, name, "t", env)
  end
  env.loadstring = env.load
  env._G = env
  return env
end

local runner -- the function returned below; the hook never fails inside it

local function check_budget()
  if exceeded == nil then
    if clock() <= deadline_clock and hook_calls_left > 0 then
      hook_calls_left = hook_calls_left - 1
      return
    end
    if hook_calls_left <= 0 then
      exceeded = "health check stopped: it ran more than " .. instruction_budget .. " Lua instructions"
    else
      exceeded = "health check stopped: it ran longer than " .. seconds_allowed .. " s"
    end
    -- From now on fail at every instruction, so no pcall in the script can outlast it.
    sethook(check_budget, "", 1)
  end
  local running = getinfo(2, "f")
  if running and running.func == runner then return end
  error(exceeded, 0)
end

local function message_of(err)
  if type(err) == "string" then return err end
  local ok, text = pcall(tostring, err)
  if ok and type(text) == "string" then return text end
  return "error of type " .. type(err)
end

-- Runs a compiled chunk against a fresh sandbox. Returns true, status, message (read raw:
-- no metamethod of the script runs once the hook is off) or false, error message.
runner = function(chunk, obj, hook_calls, seconds, hook_every)
  exceeded = nil
  deadline_clock = clock() + seconds
  hook_calls_left = hook_calls
  instruction_budget, seconds_allowed = hook_calls * hook_every, seconds
  setupvalue(chunk, 1, sandbox_env(obj))
  sethook(check_budget, "", hook_every)
  local ok, result = pcall(chunk)
  local message
  -- Still under the hook: an error object's __tostring is the script's code too.
  if not ok and not exceeded then message = message_of(result) end
  sethook()
  if exceeded then return false, exceeded end
  if not ok then return false, message end
  if type(result) ~= "table" then
    return false, "expect table output from Lua script, not " .. type(result)
  end
  return true, rawget(result, "status"), rawget(result, "message")
end
return runner
"""


class LuaCheckError(Exception):
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
        self.run = self.lua.execute(_BOOTSTRAP.replace("PATTERN_COST_BUDGET", str(PATTERN_COST_BUDGET)))
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

    def execute(self, script: LuaScript, obj: Mapping[str, Any]) -> tuple[bool, Any]:
        chunk = self.compile(script)
        lua_obj = self.lua.table_from(_plain(obj), recursive=True)
        self.lua.set_max_memory(self.lua.get_memory_used() + MEMORY_LIMIT_BYTES)
        try:
            ok, *result = self.run(chunk, lua_obj, INSTRUCTION_BUDGET // _HOOK_EVERY, TIME_LIMIT_SECONDS, _HOOK_EVERY)
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


def _runtime() -> _Runtime:
    runtime = getattr(_local, "runtime", None)
    if runtime is None:
        runtime = _local.runtime = _Runtime()
    return runtime


def run_health_check(script: LuaScript, obj: Mapping[str, Any]) -> Health:
    """The verdict of `script` on `obj`. Never raises."""
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
