package correlate

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"
)

// BenchmarkObserve feeds one spec of each kind with base matches spread
// over 1,000 groups, 10 ms of event time apart (each group sees one event
// per 10 s, so windows of one minute hold about 6 events per group).
func BenchmarkObserve(b *testing.B) {
	for _, s := range allKinds(time.Minute) {
		for _, lateness := range []time.Duration{0, 5 * time.Second} {
			b.Run(fmt.Sprintf("%s/lateness=%s", s.ID, lateness), func(b *testing.B) {
				cfg := DefaultConfig()
				cfg.Lateness = lateness
				eng := newEngine(b, cfg, s)
				const groups = 1000
				vals := make([][]string, groups)
				for i := range vals {
					vals[i] = []string{fmt.Sprint("host-", i)}
				}
				strs := []string{"alice", "bob", "carol", "dave", "eve"}
				ids := make([]string, 4096)
				for i := range ids {
					ids[i] = fmt.Sprint("evt-", i)
				}
				var hits []Hit
				b.ReportAllocs()
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					in := Input{
						Rule:    s.Rules[i%len(s.Rules)],
						Time:    t0.Add(time.Duration(i) * 10 * time.Millisecond),
						EventID: ids[i%len(ids)],
						Group:   vals[(i*7919)%groups],
						Value:   strs[i%len(strs)],
						Number:  float64(i % 97),
					}
					var err error
					if hits, err = eng.Observe(in, hits[:0]); err != nil {
						b.Fatal(err)
					}
				}
				b.StopTimer()
				b.ReportMetric(float64(eng.Stats().Hits)/float64(b.N), "hits/op")
			})
		}
	}
}

func BenchmarkSnapshot(b *testing.B) {
	specs := allKinds(time.Minute)
	eng := newEngine(b, DefaultConfig(), specs...)
	for _, e := range randomStream(newRand(), specs, 20000, 0) {
		if _, err := eng.Observe(e.input(), nil); err != nil {
			b.Fatal(err)
		}
	}
	snap, err := eng.Snapshot()
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(snap)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := eng.Snapshot(); err != nil {
			b.Fatal(err)
		}
		if err := newEngine(b, DefaultConfig(), specs...).Restore(snap); err != nil {
			b.Fatal(err)
		}
	}
}

func newRand() *rand.Rand { return rand.New(rand.NewPCG(3, 4)) }
