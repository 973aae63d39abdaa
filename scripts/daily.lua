-- daily: one pick a day per chat from a list in the config (a quote of
-- the day, a tip, a word…). Everyone in the chat sees the same pick all
-- day; the next day brings a new one.
--
--   /daily          today's pick
--   /daily on       also post it here every day (admins and the owner)
--   /daily off
--
--   settings: {daily: {items: ["...", "..."], title: "Quote of the day", post: "0 9 * * *"}}
local bot = require("jimbot")
local time = require("time")

local items = bot.config.items or {}
local title = bot.config.title or "Today's pick"
local post = bot.config.post or "0 9 * * *" -- cron, in the bot's time zone

local function today() return time.format(time.now(), "date") end

-- pick returns today's item for a chat, choosing it on first use and
-- never the same as yesterday's when there is a choice.
local function pick(chat)
  if #items == 0 then return nil end
  local k = "pick:" .. chat
  local saved = bot.store.get(k)
  if saved and saved.day == today() and items[saved.index] then
    return items[saved.index]
  end
  local index = math.random(#items)
  if saved and #items > 1 and index == saved.index then
    index = index % #items + 1
  end
  bot.store.set(k, {day = today(), index = index})
  return items[index]
end

bot.command("daily", {
  help = title:lower() .. ": /daily, /daily on, /daily off",
  args = {{name = "action", optional = true}},
}, function(ctx)
  local action = ctx.args.action
  if action == "on" or action == "off" then
    if not ctx.group then return ctx:reply("Daily posts are for groups.") end
    if ctx.sender.role == "member" then return ctx:reply("Only admins can change that.") end
    local subs = bot.store.get("subscribed") or {}
    subs[tostring(ctx.group.gid)] = (action == "on") or nil
    bot.store.set("subscribed", subs)
    return ctx:reply(action == "on" and "I will post " .. title:lower() .. " here every day."
      or "No more daily posts here.")
  end
  local item = pick(ctx.chat)
  if not item then return ctx:reply("There is nothing to pick from: the config has no items.") end
  ctx:reply(title .. ": " .. item)
end)

bot.every(post, function(ctx)
  local subs = bot.store.get("subscribed") or {}
  for gid in pairs(subs) do
    local item = pick("group:" .. gid)
    if item then ctx:send_group(tonumber(gid), title .. ": " .. item) end
  end
end)
