"""The sandbox Argo CD ``health.lua`` scripts run in (``lupa``, Lua 5.4).

Globals hold only the base functions, ``string``, ``table`` and ``math`` —
no ``os``, ``io``, ``require``, ``load``, ``debug``, ``pcall`` or coroutines.
Three bounds stop a script that would not end:

- an instruction budget (a count hook, :data:`INSTRUCTIONS` per object);
- a memory limit on the whole Lua state (:data:`MEMORY`);
- a budget for Lua's pattern matcher (:data:`PATTERN_STEPS` per object).
  ``string.find``, ``match``, ``gmatch`` and ``gsub`` run in C, where the
  count hook never fires, and a pattern of several repeated items
  backtracks polynomially (``.-.-.-x``) or exponentially (``a?a?a?…aaa``)
  in the subject's length.  Before each call the wrapper bounds the
  matcher's work: quickly (the start positions it will try, times each
  repeated item's choices: one plus the longest run of the subject's
  characters the item matches, two for ``?``), and when that is over the
  budget, closely (the ways each item of the pattern can be reached at each
  position of the subject, counted as Lua's backtracking matcher would
  walk them when nothing matches).  A call whose bound is over what is left
  of the budget is refused with an error naming the function, the pattern
  and the figure.  The bound is conservative: it assumes no match, so a
  long subject matched by a pattern of several repeated items may be
  refused although the match would have ended early.  A pattern of one
  item costs the subject's length; a plain ``find`` (or a pattern without
  special characters) the subject's length plus the pattern's for each
  place its first character appears.
"""

from __future__ import annotations

import threading
from typing import Any

import lupa.lua54 as lua

INSTRUCTIONS = 1_000_000  # a script's instruction budget per object (a loop that never ends is stopped)
MEMORY = 32 * 1024 * 1024  # the Lua state's memory limit, in bytes
PATTERN_STEPS = 10_000_000  # the pattern matcher's budget per object, in the bound's steps (~0.5 s of C)

_SANDBOX = """
local limit, pattern_limit = ...
local sfind, smatch, sgmatch, sgsub, ssub = string.find, string.match, string.gmatch, string.gsub, string.sub
local left = pattern_limit
-- the close bound costs about 20 of the script's instructions per character and item
local CLOSE_LIMIT = 20000

-- where a character class or set item that starts at i ends (the index past it)
local function item_end(p, i)
  local c = ssub(p, i, i)
  if c == "%" then
    if i == #p then error("malformed pattern (ends with '%')", 0) end
    return i + 2
  end
  if c ~= "[" then return i + 1 end
  local k = i + 1
  if ssub(p, k, k) == "^" then k = k + 1 end
  repeat
    if k > #p then error("malformed pattern (missing ']')", 0) end
    local ch = ssub(p, k, k)
    k = k + 1
    if ch == "%" then k = k + 1 end
  until ssub(p, k, k) == "]"
  return k + 1
end

-- the items of pattern p: {kind = "char" | "any" | "zero", pat = a trusted one-character pattern,
-- q = its quantifier}
local function parse(p, anchored)
  local items, i, anchor = {}, 1, false
  if anchored and ssub(p, 1, 1) == "^" then anchor, i = true, 2 end
  while i <= #p do
    local c, d = ssub(p, i, i), ssub(p, i + 1, i + 1)
    if c == "(" or c == ")" or (c == "$" and i == #p) then
      i = i + 1
    elseif c == "%" and d == "b" then  -- a balanced run: any length, found by a linear scan
      if i + 3 > #p then error("malformed pattern (missing arguments to '%b')", 0) end
      items[#items + 1], i = {kind = "any"}, i + 4
    elseif c == "%" and d == "f" then  -- a frontier: zero width
      if ssub(p, i + 2, i + 2) ~= "[" then error("missing '[' after '%f' in pattern", 0) end
      items[#items + 1], i = {kind = "zero"}, item_end(p, i + 2)
    elseif c == "%" and sfind(d, "^%d") then  -- a back-reference: any length
      items[#items + 1], i = {kind = "any"}, i + 2
    else
      local j = item_end(p, i)
      local class, q = ssub(p, i, j - 1), ssub(p, j, j)
      if #class == 1 and sfind(class, "^%p") and class ~= "." then class = "%" .. class end
      local it = {kind = "char", pat = "^" .. class, dot = class == ".", q = ""}
      if q == "*" or q == "+" or q == "-" or q == "?" then it.q, j = q, j + 1 end
      items[#items + 1], i = it, j
    end
  end
  return items, anchor
end

-- a quick bound: the starts, times each repeated item's choices (its longest run in s, plus one)
local function quick(s, items, anchor)
  local n, product = #s, anchor and 1 or #s + 1
  local first = items[1]
  if not anchor and first and first.kind == "char" and first.q == "" and not first.dot then
    product = select(2, sgsub(s, ssub(first.pat, 2), "")) + 1  -- only where the first item matches
  end
  for _, it in ipairs(items) do
    if it.kind == "any" then
      product = product * (n + 1)
    elseif it.q == "?" then
      product = product * 2
    elseif it.q ~= "" then
      local best = it.dot and n or 0
      if not it.dot then
        for run in sgmatch(s, ssub(it.pat, 2) .. "+") do
          if #run > best then best = #run end
        end
      end
      product = product * (best + 1)
    end
    if product > pattern_limit then return product end
  end
  return product
end

-- a close bound: the matcher's calls, counted by the ways each item can be reached at each position
local function close(s, items, anchor)
  local n, ways, total = #s, {}, 0
  for j = 1, n + 1 do ways[j] = (anchor and j > 1) and 0.0 or 1.0 end
  for _, it in ipairs(items) do
    local nxt, run = {}, {}
    for j = 1, n + 1 do nxt[j] = 0.0 end
    run[n + 1] = 0
    for j = n, 1, -1 do
      run[j] = (it.kind == "any" or it.dot or sfind(s, it.pat, j)) and run[j + 1] + 1 or 0
    end
    local acc = 0.0
    for j = 1, n + 1 do
      local w = ways[j]
      if it.kind == "zero" then
        nxt[j] = nxt[j] + w
      elseif it.q == "" and it.kind == "char" then
        if run[j] > 0 then nxt[j + 1] = nxt[j + 1] + w end
      elseif it.q == "?" then
        nxt[j] = nxt[j] + w
        if run[j] > 0 then nxt[j + 1] = nxt[j + 1] + w end
      else  -- *, +, - and the any-length items: every end within the run
        acc = acc + w
        nxt[j] = nxt[j] + (it.q == "+" and acc - w or acc)
        if run[j] == 0 then acc = 0.0 end
      end
      total = total + w * (run[j] + 1)
    end
    if total > pattern_limit then return total end
    ways = nxt
  end
  return total
end

local function bound(s, p, anchored)
  local items, anchor = parse(p, anchored)
  if #items == 1 and items[1].kind == "char" then return 2 * #s + 1 end  -- one item: linear
  local steps = quick(s, items, anchor)
  if steps > left and #s * #items <= CLOSE_LIMIT then steps = close(s, items, anchor) end
  return steps
end

local function charge(name, s, p, init, plain, anchored)
  if type(s) ~= "string" and type(s) ~= "number" then return end  -- Lua's own error follows
  if type(p) ~= "string" and type(p) ~= "number" then return end
  s, p = tostring(s), tostring(p)
  if type(init) == "number" and init > 1 then s = ssub(s, init) end
  local ok, steps = true, #s + 1
  if #p > 0 then  -- a literal: compared where its first character is found
    local first = ssub(p, 1, 1)
    steps = steps + select(2, sgsub(s, sfind(first, "^%p") and "%" .. first or first, "")) * #p
  end
  if not plain and sfind(p, "[%^%$%*%+%?%.%(%)%[%]%%%-]") then
    ok, steps = pcall(bound, s, p, anchored)
    if not ok then  -- a malformed pattern: Lua's own message, at the script's line
      error((sgsub(tostring(steps), '^%[string "<python>"%]:%d+: ', "")), 3)
    end
  end
  if steps > left then
    error(string.format(
      "string.%s: the pattern %q could take about %.3g steps on a %d-character string, over the " ..
      "budget of %d per object (a pattern that backtracks without end?)",
      name, ssub(p, 1, 60), steps, #s, pattern_limit), 3)
  end
  left = left - steps
end

-- the library function's own errors (a malformed pattern), at the script's line
local function call(f, ...)
  local r = table.pack(pcall(f, ...))
  -- level 2: the wrappers tail-call this, so the script is the caller
  if not r[1] then error((sgsub(tostring(r[2]), '^%[string "<python>"%]:%d+: ', "")), 2) end
  return table.unpack(r, 2, r.n)
end

string.find = function(s, p, init, plain)
  charge("find", s, p, init, plain, true)
  return call(sfind, s, p, init, plain)
end
string.match = function(s, p, init)
  charge("match", s, p, init, false, true)
  return call(smatch, s, p, init)
end
string.gmatch = function(s, p, init)
  charge("gmatch", s, p, init, false, false)
  return call(sgmatch, s, p, init)
end
string.gsub = function(s, p, repl, n)
  charge("gsub", s, p, nil, false, true)
  return call(sgsub, s, p, repl, n)
end

local safe = {
  assert = assert, error = error, ipairs = ipairs, next = next, pairs = pairs, select = select,
  tonumber = tonumber, tostring = tostring, type = type, unpack = table.unpack,
  rawequal = rawequal, rawget = rawget, rawlen = rawlen, setmetatable = setmetatable,
  getmetatable = getmetatable,
}
local libs = {string = string, table = table, math = math}
local sethook, load, pcall = debug.sethook, load, pcall

local function sandboxed(source, name, obj)
  local env = {obj = obj}
  for k, v in pairs(safe) do env[k] = v end
  for lib, fns in pairs(libs) do
    local copy = {}
    for k, v in pairs(fns) do copy[k] = v end
    env[lib] = copy
  end
  env.string.dump = nil
  env._G = env
  return load(source, name, "t", env)
end

local function run(source, name, obj)
  local chunk, err = sandboxed(source, name, obj)
  if not chunk then return false, err end
  left = pattern_limit
  local stop = "stopped after " .. limit .. " instructions (a loop that never ends?)"
  sethook(function() error(stop, 0) end, "", limit)
  local ok, result = pcall(chunk)
  sethook()
  return ok, result
end

local function check(source, name)
  local chunk, err = sandboxed(source, name, nil)
  return err
end

return run, check
"""


class LuaSandbox:
    """One Lua state; scripts run in it one at a time."""

    def __init__(self) -> None:
        self.runtime = lua.LuaRuntime(
            register_eval=False, register_builtins=False, unpack_returned_tuples=True, max_memory=MEMORY
        )
        self._run, self._check = self.runtime.execute(_SANDBOX, INSTRUCTIONS, PATTERN_STEPS)
        self.lock = threading.Lock()

    def run(self, source: str, name: str, obj: Any) -> tuple[bool, Any]:
        """``(True, result)`` or ``(False, error)``; raises lupa's errors (memory) as they come."""
        with self.lock:
            table = self.runtime.table_from(obj, recursive=True)
            ok, result = self._run(source, f"={name}", table)
            return bool(ok), (reply(result) if ok else str(result))

    def syntax_error(self, source: str, name: str) -> str | None:
        """The script's syntax error, or None when it compiles."""
        with self.lock:
            err = self._check(source, f"={name}")
        return None if err is None else str(err)


def reply(result: Any) -> tuple[str, str] | None:
    """A ``health.lua`` result as ``(status, message)``; None when it is not a table with a status."""
    if lua.lua_type(result) != "table" or result["status"] is None:
        return None
    return str(result["status"]), str(result["message"] or "")


LuaMemoryError = lua.LuaMemoryError
