package respond_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mdrkit/mdr/respond"
	"github.com/mdrkit/mdr/sim"
	"github.com/mdrkit/mdr/store"
)

// phishRun plays phish-lateral and returns its fleet behind a dispatcher
// with the policy, the playbook's inputs and the audit store.
func phishRun(t *testing.T, pol respond.Policy) (*respond.Dispatcher, *sim.Run, map[string]string, *store.Memory) {
	t.Helper()
	ctx := context.Background()
	r, err := sim.Generate(ctx, "phish-lateral", 3)
	if err != nil {
		t.Fatal(err)
	}
	st := store.NewMemory()
	d, err := respond.NewDispatcher(ctx, respond.Config{Store: st, Enforce: true, Policy: pol})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	if err := d.Register(ctx, "sim", r.Fleet); err != nil {
		t.Fatal(err)
	}
	in := map[string]string{}
	for id, h := range r.HostIDs {
		in["__host_"+id+"__"] = h
	}
	for k, v := range r.Vars {
		in["__"+k+"__"] = v
	}
	return d, r, in, st
}

func loadPhish(t *testing.T, e *respond.PlaybookEngine) *respond.Playbook {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "playbooks", "contain-phish-lateral.json"))
	if err != nil {
		t.Fatal(err)
	}
	pb, err := e.Load(data, "contain-phish-lateral.json")
	if err != nil {
		t.Fatal(err)
	}
	return pb
}

// approveAll answers every pending approval of d as "soc-lead" until ctx
// ends.
func approveAll(ctx context.Context, d *respond.Dispatcher) {
	for ctx.Err() == nil {
		for _, p := range d.Pending() {
			_ = d.Approve(ctx, p.ID, "soc-lead", "ok")
		}
		time.Sleep(time.Millisecond)
	}
}

// TestPlaybookThroughDispatcher runs the phish-lateral playbook on the
// simulated fleet with a semi-automatic policy: every containment and the
// manual step wait for a principal's approval, the fleet changes, and the
// audit chain records it all and verifies.
func TestPlaybookThroughDispatcher(t *testing.T) {
	d, r, in, st := phishRun(t, respond.Policy{Level: respond.AutomationSemi})
	e, err := respond.NewPlaybookEngine(respond.WithDispatcher(d), respond.WithManualResponder(respond.ManualApprovals(d)))
	if err != nil {
		t.Fatal(err)
	}
	pb := loadPhish(t, e)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go approveAll(ctx, d)
	ex, err := e.Run(context.Background(), pb, respond.RunOptions{Inputs: in, Incident: "INC-42"})
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	cancel()
	hist := d.History(nil)
	approved, manual := 0, 0
	for _, h := range hist {
		if h.Approver == "soc-lead" {
			approved++
		}
		if h.Manual {
			manual++
		}
		if !h.Manual && (h.Request.Incident != "INC-42" || !strings.HasPrefix(h.Request.Requester, "playbook ")) {
			t.Errorf("request %+v", h.Request)
		}
	}
	if approved != 5 || manual != 1 {
		t.Fatalf("%d approved (%d manual) in %d history entries", approved, manual, len(hist))
	}
	snap, err := r.Fleet.Snapshot(in["__host_wks__"])
	if err != nil {
		t.Fatal(err)
	}
	if snap.Containment.Mode != sim.ContainIsolation {
		t.Fatalf("workstation containment %+v after %+v", snap.Containment, ex.Steps)
	}
	if n, err := store.Verify(context.Background(), st); err != nil || n == 0 {
		t.Fatalf("audit: %d records, %v", n, err)
	}
}

// TestPlaybookPolicyDenies: a deny rule refuses the server's isolation;
// the step fails with ErrDenied and, with no on_failure, the run fails.
func TestPlaybookPolicyDenies(t *testing.T) {
	d, _, in, _ := phishRun(t, respond.Policy{Level: respond.AutomationFull, Rules: []respond.PolicyRule{
		{Name: "never isolate servers", When: `action == "contain" && hosts.exists(h, h.startsWith("SRV-"))`, Decision: respond.DecisionDeny}}})
	e, err := respond.NewPlaybookEngine(respond.WithDispatcher(d), respond.WithManualResponder(respond.ManualApprovals(d)))
	if err != nil {
		t.Fatal(err)
	}
	pb := loadPhish(t, e)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go approveAll(ctx, d)
	ex, err := e.Run(context.Background(), pb, respond.RunOptions{Inputs: in})
	if !errors.Is(err, respond.ErrDenied) || !ex.Failed {
		t.Fatalf("err %v", err)
	}
	var se *respond.StepError
	if !errors.As(err, &se) || se.Step != "if-condition--0000200a-0000-4000-8000-00000000000a" {
		t.Fatalf("err %v names the wrong step", err)
	}
}

// TestManualApprovalTimesOut: nobody answers the manual step; the
// Dispatcher's approval times out with the step and the step fails.
func TestManualApprovalTimesOut(t *testing.T) {
	d, _, in, _ := phishRun(t, respond.Policy{Level: respond.AutomationFull})
	e, err := respond.NewPlaybookEngine(respond.WithDispatcher(d), respond.WithManualResponder(respond.ManualApprovals(d)))
	if err != nil {
		t.Fatal(err)
	}
	pb := loadPhish(t, e)
	for _, st := range pb.Steps {
		if st.Name == "Analyst confirms containment" {
			ms := int64(50)
			st.Timeout = &ms
		}
	}
	ex, err := e.Run(context.Background(), pb, respond.RunOptions{Inputs: in})
	if err == nil {
		t.Fatal("unanswered manual step succeeded")
	}
	var manual respond.StepRecord
	for _, s := range ex.Steps {
		if s.Name == "Analyst confirms containment" {
			manual = s
		}
	}
	if manual.Status == respond.StepSuccess || !strings.Contains(manual.Error, "declined by timeout") && !strings.Contains(manual.Error, "ACTION_TIMEOUT") {
		t.Fatalf("manual step %+v", manual)
	}
	if len(d.Pending()) != 0 {
		t.Fatalf("approval still pending: %+v", d.Pending())
	}
}
