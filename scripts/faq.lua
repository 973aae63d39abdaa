-- faq: answers frequently asked questions.
--
--   /faq add <keyword> <answer>   (admins and the group owner)
--   /faq del <keyword>            (admins and the group owner)
--   /faq list
--
-- Each chat has its own FAQ. When a message that is not a command
-- contains a keyword (any case), the bot answers, at most once a minute
-- per keyword and chat.
local bot = require("jimbot")
local time = require("time")

local MAX_ENTRIES = 100
local MAX_ANSWER = 1000
local QUIET = 60 -- seconds between two answers to the same keyword

local cache = {}     -- chat → {keyword → answer}, loaded from the store
local answered = {}  -- chat .. keyword → time of the last answer

local function load(chat)
  if not cache[chat] then
    cache[chat] = bot.store.get("faq:" .. chat) or {}
  end
  return cache[chat]
end

local function save(chat, faq)
  local ok, err = bot.store.set("faq:" .. chat, faq)
  if not ok then bot.log.error("cannot save the FAQ", "chat", chat, "err", err) end
  return ok
end

local function keywords(faq)
  local list = {}
  for kw in pairs(faq) do list[#list + 1] = kw end
  table.sort(list)
  return list
end

bot.command("faq", {
  help = "manage this chat's FAQ",
  usage = "add <keyword> <answer> | del <keyword> | list",
  args = {
    {name = "action"},
    {name = "keyword", optional = true},
    {name = "answer", rest = true, optional = true},
  },
}, function(ctx)
  local chat, action = ctx.chat, ctx.args.action
  local faq = load(chat)
  if action == "list" then
    local list = keywords(faq)
    if #list == 0 then return ctx:reply("The FAQ is empty.") end
    return ctx:reply("FAQ keywords: " .. table.concat(list, ", "))
  end
  if action ~= "add" and action ~= "del" then
    return ctx:reply("Usage: /faq add <keyword> <answer> | del <keyword> | list")
  end
  if ctx.sender.role == "member" then
    return ctx:reply("Only admins can change the FAQ.")
  end
  local kw = ctx.args.keyword and ctx.args.keyword:lower()
  if not kw then return ctx:reply("Which keyword?") end
  if action == "add" then
    local answer = ctx.args.answer
    if not answer or answer == "" then return ctx:reply("Usage: /faq add <keyword> <answer>") end
    if #answer > MAX_ANSWER then return ctx:reply("That answer is too long.") end
    if not faq[kw] and #keywords(faq) >= MAX_ENTRIES then
      return ctx:reply("The FAQ is full (" .. MAX_ENTRIES .. " entries).")
    end
    faq[kw] = answer
    if save(chat, faq) then ctx:reply("Saved: " .. kw) end
  else
    if not faq[kw] then return ctx:reply("No FAQ entry for " .. kw) end
    faq[kw] = nil
    if save(chat, faq) then ctx:reply("Deleted: " .. kw) end
  end
end)

bot.fallback(function(ctx)
  local chat = ctx.chat
  if not chat or ctx.text == "" then return end
  local faq = load(chat)
  local text = ctx.text:lower()
  local now = time.now()
  for _, kw in ipairs(keywords(faq)) do
    if text:find(kw, 1, true) then
      local last = answered[chat .. "\0" .. kw]
      if not last or now - last >= QUIET then
        answered[chat .. "\0" .. kw] = now
        ctx:reply(faq[kw])
      end
      return
    end
  end
end)
