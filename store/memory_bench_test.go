package store_test

import (
	"strconv"
	"testing"
	"time"

	"github.com/mdrkit/mdr"
	"github.com/mdrkit/mdr/store"
	"github.com/mdrkit/mdr/store/storetest"
)

var benchT0 = time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)

func BenchmarkMemoryAppendEvents(b *testing.B) {
	for _, size := range []int{1, 100, 1000} {
		b.Run("batch="+strconv.Itoa(size), func(b *testing.B) {
			s := store.NewMemory()
			evs := make([]*mdr.Event, b.N)
			for i := range evs {
				evs[i] = storetest.Event(strconv.Itoa(i), benchT0.Add(time.Duration(i)*time.Millisecond))
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i += size {
				if _, err := s.AppendEvents(b.Context(), evs[i:min(i+size, b.N)]); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
		})
	}
}

func BenchmarkMemoryScanEvents(b *testing.B) {
	s := store.NewMemory()
	const n = 100_000
	batch := make([]*mdr.Event, 0, 1000)
	for i := range n {
		batch = append(batch, storetest.Event(strconv.Itoa(i), benchT0.Add(time.Duration(i)*time.Millisecond)))
		if len(batch) == cap(batch) {
			s.AppendEvents(b.Context(), batch)
			batch = batch[:0]
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	got := 0
	for got < b.N {
		for _, err := range s.ScanEvents(b.Context(), store.EventQuery{Limit: b.N - got}) {
			if err != nil {
				b.Fatal(err)
			}
			got++
		}
	}
	b.ReportMetric(float64(got)/b.Elapsed().Seconds(), "events/s")
}

func BenchmarkAuditAppend(b *testing.B) {
	s := store.NewMemory()
	payload := []byte(`{"action":"isolate","target":{"device":{"hostname":"ws1"}}}`)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.AppendAudit(b.Context(), store.AuditRecord{Actor: "analyst", Action: "isolate", Target: "host:ws1", Payload: payload}); err != nil {
			b.Fatal(err)
		}
	}
}
