package storage

import (
	"errors"
	"fmt"
)

// Sentinel errors. Errors returned by this package wrap one of these (when
// one applies) with context such as the namespace, key or file path, so test
// for them with [errors.Is], not ==.
var (
	// ErrNotFound is returned by reads of a key that does not exist or whose TTL has expired.
	ErrNotFound = errors.New("storage: key not found")

	// ErrLocked is returned by Open when another process (or another DB handle in this process) holds the file lock for longer than Options.Timeout.
	ErrLocked = errors.New("storage: database file is locked")

	// ErrClosed is returned by every method of a DB, and of Namespaces derived from it, after Close has been called.
	ErrClosed = errors.New("storage: database is closed")

	// ErrBadName is returned when a namespace name is empty, is not valid UTF-8, contains '/', or starts with the reserved NUL byte.
	ErrBadName = errors.New("storage: invalid namespace name")

	// ErrBadKey is returned when a key is empty, is not valid UTF-8, is longer than MaxKeySize bytes, or names a sub-namespace.
	ErrBadKey = errors.New("storage: invalid key")

	// ErrTxClosed is returned when a Tx is used after the function it was passed to has returned.
	ErrTxClosed = errors.New("storage: transaction used outside its function")

	// ErrReadOnly is returned by writes to a database opened with Options.ReadOnly and by writes inside a View transaction.
	ErrReadOnly = errors.New("storage: read-only")
)

// PanicError is returned by Namespace.Update, View and Batch, and by Open for
// a migration, when the transaction function panicked. The transaction is
// rolled back and the panic is not re-raised: it becomes this error.
type PanicError struct {
	// Value is the value passed to panic.
	Value any
	// Stack is the goroutine stack captured when the panic was recovered.
	Stack []byte
}

// Error reports that a panic happened and includes the panic value.
func (e *PanicError) Error() string {
	return fmt.Sprintf("storage: panic in transaction function (rolled back): %v", e.Value)
}

// Unwrap returns the panic value if it is an error, so that [errors.Is] and
// [errors.As] see through a panic(err).
func (e *PanicError) Unwrap() error {
	err, _ := e.Value.(error)
	return err
}

// wrapped is an error with its own message that still matches a sentinel
// through errors.Is. It lets messages read naturally ("storage: open x: the
// file is locked ...") without repeating the sentinel's text.
type wrapped struct {
	msg   string
	cause error
}

func (e *wrapped) Error() string { return e.msg }
func (e *wrapped) Unwrap() error { return e.cause }

func wrapf(cause error, format string, args ...any) error {
	return &wrapped{msg: fmt.Sprintf(format, args...), cause: cause}
}
