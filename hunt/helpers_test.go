package hunt_test

import (
	"sync"
	"testing"
	"time"

	"github.com/mdrkit/mdr"
	"github.com/mdrkit/mdr/internal/shareddata"
	"github.com/mdrkit/mdr/reader"
	"github.com/mdrkit/mdr/store"
	"github.com/mdrkit/mdr/store/badger"
)

var fileCache sync.Map // name+limit -> []*mdr.Event

// readFile reads up to limit events (0: all) of an events data file.
func readFile(t testing.TB, name string, limit int) []*mdr.Event {
	t.Helper()
	key := name + "#" + string(rune(limit))
	if v, ok := fileCache.Load(key); ok {
		return v.([]*mdr.Event)
	}
	r, err := reader.Open(shareddata.Path(t, "events", name), reader.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var out []*mdr.Event
	for e, err := range r.All() {
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, e)
		if limit > 0 && len(out) >= limit {
			break
		}
	}
	fileCache.Store(key, out)
	return out
}

// badgerWith stores evs in a new badger store in t.TempDir(), in batches
// of 1,000 as mdr ingest does, with hour buckets.
func badgerWith(t testing.TB, evs []*mdr.Event) *badger.Store {
	t.Helper()
	cfg := badger.DefaultConfig(t.TempDir())
	cfg.SyncEvents = false
	cfg.BucketWidth = time.Hour
	s, err := badger.Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	fill(t, s, evs)
	return s
}

func memoryWith(t testing.TB, evs []*mdr.Event) *store.Memory {
	t.Helper()
	m := store.NewMemory()
	t.Cleanup(func() { m.Close() })
	fill(t, m, evs)
	return m
}

func fill(t testing.TB, s store.Events, evs []*mdr.Event) {
	t.Helper()
	for i := 0; i < len(evs); i += 1000 {
		res, err := s.AppendEvents(t.Context(), evs[i:min(i+1000, len(evs))])
		if err != nil {
			t.Fatal(err)
		}
		if res.Duplicates > 0 {
			t.Fatalf("%d duplicates", res.Duplicates)
		}
	}
}
