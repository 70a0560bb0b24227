package store_test

import (
	"testing"

	"github.com/mdrkit/mdr"
	"github.com/mdrkit/mdr/internal/shareddata"
	"github.com/mdrkit/mdr/reader"
	"github.com/mdrkit/mdr/store"
)

// BenchmarkSummaryBuilder adds real events to a summary, as the badger
// store does for every event it writes, and encodes it every 1,000 events
// (one write). ns/op is per event.
func BenchmarkSummaryBuilder(b *testing.B) {
	r, err := reader.Open(shareddata.Path(b, "events", "evtx_attack_samples.jsonl"), reader.Options{})
	if err != nil {
		b.Fatal(err)
	}
	var evs []*mdr.Event
	for e, err := range r.All() {
		if err != nil {
			b.Fatal(err)
		}
		evs = append(evs, e)
	}
	r.Close()
	sb := store.NewSummaryBuilder(nil)
	var out []byte
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		sb.Add(evs[i%len(evs)])
		if sb.Len() == 1000 {
			out = sb.AppendTo(out[:0])
			sb.Reset()
		}
	}
	b.ReportMetric(float64(len(out))/1000, "summary-bytes/event")
}
