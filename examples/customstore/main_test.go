package main

import (
	"bytes"
	"context"
	"io"
	"strings"
	"testing"

	"github.com/mdrkit/mdr/store"
	"github.com/mdrkit/mdr/store/storetest"
)

// TestConformance runs the store conformance suite on the custom store.
func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return &siemStore{Memory: store.NewMemory(), out: io.Discard} })
}

func TestRun(t *testing.T) {
	var out bytes.Buffer
	if err := run(context.Background(), &out); err != nil {
		t.Fatal(err)
	}
	if got := strings.Count(out.String(), `"hash":`); got != 3 || !strings.Contains(out.String(), "3 audit records shipped, chain verified") {
		t.Errorf("output:\n%s", out.String())
	}
}
