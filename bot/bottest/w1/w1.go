// Package w1 generates the W1 "route" workload of shared/bench/W1.md: the
// stream of messages that Hubot, go-joe, Koishi and bare Go/Lua were
// measured with, so jimbot's figures can stand beside theirs. Bench runs
// it through a bot of yours (see bot/w1_bench_test.go and
// plugins/lua/w1_bench_test.go) and reports msgs/s and allocs/msg.
package w1

import (
	"fmt"
	"hash/fnv"
	"strings"
)

// N is the number of messages of the workload.
const N = 200000

// Checksum is the FNV-1a 32-bit checksum of the stream for N messages.
const Checksum = 0x4780767f

// Kinds of message.
const (
	Ordinary = iota
	Ping
	Spam
)

// Expected counts for N messages.
const (
	WantSpam     = 10000
	WantPing     = 20000
	WantPong     = 20000
	WantCatchAll = 170000
)

var words = strings.Fields(`hello world lunch today meeting later coffee deploy build green anyone seen the new release notes
cat picture weekend plans thanks great idea agree maybe tomorrow review please ticket fixed nice work`)

// Message is one message of the stream.
type Message struct {
	User  int // 0..999
	Group int // 0..49
	Kind  int
	Text  string
}

// Stream is the workload, built once.
type Stream struct {
	ordinary []string
	spam     []string
}

// New builds the text pools.
func New() *Stream {
	if len(words) != 32 {
		panic("w1: want 32 words")
	}
	s := &Stream{ordinary: make([]string, 997), spam: make([]string, 61)}
	for j := range s.ordinary {
		s.ordinary[j] = fmt.Sprintf("%s %s %s %s #%d", words[j%32], words[(j*7+3)%32], words[(j*13+5)%32], words[(j*17+11)%32], j)
	}
	for j := range s.spam {
		s.spam[j] = fmt.Sprintf("buy %s now spamword deal #%d", words[j%32], j)
	}
	return s
}

// At returns message i.
func (s *Stream) At(i int) Message {
	user := (i*7919 + 13) % 1000
	m := Message{User: user, Group: user % 50}
	switch k := (i * 37) % 100; {
	case k < 10:
		m.Kind, m.Text = Ping, "!ping"
	case k < 15:
		m.Kind, m.Text = Spam, s.spam[i%61]
	default:
		m.Kind, m.Text = Ordinary, s.ordinary[i%997]
	}
	return m
}

// UserName returns "u0000".."u0999".
func UserName(u int) string { return fmt.Sprintf("u%04d", u) }

// GroupName returns "g00".."g49".
func GroupName(g int) string { return fmt.Sprintf("g%02d", g) }

// Sum returns the stream's checksum over n messages: FNV-1a 32 over
// "user|group|text\n" for each message in order.
func (s *Stream) Sum(n int) uint32 {
	h := fnv.New32a()
	users := make([]string, 1000)
	for u := range users {
		users[u] = UserName(u)
	}
	groups := make([]string, 50)
	for g := range groups {
		groups[g] = GroupName(g)
	}
	for i := 0; i < n; i++ {
		m := s.At(i)
		h.Write([]byte(users[m.User]))
		h.Write([]byte{'|'})
		h.Write([]byte(groups[m.Group]))
		h.Write([]byte{'|'})
		h.Write([]byte(m.Text))
		h.Write([]byte{'\n'})
	}
	return h.Sum32()
}
