package jmtest

import (
	"bytes"
	"sync"
)

// Buffer collects output (logs, a command's stdout) written from several
// goroutines. The zero value is ready to use.
type Buffer struct {
	// Max, if positive, bounds what is kept: later writes are dropped
	// (and reported as written), so a chatty run cannot fill memory.
	Max int

	mu  sync.Mutex
	buf bytes.Buffer
}

// Write implements io.Writer.
func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.Max > 0 && b.buf.Len() >= b.Max {
		return len(p), nil
	}
	return b.buf.Write(p)
}

// String returns what was written so far.
func (b *Buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
