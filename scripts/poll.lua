-- poll: quick polls, one open poll per chat.
--
--   /poll Lunch? | pizza | sushi | salad   start a poll
--   /vote 2                                vote (again to change your vote)
--   /poll                                  show the standings
--   /poll close                            close it (its creator or an admin)
local bot = require("jimbot")

local MAX_OPTIONS = 10
local MAX_LEN = 200

local function key(ctx) return "poll:" .. ctx.chat end

local function trim(s) return (s:gsub("^%s+", ""):gsub("%s+$", "")) end

-- counts returns the votes per option.
local function counts(poll)
  local c = {}
  for i = 1, #poll.options do c[i] = 0 end
  for _, choice in pairs(poll.votes) do c[choice] = (c[choice] or 0) + 1 end
  return c
end

local function standings(poll)
  local c, lines = counts(poll), {"📊 " .. poll.question}
  for i, opt in ipairs(poll.options) do
    lines[#lines + 1] = i .. ". " .. opt .. " — " .. c[i]
  end
  return table.concat(lines, "\n")
end

bot.command("poll", {
  help = "start, show or close a poll",
  usage = "<question> | <option> | <option>... | close",
  args = {{name = "text", rest = true, optional = true}},
}, function(ctx)
  local text = trim(ctx.args.text or "")
  local poll = bot.store.get(key(ctx))
  if text == "" then
    if not poll then return ctx:reply("No poll is open. Start one: /poll Question? | yes | no") end
    return ctx:reply(standings(poll))
  end
  if text == "close" then
    if not poll then return ctx:reply("No poll is open.") end
    if poll.by ~= ctx.sender.username and ctx.sender.role == "member" then
      return ctx:reply("Only " .. poll.by .. " or an admin can close this poll.")
    end
    bot.store.del(key(ctx))
    return ctx:reply("Poll closed.\n" .. standings(poll))
  end
  if poll then
    return ctx:reply("A poll is already open here; close it first with /poll close.")
  end
  local parts = {}
  for part in (text .. "|"):gmatch("([^|]*)|") do
    part = trim(part)
    if part ~= "" then parts[#parts + 1] = part:sub(1, MAX_LEN) end
  end
  if #parts < 3 then
    return ctx:reply("Give a question and at least two options: /poll Lunch? | pizza | sushi")
  end
  if #parts - 1 > MAX_OPTIONS then
    return ctx:reply("At most " .. MAX_OPTIONS .. " options.")
  end
  poll = {question = table.remove(parts, 1), options = parts, votes = {}, by = ctx.sender.username}
  bot.store.set(key(ctx), poll)
  local lines = {"📊 " .. poll.question}
  for i, opt in ipairs(poll.options) do lines[#lines + 1] = i .. ". " .. opt end
  lines[#lines + 1] = "Vote with /vote <number>."
  ctx:reply(table.concat(lines, "\n"))
end)

bot.command("vote", {
  help = "vote in the open poll",
  args = {{name = "choice", type = "int"}},
}, function(ctx)
  local poll = bot.store.get(key(ctx))
  if not poll then return ctx:reply("No poll is open.") end
  local choice = ctx.args.choice
  if choice < 1 or choice > #poll.options then
    return ctx:reply("Pick a number from 1 to " .. #poll.options .. ".")
  end
  local user = ctx.sender.username
  local before = poll.votes[user]
  poll.votes[user] = choice
  bot.store.set(key(ctx), poll)
  local c = counts(poll)
  local verb = before and (before == choice and "still votes" or "changed their vote to") or "voted for"
  ctx:reply(user .. " " .. verb .. " " .. poll.options[choice] .. " (" .. c[choice] .. ")")
end)
