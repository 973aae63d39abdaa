package w1

import (
	"fmt"
	"testing"
)

func TestChecksumAndCounts(t *testing.T) {
	s := New()
	if got := s.Sum(N); got != Checksum {
		t.Fatalf("checksum %08x, want %08x", got, Checksum)
	}
	var count [3]int
	for i := 0; i < N; i++ {
		count[s.At(i).Kind]++
	}
	if count[Ping] != WantPing || count[Spam] != WantSpam || count[Ordinary] != WantCatchAll {
		t.Fatalf("counts %v", count)
	}
}

func Example() {
	s := New()
	for i := 0; i < 3; i++ {
		m := s.At(i)
		fmt.Printf("%s in %s: %s\n", UserName(m.User), GroupName(m.Group), m.Text)
	}
	fmt.Printf("checksum %08x\n", s.Sum(N))
	// Output:
	// u0013 in g13: !ping
	// u0932 in g32: world anyone weekend ticket #1
	// u0851 in g01: lunch picture work new #2
	// checksum 4780767f
}
