package badger_test

import (
	"testing"

	"github.com/mdrkit/mdr/store"
	"github.com/mdrkit/mdr/store/badger"
	"github.com/mdrkit/mdr/store/storetest"
)

// openTemp opens a store in a temporary directory with unsynced event
// writes, after applying tweaks to its configuration.
func openTemp(t testing.TB, tweaks ...func(*badger.Config)) *badger.Store {
	t.Helper()
	cfg := badger.DefaultConfig(t.TempDir())
	cfg.SyncEvents = false
	for _, f := range tweaks {
		f(&cfg)
	}
	s, err := badger.Open(cfg)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return s
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return openTemp(t) })
}
