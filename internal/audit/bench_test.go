package audit

import (
	"context"
	"fmt"
	"testing"
	"time"
)

func benchEntry() Entry {
	return Entry{Kind: KindInference, Actor: "key_0123456789", Data: Inference{
		KeyID: "key_0123456789", Tenant: "acme", Model: "llama-3.2-1b", Backend: "local", Endpoint: "/v1/chat/completions",
		TokensIn: 123, TokensOut: 456, Latency: 12345 * time.Microsecond, Status: 200, Decision: DecisionAllowed,
		RequestID: "req_0123456789abcdef",
	}.Data()}
}

// BenchmarkRecord is the cost a request handler pays per audit entry,
// including building the inference Data.
func BenchmarkRecord(b *testing.B) {
	l := openLog(b, "")
	w := NewWriter(l, WriterOptions{Buffer: 1 << 22})
	in := Inference{KeyID: "key_0123456789", Tenant: "acme", Model: "llama-3.2-1b", Backend: "local",
		Endpoint: "/v1/chat/completions", TokensIn: 123, TokensOut: 456, Latency: 12345 * time.Microsecond,
		Status: 200, Decision: DecisionAllowed, RequestID: "req_0123456789abcdef"}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			w.Record(Entry{Kind: KindInference, Actor: in.KeyID, Data: in.Data()})
		}
	})
	b.StopTimer()
	if err := w.Close(context.Background()); err != nil {
		b.Fatal(err)
	}
	if s := w.Stats(); s.Dropped != 0 {
		b.Fatalf("dropped %d", s.Dropped)
	}
}

// BenchmarkAppend measures synchronous appends of batches of entries:
// one transaction (and one fsync) per batch.
func BenchmarkAppend(b *testing.B) {
	for _, n := range []int{1, 100, 1000} {
		b.Run(fmt.Sprintf("batch=%d", n), func(b *testing.B) {
			l := openLog(b, "")
			batch := make([]Entry, n)
			for i := range batch {
				batch[i] = benchEntry()
			}
			ctx := context.Background()
			b.ResetTimer()
			for b.Loop() {
				if err := l.Append(ctx, batch...); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N*n)/b.Elapsed().Seconds(), "entries/s")
		})
	}
}

// BenchmarkWriterThroughput measures entries per second through a Writer
// end to end (recorded, batched, committed).
func BenchmarkWriterThroughput(b *testing.B) {
	l := openLog(b, "")
	w := NewWriter(l, WriterOptions{Buffer: 1 << 22})
	e := benchEntry()
	ctx := context.Background()
	b.ResetTimer()
	for b.Loop() {
		w.Record(e)
	}
	if err := w.Close(ctx); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "entries/s")
}

func BenchmarkVerify(b *testing.B) {
	l := openLog(b, "")
	const n = 10000
	batch := make([]Entry, 1000)
	for i := range batch {
		batch[i] = benchEntry()
	}
	ctx := context.Background()
	for range n / len(batch) {
		if err := l.Append(ctx, batch...); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	for b.Loop() {
		rep, err := l.Verify(ctx, VerifyOptions{})
		if err != nil || !rep.OK {
			b.Fatal(err, rep.Problems)
		}
	}
	b.ReportMetric(float64(b.N*n)/b.Elapsed().Seconds(), "entries/s")
}

// BenchmarkRecordQueued is Record alone: validation, encoding and
// queueing, with the background writer idle.
func BenchmarkRecordQueued(b *testing.B) {
	l := openLog(b, "")
	w := NewWriter(l, WriterOptions{Buffer: 1 << 24, FlushInterval: time.Hour, BatchSize: 1 << 30})
	e := benchEntry()
	b.ReportAllocs()
	for b.Loop() {
		w.Record(e)
	}
}
