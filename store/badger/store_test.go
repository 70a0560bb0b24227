package badger_test

import (
	"testing"

	"github.com/mdrkit/mdr/store"
	"github.com/mdrkit/mdr/store/badger"
	"github.com/mdrkit/mdr/store/storetest"
)

func openTemp(t testing.TB) *badger.Store {
	t.Helper()
	cfg := badger.DefaultConfig(t.TempDir())
	cfg.SyncEvents = false
	s, err := badger.Open(cfg)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return s
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return openTemp(t) })
}
