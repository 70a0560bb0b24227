package badger_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	bdg "github.com/dgraph-io/badger/v4"

	"github.com/mdrkit/mdr"
	"github.com/mdrkit/mdr/store"
	"github.com/mdrkit/mdr/store/badger"
	"github.com/mdrkit/mdr/store/storetest"
)

// TestRealEventsRoundTrip stores every event of two real data sets, reopens
// the store, and checks that each comes back equal by id and by scan.
func TestRealEventsRoundTrip(t *testing.T) {
	for _, name := range []string{"sigma_regression.jsonl", "evtx_attack_samples.jsonl"} {
		t.Run(name, func(t *testing.T) {
			evs := readEvents(t, name, 0)
			var cfg badger.Config // kept to reopen the store
			s := openTemp(t, func(c *badger.Config) { cfg = *c })
			want := make(map[string]*mdr.Event, len(evs))
			var unique int
			for i := 0; i < len(evs); i += 1000 {
				batch := evs[i:min(i+1000, len(evs))]
				res, err := s.AppendEvents(t.Context(), batch)
				if err != nil {
					t.Fatal(err)
				}
				unique += res.Added
			}
			for _, e := range evs {
				if _, ok := want[e.ID()]; !ok {
					want[e.ID()] = e
				}
			}
			if unique != len(want) {
				t.Fatalf("stored %d events, %d distinct ids", unique, len(want))
			}
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			s, err := badger.Open(cfg)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			for id, w := range want {
				got, err := s.GetEvent(t.Context(), id)
				if err != nil {
					t.Fatalf("GetEvent(%q): %v", id, err)
				}
				if err := storetest.EqualEvents(w, got); err != nil {
					t.Fatal(err)
				}
			}
			n := 0
			var last time.Time
			for got, err := range s.ScanEvents(t.Context(), store.EventQuery{}) {
				if err != nil {
					t.Fatal(err)
				}
				if err := storetest.EqualEvents(want[got.ID()], got); err != nil {
					t.Fatal(err)
				}
				if got.Time().Before(last) {
					t.Fatalf("scan out of order at %q", got.ID())
				}
				last = got.Time()
				n++
			}
			if n != len(want) {
				t.Errorf("scan returned %d events, want %d", n, len(want))
			}
			t.Logf("%s: %d events round-tripped", name, n)
		})
	}
}

// TestLayoutVersion checks that a store directory with another key layout
// version, or with foreign data, is refused with a clear error.
func TestLayoutVersion(t *testing.T) {
	dir := t.TempDir()
	s, err := badger.Open(badger.DefaultConfig(dir))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.AppendEvents(t.Context(), []*mdr.Event{storetest.Event("e1", time.Now())}); err != nil {
		t.Fatal(err)
	}
	s.Close()

	// rewrite the version key as a newer mdrkit would, then as the older
	// layout 1 (uncompressed events, no summaries) had it
	for _, v := range []string{"3", "1"} {
		setRaw(t, dir, "\x00m/layout", []byte{0, 0, 0, v[0] - '0'})
		_, err = badger.Open(badger.DefaultConfig(dir))
		var le *badger.LayoutError
		if !errors.Is(err, badger.ErrLayout) || !errors.As(err, &le) || le.Found != v || !strings.Contains(err.Error(), "version "+v) {
			t.Fatalf("Open of a version-%s store = %v, want *LayoutError naming version %s", v, err, v)
		}
		t.Logf("refused with: %v", err)
	}

	// a badger directory that is not an mdrkit store
	foreign := t.TempDir()
	setRaw(t, foreign, "some/key", []byte("v"))
	if _, err := badger.Open(badger.DefaultConfig(foreign)); !errors.Is(err, badger.ErrLayout) {
		t.Fatalf("Open of a foreign badger directory = %v, want ErrLayout", err)
	}

	// a store created with one bucket width keeps it
	dir2 := t.TempDir()
	cfg := badger.DefaultConfig(dir2)
	cfg.BucketWidth = time.Hour
	s, err = badger.Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	cfg.BucketWidth = 48 * time.Hour
	s, err = badger.Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s.BucketWidth() != time.Hour {
		t.Errorf("reopened store has bucket width %v, want 1h", s.BucketWidth())
	}
}

func setRaw(t *testing.T, dir, key string, val []byte) {
	t.Helper()
	db, err := bdg.Open(bdg.DefaultOptions(dir).WithLogger(nil))
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Update(func(txn *bdg.Txn) error { return txn.Set([]byte(key), val) }); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestBigBatch stores a batch far larger than one transaction; it must be
// split, not refused, and every event must be stored once.
func TestBigBatch(t *testing.T) {
	s := openTemp(t, func(cfg *badger.Config) {
		cfg.MemTableSize = 4 << 20 // a small transaction limit: about 480 KiB
	})
	defer s.Close()
	evs := readEvents(t, "evtx_attack_samples.jsonl", 0)
	res, err := s.AppendEvents(t.Context(), evs)
	if err != nil {
		t.Fatalf("AppendEvents(%d events): %v", len(evs), err)
	}
	n, err := s.CountEvents(t.Context(), time.Time{}, time.Time{})
	if err != nil || n != int64(res.Added) || res.Added+res.Duplicates != len(evs) {
		t.Fatalf("count %d (%v), result %+v, %d events", n, err, res, len(evs))
	}
	t.Logf("%d events in one call, %d bytes per transaction at most", len(evs), s.MaxAtomicBatchBytes())
	// edges too
	edges := make([]mdr.Relation, 20000)
	for i := range edges {
		edges[i] = mdr.Relation{Kind: mdr.RelSpawned, From: "p:root", To: "p:" + strings.Repeat("x", 10) + string(rune('a'+i%26)), Time: time.Unix(int64(i), 0)}
	}
	if err := s.AppendEdges(t.Context(), edges); err != nil {
		t.Fatal(err)
	}
	c := 0
	for _, err := range s.Neighbors(t.Context(), "p:root", store.EdgeQuery{Dir: store.Out}) {
		if err != nil {
			t.Fatal(err)
		}
		c++
	}
	if c != len(edges) {
		t.Errorf("%d edges back, want %d", c, len(edges))
	}
}

func TestConfigValidate(t *testing.T) {
	for name, mod := range map[string]func(*badger.Config){
		"dir":         func(c *badger.Config) { c.Dir = "" },
		"bucket":      func(c *badger.Config) { c.BucketWidth = time.Millisecond },
		"ratio":       func(c *badger.Config) { c.GCDiscardRatio = 1 },
		"compression": func(c *badger.Config) { c.Compression = "lz4" },
		"compactors":  func(c *badger.Config) { c.NumCompactors = 1 },
		"threshold":   func(c *badger.Config) { c.ValueThreshold = 8 << 20 },
		"small value": func(c *badger.Config) { c.ValueThreshold = 32 },
		"zstd, no block cache": func(c *badger.Config) {
			c.Compression = "zstd"
			c.BlockCacheSize = 0
		},
	} {
		cfg := badger.DefaultConfig(filepath.Join(t.TempDir(), "x"))
		mod(&cfg)
		if _, err := badger.Open(cfg); !errors.Is(err, mdr.ErrInvalid) {
			t.Errorf("%s: Open = %v, want ErrInvalid", name, err)
		}
	}
}

// TestEventsInValueLog checks the tuning the package doc describes: real
// events go to the value log, and the LSM tree holds a small part of the
// store.
func TestEventsInValueLog(t *testing.T) {
	var cfg badger.Config // its directory is read after closing, then reopened
	s := openTemp(t, func(c *badger.Config) { cfg = *c })
	dir := cfg.Dir
	evs := readEvents(t, "evtx_attack_samples.jsonl", 0)
	if _, err := s.AppendEvents(t.Context(), evs); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	var lsm, vlog int64
	files, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		info, err := f.Info()
		if err != nil {
			t.Fatal(err)
		}
		switch filepath.Ext(f.Name()) {
		case ".sst":
			lsm += info.Size()
		case ".vlog":
			vlog += info.Size()
		}
	}
	t.Logf("%d events: LSM tables %d bytes (%d per event), value log %d bytes (%d per event)", len(evs), lsm, lsm/int64(len(evs)), vlog, vlog/int64(len(evs)))
	if lsm == 0 || vlog < 4*lsm {
		t.Errorf("value log %d bytes, LSM tables %d: events are not in the value log", vlog, lsm)
	}
	s, err = badger.Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	got, err := s.GetEvent(t.Context(), evs[len(evs)/2].ID())
	if err != nil || got.Len() != evs[len(evs)/2].Len() {
		t.Fatalf("GetEvent after reopen: %v", err)
	}
}

// TestRetentionBuckets checks that DropEventsBefore drops whole buckets that
// end before t and keeps the bucket holding t.
func TestRetentionBuckets(t *testing.T) {
	cfg := badger.DefaultConfig(t.TempDir())
	cfg.BucketWidth = time.Hour
	s, err := badger.Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	day := time.Date(2025, 5, 1, 0, 0, 0, 0, time.UTC)
	at := map[string]time.Duration{"a": 10 * time.Minute, "b": 50 * time.Minute, "c": 70 * time.Minute, "d": 150 * time.Minute}
	var evs []*mdr.Event
	for id, off := range at {
		evs = append(evs, storetest.Event(id, day.Add(off)))
	}
	if _, err := s.AppendEvents(t.Context(), evs); err != nil {
		t.Fatal(err)
	}
	n, err := s.DropEventsBefore(t.Context(), day.Add(90*time.Minute))
	if err != nil || n != 2 {
		t.Fatalf("DropEventsBefore = %d, %v; want 2 (bucket 00:00-01:00)", n, err)
	}
	for id, want := range map[string]bool{"a": false, "b": false, "c": true, "d": true} {
		_, err := s.GetEvent(t.Context(), id)
		if got := err == nil; got != want {
			t.Errorf("event %s present = %v, want %v (%v)", id, got, want, err)
		}
	}
	if n, _ := s.DropEventsBefore(t.Context(), day.Add(90*time.Minute)); n != 0 {
		t.Errorf("second drop removed %d events", n)
	}
}

// TestReopenWithOtherTuning writes a store with the first tuning of this
// package (events in zstd-compressed LSM tables, block and index caches)
// and reads it back with the defaults, and the other way round: badger
// records each table's compression, and where a value lives is in its
// key's entry, so tuning never changes what a store holds.
func TestReopenWithOtherTuning(t *testing.T) {
	evs := readEvents(t, "evtx_attack_samples.jsonl", 3000)
	first := func(c *badger.Config) {
		c.Compression = "zstd"
		c.BlockCacheSize = 32 << 20
		c.IndexCacheSize = 16 << 20
		c.ValueThreshold = 32 << 10
	}
	for name, tunings := range map[string][2]func(*badger.Config){
		"first then default": {first, func(*badger.Config) {}},
		"default then first": {func(*badger.Config) {}, first},
	} {
		dir := t.TempDir()
		for round, tune := range tunings {
			cfg := badger.DefaultConfig(dir)
			cfg.SyncEvents = false
			cfg.MemTableSize = 1 << 20 // several flushed tables
			tune(&cfg)
			s, err := badger.Open(cfg)
			if err != nil {
				t.Fatalf("%s, round %d: %v", name, round, err)
			}
			half := evs[round*len(evs)/2 : (round+1)*len(evs)/2]
			if _, err := s.AppendEvents(t.Context(), half); err != nil {
				t.Fatalf("%s, round %d: %v", name, round, err)
			}
			n := 0
			for e, err := range s.ScanEvents(t.Context(), store.EventQuery{}) {
				if err != nil {
					t.Fatalf("%s, round %d: scan: %v", name, round, err)
				}
				if e.Len() == 0 {
					t.Fatalf("%s, round %d: empty event %s", name, round, e.ID())
				}
				n++
			}
			if want := (round + 1) * len(evs) / 2; n != want {
				t.Errorf("%s, round %d: scanned %d events, want %d", name, round, n, want)
			}
			for _, e := range []*mdr.Event{evs[0], evs[len(evs)/2-1]} {
				got, err := s.GetEvent(t.Context(), e.ID())
				if err != nil || got.Len() != e.Len() {
					t.Errorf("%s, round %d: GetEvent(%s): %v", name, round, e.ID(), err)
				}
			}
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
		}
	}
}
