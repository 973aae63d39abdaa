function setup(t)
  t:group("team", "alice", "bobby")
end

function test_add_and_answer(t)
  t:send_as("alice", "/faq add wifi The password is on the fridge.", "team")
  t:expect_reply("^Saved: wifi$")
  t:send_as("bobby", "what is the WiFi password?", "team")
  t:expect_reply("^The password is on the fridge%.$")
end

function test_answers_at_most_once_a_minute(t)
  t:send_as("alice", "/faq add lunch Noon.", "team")
  t:expect_reply("Saved")
  t:send_as("bobby", "lunch?", "team")
  t:expect_reply("^Noon%.$")
  t:send_as("bobby", "lunch??", "team")
  t:expect_no_reply()
  t:advance("61s")
  t:send_as("bobby", "lunch???", "team")
  t:expect_reply("^Noon%.$")
end

function test_list_and_delete(t)
  t:send_as("alice", "/faq list", "team")
  t:expect_reply("empty")
  t:send_as("alice", "/faq add b B", "team")
  t:expect_reply("Saved")
  t:send_as("alice", "/faq add a A", "team")
  t:expect_reply("Saved")
  t:send_as("bobby", "/faq list", "team")
  t:expect_reply("^FAQ keywords: a, b$")
  t:send_as("alice", "/faq del a", "team")
  t:expect_reply("^Deleted: a$")
  t:send_as("alice", "/faq del a", "team")
  t:expect_reply("^No FAQ entry for a$")
  t:send_as("alice", "/faq list", "team")
  t:expect_reply("^FAQ keywords: b$")
end

function test_members_cannot_edit(t)
  t:send_as("bobby", "/faq add wifi hacked", "team")
  t:expect_reply("^Only admins")
  t:send_as("bobby", "wifi", "team")
  t:expect_no_reply()
end

function test_survives_a_restart(t)
  t:send_as("alice", "/faq add rules Be nice.", "team")
  t:expect_reply("Saved")
  t:restart()
  t:send_as("bobby", "the rules?", "team")
  t:expect_reply("^Be nice%.$")
end

function test_each_chat_has_its_own(t)
  t:group("other", "carol", "bobby")
  t:send_as("alice", "/faq add wifi Fridge.", "team")
  t:expect_reply("Saved")
  t:send_as("bobby", "wifi?", "other")
  t:expect_no_reply()
end
