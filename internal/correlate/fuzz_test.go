package correlate

import (
	"math/rand/v2"
	"testing"
	"time"
)

// FuzzRestore: snapshot bytes come from a store and may be damaged; Restore
// must refuse them or yield an engine that keeps working, never panic.
func FuzzRestore(f *testing.F) {
	specs := append(allKinds(time.Minute), Spec{ID: "chain", Kind: TemporalOrdered, Rules: []string{"ec", "c"}, GroupBy: []string{"host"},
		Window: time.Minute, GroupFrom: map[string][]int{"ec": {0}}})
	cfg := DefaultConfig()
	cfg.Lateness = 10 * time.Second
	eng := newEngine(f, cfg, specs...)
	stream := randomStream(rand.New(rand.NewPCG(9, 9)), specs, 200, 0)
	for _, e := range stream {
		if _, err := eng.Observe(e.input(), nil); err != nil {
			f.Fatal(err)
		}
	}
	snap, err := eng.Snapshot()
	if err != nil {
		f.Fatal(err)
	}
	f.Add(snap)
	f.Add([]byte(`{"version":2,"groups":[{"spec":"to","vals":["h"],"stages":[[{"t":1,"r":9}]]}]}`))
	f.Add([]byte(`{"version":2,"specs":[{"id":"sum","fp":"x"}],"groups":[{"spec":"sum","vals":[]}]}`))
	tail := randomStream(rand.New(rand.NewPCG(1, 9)), specs, 50, 2000)
	f.Fuzz(func(t *testing.T, data []byte) {
		e, err := New(cfg, specs)
		if err != nil {
			t.Fatal(err)
		}
		if e.Restore(data) != nil {
			return
		}
		var hits []Hit
		for _, x := range tail {
			if hits, err = e.Observe(x.input(), hits[:0]); err != nil {
				t.Fatal(err)
			}
		}
		e.Flush(hits[:0])
		if _, err := e.Snapshot(); err != nil {
			t.Fatal(err)
		}
	})
}
