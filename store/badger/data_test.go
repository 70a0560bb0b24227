package badger_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/mdrkit/mdr"
	"github.com/mdrkit/mdr/reader"
)

// dataDir returns ../shared/data relative to the module root; tests that
// need it fail when it is missing.
func dataDir(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the test directory")
		}
		dir = parent
	}
	d := filepath.Join(dir, "..", "shared", "data")
	if _, err := os.Stat(d); err != nil {
		t.Fatalf("test data missing: %v", err)
	}
	return d
}

// readEvents reads up to limit events (0: all) of a data file.
func readEvents(t testing.TB, name string, limit int) []*mdr.Event {
	t.Helper()
	evs, _ := readEventsRaw(t, name, limit)
	return evs
}

// readEventsRaw is readEvents that also returns the bytes of JSON read
// (uncompressed).
func readEventsRaw(t testing.TB, name string, limit int) ([]*mdr.Event, int64) {
	t.Helper()
	r, err := reader.Open(filepath.Join(dataDir(t), "events", name), reader.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var out []*mdr.Event
	for e, err := range r.All() {
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		out = append(out, e)
		if limit > 0 && len(out) >= limit {
			break
		}
	}
	if len(out) == 0 {
		t.Fatalf("%s: no events", name)
	}
	return out, r.Bytes()
}
