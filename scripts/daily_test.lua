local ITEMS = {"Stay hungry.", "Ship it.", "Less is more."}

local function is_item(text)
  for _, it in ipairs(ITEMS) do
    if text == "Quote of the day: " .. it then return true end
  end
  return false
end

function setup(t)
  t:config({items = ITEMS, title = "Quote of the day"})
end

function test_same_pick_all_day(t)
  t:send_as("alice", "/daily")
  local first = t:expect_reply("^Quote of the day: ")
  t:ok(is_item(first), "a configured item: " .. first)
  t:advance("3h")
  t:send_as("alice", "/daily")
  t:eq(t:expect_reply(), first)
end

function test_new_pick_the_next_day(t)
  t:send_as("alice", "/daily")
  local first = t:expect_reply("^Quote")
  t:advance("24h")
  t:send_as("alice", "/daily")
  local second = t:expect_reply("^Quote")
  t:ok(is_item(second))
  t:ok(second ~= first, "a different pick the next day")
end

function test_daily_post_in_subscribed_groups(t)
  t:group("team", "alice", "bobby")
  t:send_as("bobby", "/daily on", "team")
  t:expect_reply("^Only admins")
  t:send_as("alice", "/daily on", "team")
  t:expect_reply("^I will post quote of the day here every day%.$")
  t:advance("24h") -- past 09:00 the next day
  local posted = t:expect_in("team", "^Quote of the day: ")
  t:ok(is_item(posted))
  t:send_as("alice", "/daily off", "team")
  t:expect_reply("^No more daily posts")
  t:advance("24h")
  t:expect_no_reply()
end

function test_no_items(t)
  t:config({})
  t:send_as("alice", "/daily")
  t:expect_reply("nothing to pick from")
end
