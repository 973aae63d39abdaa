---@meta jimbot
-- LuaLS / EmmyLua annotations for jimbot's Lua API, version 1.
--
-- Point your editor at this file (for LuaLS: add its folder to
-- "workspace.library" in .luarc.json) to get completion and type checks:
--
--   { "workspace.library": ["path/to/jimbot/plugins/lua"], "runtime.version": "Lua 5.1" }
--
-- The reference with an example per function is docs/lua.md.

---------------------------------------------------------------------------
-- Types
---------------------------------------------------------------------------

---A user of the chat: the sender of a message, a new member, ...
---@class jimbot.User
---@field username string
---@field appkey string
---@field nickname? string
---@field uid? integer
---@field role? "member"|"admin"|"owner" Only on ctx.sender: the sender's role in this chat (looked up on first use).

---A group.
---@class jimbot.Group
---@field gid integer
---@field name? string

---Where ctx:send_custom sends: a group or a user.
---@class jimbot.Target
---@field group? integer A group's gid.
---@field user? string A username of the bot's app.

---The event a handler is called for. It is valid only while the handler
---runs: do not keep it. Fields are read-only.
---@class jimbot.Ctx
---@field text string The message text ("" for other events).
---@field kind jimbot.EventKind What happened.
---@field event_id? string The event's id, such as "m:123".
---@field msg_type? "text"|"image"|"voice"|"file"|"location"|"video"|"custom" For messages.
---@field sender? jimbot.User Who sent the message or did the action.
---@field group? jimbot.Group The group, or nil in a 1:1 chat.
---@field chat? string "group:<gid>" or "user:<appkey>/<username>": a key for per-chat data.
---@field args table<integer|string, any> A command's arguments, by position and by name, typed. Without declared arguments, the words typed.
---@field arg_text? string Everything after the command name, as typed.
---@field command? string The command's name, in a command handler.
---@field match? table<integer, string> A hear's submatches: [0] is the whole match, [1].. the groups.
---@field raw? table The message content object as received (msg_type, msg_body, from_id, ...).
---@field members? jimbot.User[] The users a member event is about.
---@field schedule? string The schedule's name, in a bot.every/bot.at handler ("<script>/<name>").
---@field time number When the event happened (unix seconds).
local Ctx = {}

---Sends text to the event's chat (the group, or the 1:1 peer).
---@param text string
---@return true|nil ok
---@return string? err
function Ctx:reply(text) end

---Sends text to a user of the bot's app.
---@param username string
---@param text string
---@return true|nil ok
---@return string? err
function Ctx:send_user(username, text) end

---Sends text to a group.
---@param gid integer
---@param text string
---@return true|nil ok
---@return string? err
function Ctx:send_group(gid, text) end

---Sends a custom message (a table of fields, sent as JSON).
---@param target jimbot.Target
---@param fields table<string, any>
---@return true|nil ok
---@return string? err
function Ctx:send_custom(target, fields) end

---Removes a user from the event's group.
---@param username string
---@return true|nil ok
---@return string? err
function Ctx:kick(username) end

---Adds a user to the bot's blacklist: their 1:1 messages are refused.
---@param username string
---@return true|nil ok
---@return string? err
function Ctx:blacklist(username) end

---Takes a user off the bot's blacklist.
---@param username string
---@return true|nil ok
---@return string? err
function Ctx:unblacklist(username) end

---Stops propagation: no later handler or plugin sees the event.
function Ctx:stop() end

---@alias jimbot.EventKind
---| "message"
---| "group_created"
---| "member_added"
---| "member_removed"
---| "member_exited"
---| "group_updated"
---| "connected"
---| "reconnected"
---| "kicked"
---| "password_changed"
---| "tick"
---| "startup"
---| "other"

---@alias jimbot.ArgType "string"|"text"|"int"|"integer"|"float"|"number"|"duration"|"bool"|"user"

---A declared command argument.
---@class jimbot.Arg
---@field name string
---@field type? jimbot.ArgType Default "string". Durations arrive in seconds.
---@field optional? boolean
---@field default? string|number Makes the argument optional.
---@field rest? boolean Takes the rest of the line verbatim (last argument only).
---@field variadic? boolean Takes every remaining word, as a list (last argument only).
---@field help? string

---A declared command option: --name value, --name=value or -s value.
---@class jimbot.Flag
---@field name string
---@field short? string
---@field type? jimbot.ArgType A "bool" flag takes no value.
---@field default? string|number
---@field help? string

---@class jimbot.CommandOptions
---@field help? string One line for /help.
---@field usage? string Replaces the usage line made from args.
---@field args? jimbot.Arg[]
---@field flags? jimbot.Flag[]
---@field admin? boolean Only admins (and group owners) may run it.
---@field permission? "member"|"admin"|"owner" The least role that may run it.
---@field cooldown? string|number How long a user waits between two uses, per chat: "10s" or seconds.
---@field aliases? string[]
---@field examples? string[]
---@field hidden? boolean Leave it out of /help.

---@class jimbot.ScheduleOptions
---@field name? string The schedule's name (default: made from the spec or time).

---@alias jimbot.Handler fun(ctx: jimbot.Ctx)
---@alias jimbot.Middleware fun(ctx: jimbot.Ctx, next: fun())

---------------------------------------------------------------------------
-- The module
---------------------------------------------------------------------------

---@class jimbot.Store
local Store = {}

---Returns the value stored under key, or nil. On failure: nil, message.
---@param key string
---@return any value
---@return string? err
function Store.get(key) end

---Stores value (anything JSON can hold) under key, for ttl if given
---("10m" or seconds). Setting nil deletes the key.
---@param key string
---@param value any
---@param ttl? string|number
---@return true|nil ok
---@return string? err
function Store.set(key, value, ttl) end

---Adds delta (default 1) to the integer under key and returns the result.
---@param key string
---@param delta? integer
---@return integer|nil value
---@return string? err
function Store.incr(key, delta) end

---Deletes key.
---@param key string
---@return true|nil ok
---@return string? err
function Store.del(key) end

---Returns the keys starting with prefix (all keys without one), sorted.
---@param prefix? string
---@return string[]|nil keys
---@return string? err
function Store.keys(prefix) end

---@class jimbot.Log
local Log = {}

---Logs msg with key, value pairs, or one table of attributes.
---@param msg string
---@param ... any
function Log.debug(msg, ...) end

---@param msg string
---@param ... any
function Log.info(msg, ...) end

---@param msg string
---@param ... any
function Log.warn(msg, ...) end

---@param msg string
---@param ... any
function Log.error(msg, ...) end

---@class jimbot.JSON
local JSON = {}

---Encodes a value as JSON (object keys sorted). A table whose keys are
---exactly 1..n is an array; any other table is an object.
---@param value any
---@return string|nil json
---@return string? err
function JSON.encode(value) end

---Decodes JSON; null becomes nil.
---@param text string
---@return any value
---@return string? err
function JSON.decode(text) end

---@alias jimbot.Layout "rfc3339"|"date"|"time"|"datetime"|"clock"|string

---@class jimbot.Time
local Time = {}

---The bot's clock, in unix seconds (with a fraction). Tests move it.
---@return number
function Time.now() end

---Formats a unix time. layout is a name ("rfc3339", the default; "date",
---"time", "datetime", "clock") or a Go layout such as "Mon 2 Jan 15:04".
---zone is an IANA name such as "Asia/Shanghai" (default: the bot's).
---@param t number
---@param layout? jimbot.Layout
---@param zone? string
---@return string
function Time.format(t, layout, zone) end

---Parses a time written in layout (see format).
---@param text string
---@param layout? jimbot.Layout
---@param zone? string
---@return number|nil t
---@return string? err
function Time.parse(text, layout, zone) end

---Parses a duration such as "10m", "1h30m" or "2d" into seconds.
---@param text string
---@return number|nil seconds
---@return string? err
function Time.parse_duration(text) end

---Splits a unix time (default: now) into fields.
---@param t? number
---@param zone? string
---@return {year: integer, month: integer, day: integer, hour: integer, min: integer, sec: integer, wday: integer, yday: integer}
function Time.date(t, zone) end

---@class jimbot
---@field version integer The API version: 1.
---@field id string This script's plugin ID.
---@field self jimbot.User The bot's own user.
---@field config table The script's settings from the config file.
---@field store jimbot.Store The script's persistent key-value store.
---@field log jimbot.Log
---@field json jimbot.JSON The json module (also require("json")).
---@field time jimbot.Time The time module (also require("time")).
local bot = {}

---Registers a chat command, /name. Call at the top level of the script.
---@param name string
---@param opts jimbot.CommandOptions|jimbot.Handler
---@param fn? jimbot.Handler
function bot.command(name, opts, fn) end

---Runs fn for text messages matching an RE2 regular expression (not a Lua
---pattern); ctx.match holds the submatches.
---@param pattern string
---@param fn jimbot.Handler
function bot.hear(pattern, fn) end

---Runs fn for every event of a kind.
---@param kind jimbot.EventKind
---@param fn jimbot.Handler
function bot.on(kind, fn) end

---Adds middleware: fn sees every event before the plugins after this one.
---Call next() to let the event go on; return without calling it to drop
---the event. The event goes on after fn returns.
---@param fn jimbot.Middleware
function bot.use(fn) end

---Runs fn for text messages that no command or hear took.
---@param fn jimbot.Handler
function bot.fallback(fn) end

---Runs fn on a schedule: "10m", "@every 1h", "@daily", or a cron line such
---as "0 9 * * 1-5" (in the bot's time zone).
---@param spec string
---@param opts jimbot.ScheduleOptions|jimbot.Handler
---@param fn? jimbot.Handler
function bot.every(spec, opts, fn) end

---Runs fn once, at a unix time, at "15:04" (the next such time), or at an
---RFC 3339 or "2006-01-02 15:04" time.
---@param when number|string
---@param opts jimbot.ScheduleOptions|jimbot.Handler
---@param fn? jimbot.Handler
function bot.at(when, opts, fn) end

return bot
