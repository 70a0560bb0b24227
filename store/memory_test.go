package store_test

import (
	"testing"

	"github.com/mdrkit/mdr/store"
	"github.com/mdrkit/mdr/store/storetest"
)

func TestMemoryConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return store.NewMemory() })
}
