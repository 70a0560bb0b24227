package respond

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mdrkit/mdr/store"
	"github.com/mdrkit/mdr/store/badger"
)

func openBadger(t testing.TB, dir string) *badger.Store {
	t.Helper()
	st, err := badger.Open(badger.DefaultConfig(dir))
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// TestRestoreAcrossRestart runs the dispatcher on a store, stops it with a
// pending approval, a scheduled undo and history, and starts a new one on
// the same store: on the memory store (same object) and on badger
// (reopened from disk).
func TestRestoreAcrossRestart(t *testing.T) {
	for _, backend := range []string{"memory", "badger"} {
		t.Run(backend, func(t *testing.T) {
			dir := t.TempDir()
			var st Store
			var bs *badger.Store
			if backend == "memory" {
				st = store.NewMemory()
			} else {
				bs = openBadger(t, dir)
				st = bs
			}
			clk := newFakeClock()
			ctx := context.Background()
			cfg := Config{Store: st, Enforce: true, Clock: clk, Policy: Policy{Level: AutomationFull, Rules: []PolicyRule{
				{Name: "ask-for-servers", When: `hosts.exists(h, h.startsWith("srv"))`, Decision: DecisionApprove},
			}}, CheckpointEvery: 7}
			d1, err := NewDispatcher(ctx, cfg)
			if err != nil {
				t.Fatal(err)
			}
			edr := newFakeEDR()
			if err := d1.Register(ctx, "edr", edr); err != nil {
				t.Fatal(err)
			}
			// history, enough to pass a checkpoint
			for i := range 5 {
				if _, err := d1.Dispatch(ctx, Request{Command: containCmd(fmt.Sprintf("ws%d", i))}); err != nil {
					t.Fatal(err)
				}
			}
			// a scheduled undo
			c := containCmd("ws-timed")
			dur := int64(time.Hour / time.Millisecond)
			c.Args.Duration = &dur
			timed, err := d1.Dispatch(ctx, Request{Command: c})
			if err != nil {
				t.Fatal(err)
			}
			// a pending approval whose caller left
			cctx, cancel := context.WithCancel(ctx)
			go func() { time.Sleep(20 * time.Millisecond); cancel() }()
			pend, _ := d1.Dispatch(cctx, Request{Command: containCmd("srv1"), Requester: "playbook p"})
			if pend.State != StatePending {
				t.Fatalf("not pending: %+v", pend)
			}
			if err := d1.Close(); err != nil {
				t.Fatal(err)
			}
			if d1.Stats().Checkpoints == 0 {
				t.Fatal("no checkpoint written")
			}
			if bs != nil {
				if err := bs.Close(); err != nil {
					t.Fatal(err)
				}
				bs = openBadger(t, dir)
				defer bs.Close()
				cfg.Store = bs
				st = bs
			}

			d2, err := NewDispatcher(ctx, cfg)
			if err != nil {
				t.Fatal(err)
			}
			defer d2.Close()
			if got := len(d2.History(nil)); got != 7 {
				t.Fatalf("restored %d entries, want 7", got)
			}
			p := d2.Pending()
			if len(p) != 1 || p[0].ID != pend.ID {
				t.Fatalf("pending after restart: %+v", p)
			}
			if err := d2.Register(ctx, "edr", edr); err != nil {
				t.Fatal(err)
			}
			// approving after the restart executes
			if err := d2.Approve(ctx, pend.ID, "alice", ""); err != nil {
				t.Fatal(err)
			}
			if r, _ := d2.Get(pend.ID); r.State != StateExecuted || !edr.isContained("srv1") {
				t.Fatalf("after approval: %+v", r)
			}
			// the scheduled undo was re-armed when the actuator came back
			clk.Advance(2 * time.Hour)
			waitFor(t, "restored scheduled undo", func() bool { r, _ := d2.Get(timed.ID); return r.State == StateUndone })
			if edr.isContained("ws-timed") {
				t.Fatal("still contained after the scheduled undo")
			}
			// idempotency survives the restart
			again := containCmd("ws0")
			again.CommandID = d2.History(nil)[0].ID
			r, err := d2.Dispatch(ctx, Request{Command: again})
			if err != nil || !r.Duplicate {
				t.Fatalf("re-dispatch after restart: %v %+v", err, r)
			}
			if n := verifyAudit(t, st); n < 5 {
				t.Fatalf("audit has %d records", n)
			}
		})
	}
}

// BenchmarkDispatchBadger dispatches commands concurrently through a
// dispatcher on the badger store with synced audit appends (one synced
// record per group of state changes). Each command is requested,
// allowed, run and executed: four audited state changes.
func BenchmarkDispatchBadger(b *testing.B) {
	st := openBadger(b, b.TempDir())
	defer st.Close()
	d, err := NewDispatcher(context.Background(), Config{Store: st, Enforce: true,
		Policy: Policy{Level: AutomationSemi, Rules: []PolicyRule{
			{Name: "protect-dc", When: `criticality == "critical" && action == "contain"`, Decision: DecisionDeny},
			{Name: "auto-contain", When: `score >= 70.0`, Decision: DecisionAllow},
		}}, CheckpointEvery: 1 << 30})
	if err != nil {
		b.Fatal(err)
	}
	defer d.Close()
	if err := d.Register(context.Background(), "edr", newFakeEDR()); err != nil {
		b.Fatal(err)
	}
	var n atomic.Int64
	b.ReportAllocs()
	b.SetParallelism(256)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := n.Add(1)
			r, err := d.Dispatch(context.Background(), Request{Command: containCmd(fmt.Sprintf("ws%d", i)), Score: 90, Criticality: "high"})
			if err != nil || r.State != StateExecuted {
				b.Fatalf("%v %+v", err, r)
			}
		}
	})
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "commands/s")
	s := d.Stats()
	b.ReportMetric(float64(s.AuditChanges)/float64(max(s.AuditRecords, 1)), "changes/record")
	b.ReportMetric(float64(s.AuditAppendTime.Milliseconds())/float64(max(s.AuditRecords, 1)), "ms/append")
	b.ReportMetric(float64(s.AuditBytes)/float64(max(s.AuditRecords, 1)), "B/append")
	if _, err := store.Verify(context.Background(), st); err != nil {
		b.Fatal(err)
	}
}
