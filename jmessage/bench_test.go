package jmessage_test

import (
	"context"
	"fmt"
	"sort"
	"testing"
	"time"

	"github.com/jimbot/jimbot/jmessage"
	"github.com/jimbot/jimbot/jmessage/jmtest"
)

// BenchmarkPushWithAck measures messages per second from the server to a
// client over loopback websocket, each acknowledged with msg_recv after it
// is received (in batches of whatever has arrived).
func BenchmarkPushWithAck(b *testing.B) {
	for _, tr := range transports {
		b.Run(tr.String(), func(b *testing.B) {
			srv := jmtest.Start(b)
			srv.AddUser(b, "alice")
			srv.AddUser(b, "bobby")
			bob := srv.Dial(b, "bobby", jmessage.WithTransport(tr))
			ctx := context.Background()
			b.ReportAllocs()
			b.ResetTimer()
			start := time.Now()
			// The producer keeps at most 4096 messages unacknowledged, so
			// the queue never reaches MaxPending.
			credit := make(chan struct{}, 4096)
			go func() {
				for i := 0; i < b.N; i++ {
					credit <- struct{}{}
					if _, err := srv.SendText(srv.AppKey, "alice", "bobby", "bench"); err != nil {
						panic(err)
					}
				}
			}()
			batch := make([]*jmessage.Inbound, 0, 64)
			for got := 0; got < b.N; {
				batch = batch[:0]
				batch = append(batch, <-bob.Inbound())
			more:
				for len(batch) < cap(batch) {
					select {
					case in := <-bob.Inbound():
						batch = append(batch, in)
					default:
						break more
					}
				}
				got += len(batch)
				if err := bob.Ack(ctx, batch...); err != nil {
					b.Fatal(err)
				}
				for range batch {
					<-credit
				}
			}
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "msgs/s")
		})
	}
}

// BenchmarkRequestRTT measures a client's request round trip (request →
// ack → response) on loopback and reports its p50 and p99.
func BenchmarkRequestRTT(b *testing.B) {
	for _, tr := range transports {
		b.Run(tr.String(), func(b *testing.B) {
			srv := jmtest.Start(b)
			srv.AddUser(b, "alice")
			alice := srv.Dial(b, "alice", jmessage.WithTransport(tr))
			ctx := context.Background()
			lat := make([]time.Duration, 0, b.N)
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				t0 := time.Now()
				if _, err := alice.UserInfo(ctx, "alice"); err != nil {
					b.Fatal(err)
				}
				lat = append(lat, time.Since(t0))
			}
			b.StopTimer()
			sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
			pct := func(p float64) float64 { return float64(lat[int(p*float64(len(lat)-1))].Microseconds()) }
			b.ReportMetric(pct(0.50), "p50-µs")
			b.ReportMetric(pct(0.99), "p99-µs")
			if testing.Verbose() {
				fmt.Printf("%s: p50 %.0fµs p99 %.0fµs over %d requests\n", tr, pct(0.5), pct(0.99), len(lat))
			}
		})
	}
}

// BenchmarkRelay measures the round trip of the relay workload in
// one process: a user sends to a bot, the bot replies, the user receives
// the reply (user → server → bot → server → user), over websocket.
func BenchmarkRelay(b *testing.B) {
	srv := jmtest.Start(b)
	srv.AddUser(b, "alice")
	srv.AddUser(b, "relay")
	user := srv.Dial(b, "alice")
	botc := srv.Dial(b, "relay")
	ctx := context.Background()
	go func() {
		for in := range botc.Inbound() {
			if in.Message != nil {
				botc.SendSingle(ctx, "alice", jmessage.Text("re: "+in.Message.Content.Text()))
			}
			in.Ack(ctx)
		}
	}()
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		if _, err := user.SendSingle(ctx, "relay", jmessage.Text("ping")); err != nil {
			b.Fatal(err)
		}
		for {
			in := <-user.Inbound()
			in.Ack(ctx)
			if in.Message != nil {
				break
			}
		}
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "roundtrips/s")
}
