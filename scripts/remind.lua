-- remind: reminders that survive restarts.
--
--   /remind 10m stretch your legs
--   /remind 1h30m call the bank
--   /remind list
--   /remind cancel <n>
--
-- Reminders are kept in bot.store and checked every 30 seconds, so they
-- are delivered even if the bot restarted meanwhile (late, if it was down
-- when they came due). In a group the reminder is posted in the group.
local bot = require("jimbot")
local time = require("time")

local MAX_PER_USER = 20
local MAX_DELAY = 30 * 24 * 3600 -- 30 days
local KEY = "reminders"

-- The reminders: a list of {id, due, user, gid, text}, oldest first.
local function load() return bot.store.get(KEY) or {} end

local function save(list)
  local ok, err = bot.store.set(KEY, list)
  if not ok then bot.log.error("cannot save reminders", "err", err) end
  return ok
end

local function mine(list, ctx)
  local out = {}
  for _, r in ipairs(list) do
    if r.user == ctx.sender.username and (r.gid or 0) == (ctx.group and ctx.group.gid or 0) then
      out[#out + 1] = r
    end
  end
  table.sort(out, function(a, b) return a.due < b.due end)
  return out
end

local function when(r)
  return time.format(r.due, "datetime", "UTC") .. " UTC"
end

bot.command("remind", {
  help = "remind you of something later: /remind 10m text",
  usage = "<duration> <text> | list | cancel <n>",
  args = {
    {name = "when"},
    {name = "text", rest = true, optional = true},
  },
}, function(ctx)
  local list = load()
  local arg = ctx.args.when
  if arg == "list" then
    local rs = mine(list, ctx)
    if #rs == 0 then return ctx:reply("You have no reminders here.") end
    local lines = {}
    for i, r in ipairs(rs) do lines[i] = i .. ". " .. when(r) .. ": " .. r.text end
    return ctx:reply(table.concat(lines, "\n"))
  end
  if arg == "cancel" then
    local n = tonumber(ctx.args.text or "")
    local rs = mine(list, ctx)
    local target = n and rs[n]
    if not target then return ctx:reply("Usage: /remind cancel <n> (see /remind list)") end
    for i, r in ipairs(list) do
      if r.id == target.id then table.remove(list, i) break end
    end
    save(list)
    return ctx:reply("Cancelled: " .. target.text)
  end
  local secs, err = time.parse_duration(arg)
  local text = ctx.args.text
  if not secs or not text or text == "" then
    return ctx:reply("Usage: /remind 10m stretch your legs")
  end
  if secs < 1 or secs > MAX_DELAY then
    return ctx:reply("Pick a delay between 1 second and 30 days.")
  end
  if #mine(list, ctx) >= MAX_PER_USER then
    return ctx:reply("You already have " .. MAX_PER_USER .. " reminders here.")
  end
  local r = {
    id = bot.store.incr("next_id"),
    due = time.now() + secs,
    user = ctx.sender.username,
    gid = ctx.group and ctx.group.gid or nil,
    text = text:sub(1, 500),
  }
  list[#list + 1] = r
  if save(list) then
    ctx:reply("⏰ OK, I will remind you in " .. arg .. " (" .. when(r) .. ").")
  else
    ctx:reply("Sorry, I could not save that reminder.")
  end
end)

-- Deliver what is due. A call may send at most 20 messages; the rest go
-- out at the next check.
bot.every("30s", function(ctx)
  local list = load()
  local now, kept, sent = time.now(), {}, 0
  for _, r in ipairs(list) do
    if r.due <= now and sent < 20 then
      sent = sent + 1
      if r.gid then
        ctx:send_group(r.gid, "⏰ @" .. r.user .. ": " .. r.text)
      else
        ctx:send_user(r.user, "⏰ Reminder: " .. r.text)
      end
    else
      kept[#kept + 1] = r
    end
  end
  if sent > 0 then save(kept) end
end)
