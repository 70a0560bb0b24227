package respond

import (
	"context"
	"errors"
	"testing"

	"github.com/mdrkit/mdr/store"
)

func newTestDispatcher(t *testing.T, st Store, cfg Config) (*Dispatcher, *fakeEDR) {
	t.Helper()
	cfg.Store = st
	d, err := NewDispatcher(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	edr := newFakeEDR()
	if err := d.Register(context.Background(), "edr", edr); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = d.Close() })
	return d, edr
}

func verifyAudit(t *testing.T, st store.Audit) uint64 {
	t.Helper()
	n, err := store.Verify(context.Background(), st)
	if err != nil {
		t.Fatalf("store.Verify: %v", err)
	}
	return n
}

func TestDispatchAllowExecuteUndo(t *testing.T) {
	st := store.NewMemory()
	d, edr := newTestDispatcher(t, st, Config{Enforce: true, Policy: Policy{Level: AutomationFull}})
	ctx := context.Background()
	res, err := d.Dispatch(ctx, Request{Command: containCmd("ws1"), Requester: "analyst"})
	if err != nil {
		t.Fatal(err)
	}
	if res.State != StateExecuted || !edr.isContained("ws1") || res.Response.Undo == nil {
		t.Fatalf("res %+v contained %v", res, edr.isContained("ws1"))
	}
	if _, err := d.Undo(ctx, res.ID, "analyst"); err != nil {
		t.Fatal(err)
	}
	if edr.isContained("ws1") {
		t.Fatal("undo did not release ws1")
	}
	r, _ := d.Get(res.ID)
	if r.State != StateUndone || r.UndoneBy == "" {
		t.Fatalf("after undo: %+v", r)
	}
	if _, err := d.Undo(ctx, res.ID, "analyst"); !errors.Is(err, ErrNotUndoable) {
		t.Fatalf("second undo: %v", err)
	}
	if n := verifyAudit(t, st); n == 0 {
		t.Fatal("no audit records")
	}
}
