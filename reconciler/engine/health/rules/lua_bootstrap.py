"""The Lua code that builds a health check's sandbox inside a Lua state (see lua_runtime.py).

Placeholders (PATTERN_COST_BUDGET, MAX_REPEATS, MEMORY_LIMIT_BYTES) are filled in by
`bootstrap_source()`. Evaluated once per runtime; it returns the runner function.
"""

from __future__ import annotations

_BOOTSTRAP = r"""
local sethook, setupvalue, getinfo = debug.sethook, debug.setupvalue, debug.getinfo
local clock, time, date, difftime = os.clock, os.time, os.date, os.difftime
local load, pcall, xpcall, error, type, pairs, tostring = load, pcall, xpcall, error, type, pairs, tostring
local string_lib, table_lib, math_lib, unpack, ipairs = string, table, math, table.unpack, ipairs

local function copy(lib, without)
  local result = {}
  for name, value in pairs(lib) do
    if name ~= without then result[name] = value end
  end
  return result
end

-- Pattern matching runs in C, where the instruction hook never fires: a pattern such as
-- ".-.-.-b" on a few hundred characters takes seconds (backtracking costs about n^(k+1)
-- for k quantifiers, "?" and "-" as much as "*" and "+"; a back-reference %1 rescans like
-- one), and a plain search costs up to n * m. Each call is refused when that worst case
-- exceeds the budget.
local sub, tostring_, max_pattern_cost = string_lib.sub, tostring, PATTERN_COST_BUDGET

local function quantifiers(pattern)
  local count, i, n, in_set = 0, 1, #pattern, false
  while i <= n do
    local c = sub(pattern, i, i)
    if c == "%" then
      local class = sub(pattern, i + 1, i + 1)
      if class == "b" then count = count + 1; i = i + 3
      elseif not in_set and class:match("^[1-9]$") then count = count + 1; i = i + 1
      else i = i + 1 end
    elseif in_set then
      if c == "]" then in_set = false end
    elseif c == "[" then
      in_set = true
      if sub(pattern, i + 1, i + 1) == "^" then i = i + 1 end
      if sub(pattern, i + 1, i + 1) == "]" then i = i + 1 end
    elseif c == "*" or c == "+" or c == "-" or c == "?" then
      count = count + 1
    end
    i = i + 1
  end
  return count
end

local function guarded(match, anchor_counts)
  return function(subject, pattern, ...)
    local plain = match == string_lib.find and select(2, ...)
    if (type(pattern) == "string" or type(pattern) == "number")
        and (type(subject) == "string" or type(subject) == "number") then
      pattern = tostring_(pattern)
      local n, m = #tostring_(subject), #pattern
      local cost = n * m
      if not plain and cost <= max_pattern_cost then  -- (counting a huge pattern costs time too)
        local k = quantifiers(pattern)
        if anchor_counts and sub(pattern, 1, 1) == "^" then k = k - 1 end
        if n ^ (k + 1) > cost then cost = n ^ (k + 1) end
      end
      if cost > max_pattern_cost then
        error("pattern " .. string_lib.format("%q", sub(pattern, 1, 40)) .. " on a string of " .. n ..
              " characters could run too long for a health check", 2)
      end
    end
    return match(subject, pattern, ...)
  end
end

-- string.rep copies in a C loop that runs `n` times even for an empty string: rep("", 2^40)
-- would never return. Refused up front: a result past the memory ceiling as Lua itself
-- would refuse it ("not enough memory"), and more than MAX_REPEATS copies of anything.
local rep, max_repeats, max_bytes = string_lib.rep, MAX_REPEATS, MEMORY_LIMIT_BYTES
local function piece_length(value)
  if type(value) == "string" or type(value) == "number" then return #tostring_(value) end
  return 0
end
local function safe_rep(s, n, sep)
  if type(n) == "number" then
    if (piece_length(s) + piece_length(sep)) * n > max_bytes then error("not enough memory", 0) end
    if n > max_repeats then
      error("string.rep of " .. string_lib.format("%.0f", n) .. " copies could run too long for a health check", 2)
    end
  end
  return rep(s, n, sep)
end

-- The table functions that loop in C over a range or a length the script chooses (a __len
-- metamethod may claim any length): refused past MAX_REPEATS elements.
local function checked_span(name, first, last)
  if type(first) == "number" and type(last) == "number" and last - first >= max_repeats then
    error("table." .. name .. " over " .. string_lib.format("%.0f", last - first + 1) ..
          " elements could run too long for a health check", 3)
  end
end
local safe_table = copy(table_lib)
for _, name in ipairs({"insert", "remove", "sort"}) do
  local original = table_lib[name]
  safe_table[name] = function(t, ...)
    if type(t) == "table" then checked_span(name, 1, #t) end
    return original(t, ...)
  end
end
safe_table.concat = function(t, sep, i, j)
  if type(t) == "table" then checked_span("concat", i or 1, j or #t) end
  return table_lib.concat(t, sep, i, j)
end
safe_table.move = function(a1, f, e, t, a2)
  checked_span("move", f, e)
  return table_lib.move(a1, f, e, t, a2)
end

local safe_string = copy(string_lib, "dump")
-- Not in the Lua 5.1 that Argo CD's checks are written for, and more C to reason about.
safe_string.pack, safe_string.unpack, safe_string.packsize = nil, nil, nil
safe_string.rep = safe_rep
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

local function sandbox_env(obj, params)
  local env = {
    obj = obj,
    actionParams = params,
    assert = assert, error = error, ipairs = ipairs, next = next, pairs = pairs,
    select = select, tonumber = tonumber, tostring = tostring, type = type,
    rawequal = rawequal, rawget = rawget, rawlen = rawlen, rawset = rawset,
    getmetatable = getmetatable, setmetatable = safe_setmetatable,
    print = function(...) end,
    unpack = unpack,
    _VERSION = _VERSION,
    string = copy(safe_string),
    table = copy(safe_table),
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
-- no metamethod of the script runs once the hook is off) or false, error message. With
-- `whole` (a resource action or its discovery), returns true and the result table itself; the
-- script's `actionParams` global is `params`.
runner = function(chunk, obj, hook_calls, seconds, hook_every, whole, params)
  exceeded = nil
  deadline_clock = clock() + seconds
  hook_calls_left = hook_calls
  instruction_budget, seconds_allowed = hook_calls * hook_every, seconds
  setupvalue(chunk, 1, sandbox_env(obj, params))
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
  if whole then return true, result end
  return true, rawget(result, "status"), rawget(result, "message")
end
return runner
"""


def bootstrap_source(pattern_cost_budget: int, max_repeats: int, memory_limit_bytes: int) -> str:
    return (
        _BOOTSTRAP.replace("PATTERN_COST_BUDGET", str(pattern_cost_budget))
        .replace("MAX_REPEATS", str(max_repeats))
        .replace("MEMORY_LIMIT_BYTES", str(memory_limit_bytes))
    )
