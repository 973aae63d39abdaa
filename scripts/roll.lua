-- roll: rolls dice.
--
--   /roll          one six-sided die
--   /roll 2d6      two six-sided dice
--   /roll d20+3    a twenty-sided die plus 3
--   /roll 4d6-2
--
-- Limits: at most 100 dice of 2 to 1000 sides, modifiers up to ±1000.
local bot = require("jimbot")

local MAX_DICE, MAX_SIDES, MAX_MOD = 100, 1000, 1000
local USAGE = "Usage: /roll [N]dS[+M|-M], e.g. /roll 2d6 or /roll d20+3"

-- parse reads "2d6", "d20+3", "3D6 - 1"; it returns count, sides,
-- modifier, or nil and what is wrong.
local function parse(spec)
  spec = spec:lower():gsub("%s+", "")
  if spec == "" then return 1, 6, 0 end
  local n, s, sign, m = spec:match("^(%d*)d(%d+)([%+%-]?)(%d*)$")
  if not s or (sign == "") ~= (m == "") then return nil, USAGE end
  n, s, m = tonumber(n) or 1, tonumber(s), tonumber(m) or 0
  if sign == "-" then m = -m end
  if n < 1 or n > MAX_DICE then return nil, "Roll 1 to " .. MAX_DICE .. " dice." end
  if s < 2 or s > MAX_SIDES then return nil, "Dice have 2 to " .. MAX_SIDES .. " sides." end
  if math.abs(m) > MAX_MOD then return nil, "Modifiers go up to ±" .. MAX_MOD .. "." end
  return n, s, m
end

local function describe(n, s, m)
  local d = (n > 1 and n or "") .. "d" .. s
  if m > 0 then d = d .. "+" .. m elseif m < 0 then d = d .. m end
  return d
end

bot.command("roll", {
  help = "roll dice: /roll 2d6, /roll d20+3",
  usage = "[N]dS[+M]",
  aliases = {"dice"},
  args = {{name = "spec", rest = true, optional = true}},
}, function(ctx)
  local n, s, m = parse(ctx.args.spec or "")
  if not n then return ctx:reply(s) end
  local rolls, total = {}, m
  for i = 1, n do
    local r = math.random(s)
    rolls[i] = r
    total = total + r
  end
  local detail
  if n == 1 and m == 0 then
    detail = tostring(total)
  elseif n <= 10 then
    detail = table.concat(rolls, " + ")
    if m > 0 then detail = detail .. " + " .. m elseif m < 0 then detail = detail .. " - " .. -m end
    detail = detail .. " = " .. total
  else
    detail = tostring(total)
  end
  ctx:reply("🎲 " .. describe(n, s, m) .. ": " .. detail)
end)
