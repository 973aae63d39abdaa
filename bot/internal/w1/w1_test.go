package w1

import "testing"

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
