local function numbers(text)
  local out = {}
  for n in text:gmatch("%d+") do out[#out + 1] = tonumber(n) end
  return out
end

function test_one_die(t)
  t:send_as("alice", "/roll")
  local reply = t:expect_reply("^🎲 d6: %d+$")
  local n = numbers(reply)
  t:ok(n[2] >= 1 and n[2] <= 6, "a d6 shows 1 to 6, got " .. reply)
end

function test_two_dice(t)
  for _ = 1, 20 do
    t:send_as("alice", "/roll 2d6")
    local n = numbers(t:expect_reply("^🎲 2d6: %d+ %+ %d+ = %d+$"))
    -- n = {2, 6, a, b, total}
    t:ok(n[3] >= 1 and n[3] <= 6 and n[4] >= 1 and n[4] <= 6, "dice in range")
    t:eq(n[5], n[3] + n[4], "total")
  end
end

function test_modifier(t)
  t:send_as("alice", "/roll d20+3")
  local n = numbers(t:expect_reply("^🎲 d20%+3: %d+ %+ 3 = %d+$"))
  t:eq(n[5], n[3] + 3, "total")
  t:send_as("alice", "/roll 3d6-2")
  t:expect_reply("^🎲 3d6%-2: %d+ %+ %d+ %+ %d+ %- 2 = %-?%d+$")
end

function test_many_dice_show_the_total(t)
  t:send_as("alice", "/roll 100d6")
  local n = numbers(t:expect_reply("^🎲 100d6: %d+$"))
  t:ok(n[3] >= 100 and n[3] <= 600)
end

function test_limits(t)
  t:send_as("alice", "/roll 101d6")
  t:expect_reply("^Roll 1 to 100 dice%.$")
  t:send_as("alice", "/roll 2d1")
  t:expect_reply("^Dice have 2 to 1000 sides%.$")
  t:send_as("alice", "/roll d6+5000")
  t:expect_reply("^Modifiers go up to")
  t:send_as("alice", "/roll lots")
  t:expect_reply("^Usage: /roll")
  t:send_as("alice", "/roll 2d6+")
  t:expect_reply("^Usage: /roll")
end

function test_in_a_group_and_alias(t)
  t:group("table", "alice", "bobby")
  t:send_as("bobby", "/dice 2d10", "table")
  t:expect_reply("^🎲 2d10: ")
end
