// Package storage is jimbot's persistent key/value store: a thin, opinionated
// layer over a single bbolt file (go.etcd.io/bbolt), and the only package of
// the project that imports bbolt.
//
// Data lives in namespaces, which are (nested) bbolt buckets named by
// non-empty strings: a plugin typically uses db.Namespace("plugin:welcome")
// and per-chat state such as .Sub("group:42"). Keys are non-empty UTF-8
// strings; values are byte slices, optionally with a TTL, with JSON helpers
// (GetJSON, PutJSON, ...) and atomic counters (Incr) on top. Every
// Namespace method is its own transaction; Namespace.Update, View and Batch
// group several operations atomically through a namespace-scoped Tx.
//
// Open validates the file, creates what is missing, and runs the caller's
// schema Migrations. Export and Import move all state as one JSON document
// (used by `jimbot state export|import`).
//
// # Caveats
//
// Copy bytes out of a transaction. Values returned by Get (on a Namespace
// or a Tx) are copies and safe to keep. The val passed to a ForEach callback
// points into bbolt's read-only memory map: it is valid only until the
// callback returns and must not be modified (writing to it crashes the
// process). Copy it if you need it later.
//
// One writer at a time. bbolt allows any number of concurrent readers but a
// single write transaction per file: Update, Put, Incr and friends
// serialise, and each commit fsyncs. Keep write transactions short, do not
// start a transaction from inside another one (it can deadlock), and for
// hot paths with many concurrent writers use Namespace.Batch, which
// coalesces them into one commit, remembering that its function may run
// more than once. A Tx must not be used after its function returns
// (ErrTxClosed) nor from several goroutines.
//
// What Timeout does. Only one writer may have a database file open at a
// time: bbolt takes an exclusive flock, which is per open file description,
// so this holds between processes and between two DB handles in one
// process alike (read-only handles share a lock with each other, not with a
// writer). Options.Timeout bounds how long Open waits for that lock, 1s by
// default, after which Open fails with an error wrapping ErrLocked, e.g.
// "storage: open /path/x.db: the file is locked by another process (waited
// 1s)". bbolt on its own would wait forever. Timeout does not bound
// transactions, which can always block on each other or on Close.
//
// What NoSync risks. With Options.NoSync, commits skip fsync. That is much
// faster, and committed data still survives a crash of the process, but on
// power loss or an OS crash recent commits can be lost and the file can be
// left corrupt. Use it for caches and tests, not for state you cannot lose.
//
// TTLs are lazy. A key written with PutTTL becomes invisible to every read
// (Get, Has, Keys, ForEach, Export, Incr) once Options.Now reaches its
// expiry, but it still occupies space until it is physically removed by
// DB.Sweep or by the background sweeper started with DB.StartSweeper.
// Expiry is judged against the clock reading taken when each transaction
// starts. Put without a TTL removes an existing TTL; Incr keeps it.
//
// Panics are errors. If the function passed to Update, View, Batch or a
// Migration panics, with any value, the transaction is rolled back and the
// panic is returned as a *PanicError instead of being re-raised.
//
// After Close, every method returns ErrClosed; Close waits for running
// transactions and sweepers, so a transaction that never ends blocks it.
package storage
