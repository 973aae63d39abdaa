function setup(t)
  t:group("team", "alice", "bobby", "carol")
end

function test_poll_and_vote(t)
  t:send_as("alice", "/poll Lunch? | pizza | sushi | salad", "team")
  t:expect_reply("^📊 Lunch%?\n1%. pizza\n2%. sushi\n3%. salad\nVote with /vote <number>%.$")
  t:send_as("bobby", "/vote 2", "team")
  t:expect_reply("^bobby voted for sushi %(1%)$")
  t:send_as("carol", "/vote 2", "team")
  t:expect_reply("^carol voted for sushi %(2%)$")
  t:send_as("alice", "/vote 1", "team")
  t:expect_reply("^alice voted for pizza %(1%)$")
  t:send_as("bobby", "/poll", "team")
  t:expect_reply("^📊 Lunch%?\n1%. pizza — 1\n2%. sushi — 2\n3%. salad — 0$")
end

function test_one_vote_per_user(t)
  t:send_as("alice", "/poll Tabs? | yes | no", "team")
  t:expect_reply("Vote with")
  t:send_as("bobby", "/vote 1", "team")
  t:expect_reply("voted for yes %(1%)")
  t:send_as("bobby", "/vote 1", "team")
  t:expect_reply("^bobby still votes yes %(1%)$")
  t:send_as("bobby", "/vote 2", "team")
  t:expect_reply("^bobby changed their vote to no %(1%)$")
  t:send_as("alice", "/poll close", "team")
  t:expect_reply("^Poll closed%.\n📊 Tabs%?\n1%. yes — 0\n2%. no — 1$")
end

function test_close_rules(t)
  t:send_as("bobby", "/poll Q? | a | b", "team")
  t:expect_reply("Vote with")
  t:send_as("carol", "/poll close", "team")
  t:expect_reply("^Only bobby or an admin can close this poll%.$")
  t:send_as("alice", "/poll close", "team") -- the group's owner
  t:expect_reply("^Poll closed")
  t:send_as("carol", "/vote 1", "team")
  t:expect_reply("^No poll is open%.$")
end

function test_bad_input(t)
  t:send_as("alice", "/poll Just a question?", "team")
  t:expect_reply("at least two options")
  t:send_as("alice", "/poll Q | a | b", "team")
  t:expect_reply("Vote with")
  t:send_as("alice", "/poll Another | c | d", "team")
  t:expect_reply("already open")
  t:send_as("bobby", "/vote 3", "team")
  t:expect_reply("^Pick a number from 1 to 2%.$")
  t:send_as("bobby", "/vote x", "team")
  t:expect_reply("integer")
end
