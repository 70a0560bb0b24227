package respond

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/mdrkit/mdr"
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

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

func auditActions(t *testing.T, st store.Audit) map[string]int {
	t.Helper()
	out := map[string]int{}
	for rec, err := range st.ReadAudit(context.Background(), 1) {
		if err != nil {
			t.Fatal(err)
		}
		cs, err := DecodeAudit(rec)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range cs {
			out[c.Action]++
		}
	}
	return out
}

func TestPolicyCEL(t *testing.T) {
	st := store.NewMemory()
	pol := Policy{Level: AutomationFull, Rules: []PolicyRule{
		{Name: "no-dc-isolation", When: `action == "contain" && criticality == "critical"`, Decision: DecisionDeny},
		{Name: "low-score-ask", When: `score < 50.0`, Decision: DecisionApprove},
		{Name: "by-host", When: `hosts.exists(h, h.startsWith("lab-")) && command.args.er.device_containment == "network_isolation"`, Decision: DecisionAllow},
	}}
	d, edr := newTestDispatcher(t, st, Config{Enforce: true, Policy: pol})
	ctx := context.Background()

	r, err := d.Dispatch(ctx, Request{Command: containCmd("dc1"), Criticality: "critical", Score: 90, Requester: "soar"})
	if !errors.Is(err, ErrDenied) || r.State != StateDenied || r.Rule != "no-dc-isolation" {
		t.Fatalf("critical: %v %+v", err, r)
	}
	r, err = d.Dispatch(ctx, Request{Command: containCmd("lab-7"), Score: 80})
	if err != nil || r.State != StateExecuted || r.Rule != "by-host" {
		t.Fatalf("lab: %v %+v", err, r)
	}
	cctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	r, err = d.Dispatch(cctx, Request{Command: containCmd("ws9"), Score: 10})
	if !errors.Is(err, context.DeadlineExceeded) || r.State != StatePending || r.Rule != "low-score-ask" {
		t.Fatalf("low score: %v %+v", err, r)
	}
	if edr.isContained("dc1") || edr.isContained("ws9") || !edr.isContained("lab-7") {
		t.Fatal("actuator state does not follow the decisions")
	}
	for _, bad := range []PolicyRule{
		{Name: "syntax", When: `action ==`, Decision: DecisionDeny},
		{Name: "type", When: `score`, Decision: DecisionDeny},
		{Name: "decision", When: `true`, Decision: "maybe"},
		{Name: "unknown var", When: `severity > 3`, Decision: DecisionDeny},
	} {
		_, err := NewDispatcher(ctx, Config{Store: st, Policy: Policy{Rules: []PolicyRule{bad}}})
		var pe *PolicyError
		if !errors.As(err, &pe) || pe.Name != bad.Name || !errors.Is(err, ErrInvalid) {
			t.Errorf("rule %s: want PolicyError, got %v", bad.Name, err)
		}
	}
	if _, err := NewDispatcher(ctx, Config{Store: st, Policy: Policy{Level: "yolo"}}); !errors.Is(err, ErrInvalid) {
		t.Errorf("bad level: %v", err)
	}
	verifyAudit(t, st)
}

func TestAutomationLevels(t *testing.T) {
	query := Command{Action: ActionQuery, Target: Target{Features: &[]Feature{}}}
	for _, c := range []struct {
		level         AutomationLevel
		rules         []PolicyRule
		contain, read Decision
	}{
		{AutomationFull, nil, DecisionAllow, DecisionAllow},
		{AutomationSemi, nil, DecisionApprove, DecisionAllow},
		{AutomationNone, nil, DecisionApprove, DecisionAllow},
		{AutomationNone, []PolicyRule{{Name: "all", When: "true", Decision: DecisionAllow}}, DecisionApprove, DecisionAllow},
		{AutomationSemi, []PolicyRule{{Name: "all", When: "true", Decision: DecisionAllow}}, DecisionAllow, DecisionAllow},
		{AutomationFull, []PolicyRule{{Name: "all", When: "true", Decision: DecisionDeny}}, DecisionDeny, DecisionDeny},
	} {
		p, err := compilePolicy(Policy{Level: c.level, Rules: c.rules})
		if err != nil {
			t.Fatal(err)
		}
		got, _, _ := p.decide(context.Background(), &Request{Command: containCmd("h")}, false)
		gotRead, _, _ := p.decide(context.Background(), &Request{Command: query}, false)
		if got != c.contain || gotRead != c.read {
			t.Errorf("level %s rules %v: contain %s read %s, want %s %s", c.level, c.rules, got, gotRead, c.contain, c.read)
		}
	}
}

func TestApprovals(t *testing.T) {
	st := store.NewMemory()
	clk := newFakeClock()
	d, edr := newTestDispatcher(t, st, Config{Enforce: true, Clock: clk, Policy: Policy{Level: AutomationSemi}, ApprovalTimeout: time.Hour})
	ctx := context.Background()

	// approve while the caller waits
	type out struct {
		r   Result
		err error
	}
	ch := make(chan out, 1)
	go func() {
		r, err := d.Dispatch(ctx, Request{Command: containCmd("ws1"), Requester: "playbook pb1"})
		ch <- out{r, err}
	}()
	waitFor(t, "pending", func() bool { return len(d.Pending()) == 1 })
	p := d.Pending()[0]
	if err := d.Approve(ctx, p.ID, "", "ok"); !errors.Is(err, mdr.ErrInvalid) {
		t.Fatalf("anonymous approval: %v", err)
	}
	if err := d.Approve(ctx, p.ID, "alice", "confirmed C2"); err != nil {
		t.Fatal(err)
	}
	o := <-ch
	if o.err != nil || o.r.State != StateExecuted || o.r.Approver != "alice" || !edr.isContained("ws1") {
		t.Fatalf("approved: %v %+v", o.err, o.r)
	}
	if err := d.Approve(ctx, p.ID, "bob", ""); err == nil {
		t.Fatal("approving twice succeeded")
	}

	// reject
	go func() {
		r, err := d.Dispatch(ctx, Request{Command: containCmd("ws2")})
		ch <- out{r, err}
	}()
	waitFor(t, "pending 2", func() bool { return len(d.Pending()) == 1 })
	if err := d.Reject(ctx, d.Pending()[0].ID, "bob", "false positive"); err != nil {
		t.Fatal(err)
	}
	o = <-ch
	if !errors.Is(o.err, ErrRejected) || o.r.State != StateRejected || edr.isContained("ws2") {
		t.Fatalf("rejected: %v %+v", o.err, o.r)
	}

	// timeout rejects
	go func() {
		r, err := d.Dispatch(ctx, Request{Command: containCmd("ws3"), ApprovalTimeout: 10 * time.Minute})
		ch <- out{r, err}
	}()
	waitFor(t, "pending 3", func() bool { return len(d.Pending()) == 1 })
	clk.Advance(11 * time.Minute)
	o = <-ch
	if !errors.Is(o.err, ErrRejected) || o.r.Approver != "timeout" {
		t.Fatalf("timeout: %v %+v", o.err, o.r)
	}

	// the caller leaves; a later approval executes in the approver's call
	cctx, cancel := context.WithCancel(ctx)
	go func() {
		r, err := d.Dispatch(cctx, Request{Command: containCmd("ws4")})
		ch <- out{r, err}
	}()
	waitFor(t, "pending 4", func() bool { return len(d.Pending()) == 1 })
	cancel()
	o = <-ch
	if !errors.Is(o.err, context.Canceled) || o.r.State != StatePending {
		t.Fatalf("left: %v %+v", o.err, o.r)
	}
	if err := d.Approve(ctx, o.r.ID, "carol", ""); err != nil {
		t.Fatal(err)
	}
	if r, _ := d.Get(o.r.ID); r.State != StateExecuted || !edr.isContained("ws4") {
		t.Fatalf("late approval: %+v", r)
	}

	// manual approval (a CACAO manual step)
	go func() {
		r, err := d.RequestApproval(ctx, ApprovalRequest{Title: "Call the user", Requester: "playbook pb1", Timeout: time.Minute})
		ch <- out{r, err}
	}()
	waitFor(t, "manual pending", func() bool { return len(d.Pending()) == 1 })
	if m := d.Pending()[0]; !m.Manual || m.Title != "Call the user" {
		t.Fatalf("manual entry %+v", m)
	}
	if err := d.Approve(ctx, d.Pending()[0].ID, "dave", "done"); err != nil {
		t.Fatal(err)
	}
	o = <-ch
	if o.err != nil || o.r.State != StateApproved || o.r.Approver != "dave" {
		t.Fatalf("manual: %v %+v", o.err, o.r)
	}
	acts := auditActions(t, st)
	for _, a := range []string{"requested", "pending", "approved", "rejected", "executed", "running"} {
		if acts[a] == 0 {
			t.Errorf("no %q change in the audit log: %v", a, acts)
		}
	}
	verifyAudit(t, st)
}

func TestDryRunIsTheDefault(t *testing.T) {
	st := store.NewMemory()
	d, edr := newTestDispatcher(t, st, Config{Policy: Policy{Level: AutomationFull}})
	r, err := d.Dispatch(context.Background(), Request{Command: containCmd("ws1")})
	if err != nil || r.State != StateDryRun || !r.DryRun {
		t.Fatalf("%v %+v", err, r)
	}
	if edr.callCount() != 0 {
		t.Fatal("a dry run called Execute")
	}
	// enforcing, but the request asks for a dry run
	d2, edr2 := newTestDispatcher(t, store.NewMemory(), Config{Enforce: true, Policy: Policy{Level: AutomationFull}})
	r, err = d2.Dispatch(context.Background(), Request{Command: containCmd("ws1"), DryRun: true})
	if err != nil || r.State != StateDryRun || edr2.callCount() != 0 {
		t.Fatalf("request dry run: %v %+v", err, r)
	}
	if acts := auditActions(t, st); acts["dry_run"] != 1 {
		t.Fatalf("audit %v", acts)
	}
}

func TestIdempotentByCommandID(t *testing.T) {
	d, edr := newTestDispatcher(t, store.NewMemory(), Config{Enforce: true, Policy: Policy{Level: AutomationFull}})
	c := containCmd("ws1")
	c.CommandID = "inc-42-contain-ws1"
	reqs := make([]Request, 8)
	for i := range reqs {
		reqs[i] = Request{Command: c}
	}
	res, err := d.DispatchBatch(context.Background(), reqs)
	if err != nil {
		t.Fatal(err)
	}
	dups := 0
	for _, r := range res {
		if r.ID != c.CommandID || r.State != StateExecuted {
			t.Fatalf("%+v", r)
		}
		if r.Duplicate {
			dups++
		}
	}
	if edr.callCount() != 1 || dups != 7 {
		t.Fatalf("calls %d duplicates %d", edr.callCount(), dups)
	}
	other := containCmd("ws2")
	other.CommandID = c.CommandID
	if _, err := d.Dispatch(context.Background(), Request{Command: other}); !errors.Is(err, mdr.ErrConflict) {
		t.Fatalf("reused command_id on another command: %v", err)
	}
}

func TestRetriesTransientOnly(t *testing.T) {
	d, edr := newTestDispatcher(t, store.NewMemory(), Config{Enforce: true, Policy: Policy{Level: AutomationFull}, RetryBackoff: time.Millisecond, MaxRetries: 3})
	ctx := context.Background()
	edr.failNext = []error{Transient(errors.New("console timeout")), Transient(errors.New("reset"))}
	r, err := d.Dispatch(ctx, Request{Command: containCmd("ws1")})
	if err != nil || r.Attempts != 3 || r.State != StateExecuted {
		t.Fatalf("transient: %v %+v", err, r)
	}
	edr.failNext = []error{errors.New("bad credentials")}
	r, err = d.Dispatch(ctx, Request{Command: containCmd("ws2")})
	if err == nil || r.Attempts != 1 || r.State != StateFailed {
		t.Fatalf("permanent: %v %+v", err, r)
	}
	edr.statusSeq = []StatusCode{StatusServiceUnavailable}
	r, err = d.Dispatch(ctx, Request{Command: containCmd("ws3")})
	if err != nil || r.Attempts != 2 {
		t.Fatalf("503: %v %+v", err, r)
	}
	edr.statusSeq = []StatusCode{StatusInternalError}
	r, err = d.Dispatch(ctx, Request{Command: containCmd("ws4")})
	if !errors.Is(err, ErrFailed) || r.Attempts != 1 || r.Response == nil || r.Response.Status != StatusInternalError {
		t.Fatalf("500: %v %+v", err, r)
	}
	edr.failNext = []error{Transient(errors.New("a")), Transient(errors.New("b")), Transient(errors.New("c")), Transient(errors.New("d"))}
	r, err = d.Dispatch(ctx, Request{Command: containCmd("ws5")})
	if !errors.Is(err, ErrTransient) || r.Attempts != 4 {
		t.Fatalf("exhausted: %v %+v", err, r)
	}
	if d.Stats().Retries != 2+1+3 {
		t.Fatalf("retries %d", d.Stats().Retries)
	}
}

func TestCommandTimeout(t *testing.T) {
	d, edr := newTestDispatcher(t, store.NewMemory(), Config{Enforce: true, Policy: Policy{Level: AutomationFull}, CommandTimeout: 20 * time.Millisecond, MaxRetries: -1})
	edr.delay = 5 * time.Second
	start := time.Now()
	r, err := d.Dispatch(context.Background(), Request{Command: containCmd("ws1")})
	if !errors.Is(err, ErrTimeout) || r.State != StateFailed {
		t.Fatalf("%v %+v", err, r)
	}
	if time.Since(start) > 2*time.Second {
		t.Fatal("timeout not applied")
	}
}

func TestRateLimitPerActuator(t *testing.T) {
	clk := newFakeClock()
	st := store.NewMemory()
	d, err := NewDispatcher(context.Background(), Config{Store: st, Enforce: true, Clock: clk, Policy: Policy{Level: AutomationFull}})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	slow, fast := newFakeEDR(), newFakeEDR()
	slow.rate = 30 // per minute: one every 2 s
	if err := d.Register(context.Background(), "slow", slow, "a1", "a2", "a3"); err != nil {
		t.Fatal(err)
	}
	if err := d.Register(context.Background(), "fast", fast, "*"); err != nil {
		t.Fatal(err)
	}
	var reqs []Request
	for _, h := range []string{"a1", "a2", "a3", "b1", "b2", "b3"} {
		reqs = append(reqs, Request{Command: containCmd(h)})
	}
	done := make(chan error, 1)
	go func() { _, err := d.DispatchBatch(context.Background(), reqs); done <- err }()
	waitFor(t, "fast actuator", func() bool { return fast.callCount() == 3 && slow.callCount() == 1 })
	time.Sleep(20 * time.Millisecond)
	if slow.callCount() != 1 {
		t.Fatalf("slow actuator not limited: %d calls", slow.callCount())
	}
	clk.Advance(2 * time.Second)
	waitFor(t, "second slow call", func() bool { return slow.callCount() == 2 })
	clk.Advance(2 * time.Second)
	waitFor(t, "third slow call", func() bool { return slow.callCount() == 3 })
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func TestScheduledUndoFromDuration(t *testing.T) {
	clk := newFakeClock()
	st := store.NewMemory()
	d, edr := newTestDispatcher(t, st, Config{Enforce: true, Clock: clk, Policy: Policy{Level: AutomationFull}})
	c := containCmd("ws1")
	dur := int64(15 * 60 * 1000)
	c.Args.Duration = &dur
	r, err := d.Dispatch(context.Background(), Request{Command: c})
	if err != nil {
		t.Fatal(err)
	}
	if want := clk.Now().Add(15 * time.Minute); !r.UndoAt.Equal(want) {
		t.Fatalf("undo at %v, want %v", r.UndoAt, want)
	}
	clk.Advance(14 * time.Minute)
	time.Sleep(10 * time.Millisecond)
	if !edr.isContained("ws1") {
		t.Fatal("undone early")
	}
	clk.Advance(time.Minute)
	waitFor(t, "scheduled undo", func() bool { g, _ := d.Get(r.ID); return g.State == StateUndone })
	if edr.isContained("ws1") {
		t.Fatal("still contained")
	}
	g, _ := d.Get(r.ID)
	u, ok := d.Get(g.UndoneBy)
	if !ok || u.UndoOf != r.ID || u.Request.Requester != "scheduler" {
		t.Fatalf("undo entry %+v", u)
	}
	verifyAudit(t, st)
}

func TestBatchReturnsEveryFailure(t *testing.T) {
	pol := Policy{Level: AutomationFull, Rules: []PolicyRule{{Name: "protect-dc", When: `hosts.exists(h, h.startsWith("dc"))`, Decision: DecisionDeny}}}
	d, _ := newTestDispatcher(t, store.NewMemory(), Config{Enforce: true, Policy: pol})
	bad := containCmd("ws2")
	bad.Args = nil // contain device without device_containment
	reqs := []Request{{Command: containCmd("ws1")}, {Command: bad}, {Command: containCmd("dc1")}, {Command: containCmd("ws3")}}
	res, err := d.DispatchBatch(context.Background(), reqs)
	if err == nil {
		t.Fatal("no error")
	}
	if !errors.Is(err, ErrInvalid) || !errors.Is(err, ErrDenied) {
		t.Fatalf("not every failure is in the error: %v", err)
	}
	msg := err.Error()
	for _, want := range []string{"request 1 (", "request 2 ("} {
		if !strings.Contains(msg, want) {
			t.Errorf("error lacks %q: %s", want, msg)
		}
	}
	if strings.Contains(msg, "request 0 (") || strings.Contains(msg, "request 3 (") {
		t.Errorf("successful requests reported: %s", msg)
	}
	if res[0].State != StateExecuted || res[1].State != StateDenied || res[2].State != StateDenied || res[3].State != StateExecuted {
		t.Fatalf("states %s %s %s %s", res[0].State, res[1].State, res[2].State, res[3].State)
	}
}

func TestRoutingByHostAndSpecifier(t *testing.T) {
	d, err := NewDispatcher(context.Background(), Config{Store: store.NewMemory(), Enforce: true, Policy: Policy{Level: AutomationFull}})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	east, west := newFakeEDR(), newFakeEDR()
	_ = d.Register(context.Background(), "edr-east", east, "e1")
	_ = d.Register(context.Background(), "edr-west", west, "w1")
	ctx := context.Background()
	if r, err := d.Dispatch(ctx, Request{Command: containCmd("w1")}); err != nil || r.Actuator != "edr-west" {
		t.Fatalf("by host: %v %+v", err, r)
	}
	c := containCmd("x9")
	c.Actuator = &ActuatorSpec{Profile: "er", Hostname: "edr-east"}
	if r, err := d.Dispatch(ctx, Request{Command: c}); err != nil || r.Actuator != "edr-east" {
		t.Fatalf("by specifier: %v %+v", err, r)
	}
	if _, err := d.Dispatch(ctx, Request{Command: containCmd("nowhere")}); !errors.Is(err, ErrNoActuator) {
		t.Fatalf("unrouted: %v", err)
	}
	acct := Command{Action: ActionSet, Target: Target{Account: &Account{AccountName: "bob"}},
		Args: &Args{ER: &ERArgs{AccountStatus: AccountDisabled, DownstreamDevice: []DownstreamDevice{{Devices: []Device{{Hostname: "e1"}}}}}}}
	if r, err := d.Dispatch(ctx, Request{Command: acct}); err != nil || r.Actuator != "edr-east" {
		t.Fatalf("by downstream device: %v %+v", err, r)
	}
}

// TestManyConcurrentDispatches runs more concurrent commands than the
// audit journal's queue holds.
func TestManyConcurrentDispatches(t *testing.T) {
	st := store.NewMemory()
	d, edr := newTestDispatcher(t, st, Config{Enforce: true, Policy: Policy{Level: AutomationFull}, BatchConcurrency: 3000})
	reqs := make([]Request, 3000)
	for i := range reqs {
		reqs[i] = Request{Command: containCmd(fmt.Sprintf("h%d", i))}
	}
	if _, err := d.DispatchBatch(context.Background(), reqs); err != nil {
		t.Fatal(err)
	}
	if edr.callCount() != 3000 {
		t.Fatalf("%d calls", edr.callCount())
	}
	if s := d.Stats(); s.AuditChanges != 4*3000 {
		t.Fatalf("audit changes %d", s.AuditChanges)
	}
	verifyAudit(t, st)
}
