package badger_test

import (
	"path/filepath"
	"testing"

	"github.com/mdrkit/mdr"
	"github.com/mdrkit/mdr/internal/shareddata"
	"github.com/mdrkit/mdr/reader"
)

// dataDir returns ../shared/data relative to the module root; tests that
// need it fail when it is missing.
func dataDir(t testing.TB) string {
	t.Helper()
	return shareddata.Dir(t)
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
