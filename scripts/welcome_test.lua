function test_greets_new_members(t)
  t:group("team", "alice", "bobby")
  t:join("carol", "team")
  t:expect_reply("^Welcome, carol! 👋$")
end

function test_default_from_config(t)
  t:config({template = "Hi {names}, welcome to {group}."})
  t:group("team", "alice", "bobby")
  t:join("carol", "team")
  t:expect_reply("^Hi carol, welcome to team%.$")
end

function test_owner_sets_the_template(t)
  t:group("team", "alice", "bobby")
  t:send_as("alice", "/welcome set Hello {names} 🎉", "team")
  t:expect_reply("^Greeting saved")
  t:join("carol", "team")
  t:expect_reply("^Hello carol 🎉$")
  t:send_as("alice", "/welcome show", "team")
  t:expect_reply("^Greeting: Hello {names} 🎉$")
  t:send_as("alice", "/welcome reset", "team")
  t:expect_reply("^Greeting reset")
  t:join("david", "team")
  t:expect_reply("^Welcome, david! 👋$")
end

function test_members_cannot_set_it(t)
  t:group("team", "alice", "bobby")
  t:send_as("bobby", "/welcome set gotcha", "team")
  t:expect_reply("needs admin")
  t:join("carol", "team")
  t:expect_reply("^Welcome, carol")
end

function test_bot_admins_can_set_it(t)
  t:admin("bobby")
  local gid = t:group("team", "alice", "bobby")
  t:send_as("bobby", "/welcome set Yo {names}", "team")
  t:expect_reply("^Greeting saved")
  t:eq(t:store("template:" .. gid), "Yo {names}")
end
