-- welcome: greets people who join a group.
--
--   /welcome set <template>   set this group's greeting (admins and the owner)
--   /welcome show             show it
--   /welcome reset            back to the default
--
-- In a template, {names} is replaced by the new members' names and
-- {group} by the group's name. The default comes from the config:
--
--   settings: {welcome: {template: "Welcome to {group}, {names}! Read the pinned rules."}}
local bot = require("jimbot")

local DEFAULT = bot.config.template or "Welcome, {names}! 👋"
local MAX_TEMPLATE = 500

local function key(gid) return "template:" .. gid end

local function fill(template, names, group)
  -- gsub with a function: the replacement text is taken literally.
  return (template:gsub("{(%w+)}", function(field)
    if field == "names" then return names end
    if field == "group" then return group end
  end))
end

bot.on("member_added", function(ctx)
  if not ctx.group or not ctx.members then return end
  local names = {}
  for _, m in ipairs(ctx.members) do
    if m.username == bot.self.username then
      return -- the bot itself was added: a new group, nobody to greet yet
    end
    names[#names + 1] = m.nickname or m.username
  end
  local template = bot.store.get(key(ctx.group.gid)) or DEFAULT
  ctx:reply(fill(template, table.concat(names, ", "), ctx.group.name or "the group"))
end)

bot.command("welcome", {
  help = "set, show or reset this group's greeting",
  usage = "set <template> | show | reset",
  admin = true,
  args = {
    {name = "action"},
    {name = "template", rest = true, optional = true},
  },
}, function(ctx)
  if not ctx.group then
    return ctx:reply("/welcome works in groups.")
  end
  local action, gid = ctx.args.action, ctx.group.gid
  if action == "set" then
    local template = ctx.args.template
    if not template or template == "" then
      return ctx:reply("Usage: /welcome set Welcome, {names}!")
    end
    if #template > MAX_TEMPLATE then
      return ctx:reply("That greeting is too long (at most " .. MAX_TEMPLATE .. " characters).")
    end
    local ok, err = bot.store.set(key(gid), template)
    if not ok then
      bot.log.error("cannot save the greeting", "err", err)
      return ctx:reply("Sorry, I could not save that.")
    end
    ctx:reply("Greeting saved. New members will see: " .. fill(template, "Ada", ctx.group.name or "the group"))
  elseif action == "show" then
    ctx:reply("Greeting: " .. (bot.store.get(key(gid)) or DEFAULT))
  elseif action == "reset" then
    bot.store.del(key(gid))
    ctx:reply("Greeting reset to the default: " .. DEFAULT)
  else
    ctx:reply("Usage: /welcome set <template> | show | reset")
  end
end)
