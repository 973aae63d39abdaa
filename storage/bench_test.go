package storage_test

import (
	"fmt"
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/jimbot/jimbot/storage"
)

func reportOps(b *testing.B) {
	if s := b.Elapsed().Seconds(); s > 0 {
		b.ReportMetric(float64(b.N)/s, "ops/s")
	}
}

// BenchmarkPutBatch measures concurrent single-key writes coalesced by
// Namespace.Batch, with and without fsync.
func BenchmarkPutBatch(b *testing.B) {
	for _, noSync := range []bool{false, true} {
		b.Run(fmt.Sprintf("NoSync=%v", noSync), func(b *testing.B) {
			db := openDB(b, &storage.Options{NoSync: noSync})
			ns := db.Namespace("bench")
			val := []byte(`{"user":"alice","score":42}`)
			var n atomic.Int64
			b.SetParallelism(16) // many writers, as on a busy bot
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					key := "k" + strconv.FormatInt(n.Add(1), 10)
					if err := ns.Batch(func(tx *storage.Tx) error { return tx.Put(key, val) }); err != nil {
						b.Error(err)
						return
					}
				}
			})
			reportOps(b)
		})
	}
}

// BenchmarkGet measures concurrent point reads (one read transaction each).
func BenchmarkGet(b *testing.B) {
	db := openDB(b, &storage.Options{NoSync: true})
	ns := db.Namespace("bench")
	const keys = 1000
	if err := ns.Update(func(tx *storage.Tx) error {
		for i := range keys {
			if err := tx.Put("k"+strconv.Itoa(i), []byte("value")); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		b.Fatal(err)
	}
	var n atomic.Int64
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := ns.Get("k" + strconv.Itoa(int(n.Add(1)%keys))); err != nil {
				b.Error(err)
				return
			}
		}
	})
	reportOps(b)
}
