package remediate

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-multierror"

	"github.com/mdrkit/mdr/store"
)

func TestTransitionTable(t *testing.T) {
	allowed := map[[2]string]string{
		{"planned", "approve"}: "approved", {"planned", "reject"}: "rejected", {"approved", "reject"}: "rejected",
		{"approved", "begin"}: "applying", {"applying", "succeed"}: "applied", {"applying", "fail"}: "failed",
		{"applied", "verify"}: "verified", {"applied", "refute"}: "unverified", {"verified", "refute"}: "unverified",
		{"verified", "verify"}: "verified", {"unverified", "verify"}: "verified", {"unverified", "refute"}: "unverified",
		{"unverified", "begin"}: "applying", {"failed", "begin"}: "applying",
		{"applied", "revert"}: "reverted", {"verified", "revert"}: "reverted", {"unverified", "revert"}: "reverted", {"failed", "revert"}: "reverted",
	}
	seen := 0
	for s := StateUnknown; s < numStates; s++ {
		for ev := Event(0); ev <= numEvents; ev++ {
			to, err := Next(s, ev)
			want, ok := allowed[[2]string{s.String(), ev.String()}]
			switch {
			case ok && (err != nil || to.String() != want):
				t.Errorf("%s --%s--> %v, %v; want %s", s, ev, to, err, want)
			case !ok && err == nil:
				t.Errorf("%s --%s--> %s allowed; the table has no such move", s, ev, to)
			case !ok && !errors.Is(err, ErrTransition):
				t.Errorf("%s --%s-->: error %v does not wrap ErrTransition", s, ev, err)
			}
			if ok {
				seen++
			}
		}
	}
	if seen != len(allowed) {
		t.Errorf("checked %d allowed moves, want %d", seen, len(allowed))
	}
	for s := StatePlanned; s < numStates; s++ {
		b, _ := s.MarshalText()
		var back State
		if err := back.UnmarshalText(b); err != nil || back != s {
			t.Errorf("state %s round trip: %v %v", s, back, err)
		}
	}
}

func newTestExecutor(t *testing.T, st Store, h *fakeHost, cfg Config) *Executor {
	t.Helper()
	e, err := newExecutor(st, h, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func TestApplyOrderParallelAndAudit(t *testing.T) {
	ctx := t.Context()
	st := store.NewMemory()
	// 0 <- 1 <- 2 (a chain: 2 needs 1 needs 0), 3..9 independent, 10 needs all
	deps := map[int][]int{1: {0}, 2: {1}, 10: {0, 1, 2, 3, 4, 5, 6, 7, 8, 9}}
	p := chainPlan("order", 11, deps)
	h := newFakeHost(items(11)...)
	h.delay = 3 * time.Millisecond
	var moves []StepRecord
	e := newTestExecutor(t, st, h, Config{Parallel: 4, Progress: func(r StepRecord) { moves = append(moves, r) }})
	res, err := e.Apply(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	if res.Err != nil || !res.OK() || res.Counts.Verified != 11 {
		t.Fatalf("result %+v err %v", res.Counts, res.Err)
	}
	pos := func(id string) int { return slices.Index(h.executed, id) }
	for i, s := range p.Steps {
		for _, d := range s.DependsOn {
			if pos(d) > pos(s.ID) {
				t.Errorf("step %d %s ran before its dependency %s: %v", i, s.ID, d, h.executed)
			}
		}
	}
	if h.peak < 2 {
		t.Errorf("independent steps never ran in parallel (peak %d)", h.peak)
	}
	if h.peak > 4 {
		t.Errorf("peak parallelism %d above Config.Parallel 4", h.peak)
	}
	// 4 moves per step (approve, begin, succeed, verify), each audited once
	if len(moves) != 44 {
		t.Errorf("%d progress calls, want 44", len(moves))
	}
	n, err := store.Verify(ctx, st)
	if err != nil {
		t.Fatal(err)
	}
	if n != 1+44 {
		t.Errorf("audit log holds %d records, want 45 (the plan + one per move)", n)
	}
	for r, err := range st.ReadAudit(ctx, 2) {
		if err != nil {
			t.Fatal(err)
		}
		var pl auditPayload
		if err := json.Unmarshal(r.Payload, &pl); err != nil || pl.Plan != "order" || pl.Version == 0 {
			t.Fatalf("audit %d: payload %s %v", r.Seq, r.Payload, err)
		}
	}
	// a second Apply of the same plan repeats nothing
	res2, err := e.Apply(ctx, p)
	if err != nil || res2.Err != nil {
		t.Fatal(err, res2.Err)
	}
	if len(h.executed) != 11 {
		t.Errorf("re-apply executed again: %v", h.executed)
	}
}

func TestUnverifiedNeverVerified(t *testing.T) {
	h := newFakeHost(items(3)...)
	h.lieOn["s01"] = true // the actuator says done, the artifact stays
	e := newTestExecutor(t, store.NewMemory(), h, Config{})
	res, err := e.Apply(t.Context(), chainPlan("lie", 3, nil))
	if err != nil {
		t.Fatal(err)
	}
	if got := res.Steps[1].State; got != StateUnverified {
		t.Fatalf("lying step is %s, want unverified", got)
	}
	if res.OK() || res.Counts.Unverified != 1 || res.Counts.Verified != 2 {
		t.Errorf("counts %+v OK=%v", res.Counts, res.OK())
	}
	// verify on demand after the artifact is really gone: verified
	h.present["it1"] = false
	res, err = e.Verify(t.Context(), "lie")
	if err != nil || res.Steps[1].State != StateVerified {
		t.Fatalf("re-verify: %v %v", res.Steps[1].State, err)
	}
	// and back to unverified when it returns
	h.present["it1"] = true
	res, _ = e.Verify(t.Context(), "lie")
	if res.Steps[1].State != StateUnverified {
		t.Fatalf("re-verify after return: %v", res.Steps[1].State)
	}
}

func TestStopAndCompensate(t *testing.T) {
	for _, mode := range []OnFailure{Stop, Compensate} {
		t.Run([]string{"stop", "compensate"}[mode], func(t *testing.T) {
			ctx := t.Context()
			// a chain 0 <- 1 <- 2 <- 3 <- 4; step 3 fails
			p := chainPlan("rb", 5, map[int][]int{1: {0}, 2: {1}, 3: {2}, 4: {3}})
			h := newFakeHost(items(5)...)
			h.failOn["s03"] = errBoom
			h.failUndo["s01"] = errors.New("actuator: cannot restore")
			st := store.NewMemory()
			e := newTestExecutor(t, st, h, Config{OnFailure: mode})
			res, err := e.Apply(ctx, p)
			if err != nil {
				t.Fatal(err)
			}
			if !errors.Is(res.Err, ErrStepFailed) || !errors.Is(res.Err, errBoom) {
				t.Fatalf("result error %v does not carry the failure", res.Err)
			}
			if h.executedCount("s04") != 0 {
				t.Error("step after the failure ran")
			}
			var se *StepError
			if !errors.As(res.Err, &se) || se.Step != "s03" {
				t.Errorf("StepError %v", se)
			}
			if mode == Stop {
				if res.Counts.Verified != 3 || res.Counts.Failed != 1 || res.Counts.Blocked != 1 {
					t.Errorf("counts %+v", res.Counts)
				}
				return
			}
			// compensated in reverse order: s02, then s01 (fails), then s00
			if !slices.Equal(h.undone, []string{"s02", "s00"}) {
				t.Errorf("undone %v, want [s02 s00]", h.undone)
			}
			var me *multierror.Error
			if !errors.As(res.Err, &me) || len(me.Errors) < 2 {
				t.Fatalf("want every failure collected, got %v", res.Err)
			}
			if !strings.Contains(res.Err.Error(), "cannot restore") {
				t.Errorf("the undo failure is missing from %v", res.Err)
			}
			if res.Steps[0].State != StateReverted || res.Steps[1].State != StateVerified || res.Steps[2].State != StateReverted {
				t.Errorf("states %v %v %v", res.Steps[0].State, res.Steps[1].State, res.Steps[2].State)
			}
			if !h.present["it0"] || h.present["it1"] || !h.present["it2"] {
				t.Errorf("host after compensation: %v", h.present)
			}
			if _, err := store.Verify(ctx, st); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestUndoFromHistory(t *testing.T) {
	ctx := t.Context()
	st := store.NewMemory()
	h := newFakeHost(items(6)...)
	p := chainPlan("hist", 6, map[int][]int{3: {0, 1, 2}})
	e := newTestExecutor(t, st, h, Config{})
	if res, err := e.Apply(ctx, p); err != nil || !res.OK() {
		t.Fatal(err, res.Err)
	}
	ix, err := ReadIndex(ctx, st)
	if err != nil || len(ix.Plans) != 1 || ix.Plans[0].ID != "hist" {
		t.Fatalf("index %+v %v", ix, err)
	}
	// a new executor (a later process) undoes the plan from the store
	e2 := newTestExecutor(t, st, h, Config{Principal: "analyst"})
	res, err := e2.Undo(ctx, "hist")
	if err != nil || res.Err != nil {
		t.Fatal(err, res.Err)
	}
	if res.Counts.Reverted != 6 {
		t.Errorf("counts %+v", res.Counts)
	}
	for _, it := range items(6) {
		if !h.present[it] {
			t.Errorf("%s not restored", it)
		}
	}
	// undone in the reverse order of application (s03 after s00..s02)
	order := map[string]uint64{}
	for _, r := range res.Steps {
		order[r.Step] = r.Order
	}
	for i := 1; i < len(h.undone); i++ {
		if order[h.undone[i-1]] < order[h.undone[i]] {
			t.Errorf("undo order %v is not the reverse of the application order %v", h.undone, order)
		}
	}
	if slices.Index(h.undone, "s03") > slices.Index(h.undone, "s00") {
		t.Errorf("s03 (applied after s00) undone after it: %v", h.undone)
	}
	// undoing again finds nothing to revert and changes nothing
	if res, err := e2.Undo(ctx, "hist"); err != nil || res.Err != nil || len(h.undone) != 6 {
		t.Errorf("second undo: %v %v %v", err, res.Err, h.undone)
	}
}

func TestDryRunWritesNothing(t *testing.T) {
	st := store.NewMemory()
	h := newFakeHost(items(4)...)
	e := newTestExecutor(t, st, h, Config{DryRun: true})
	res, err := e.Apply(t.Context(), chainPlan("dry", 4, map[int][]int{1: {0}}))
	if err != nil || res.Err != nil {
		t.Fatal(err, res.Err)
	}
	if h.dry != 4 || len(h.executed) != 0 || res.Counts.DryRun != 4 {
		t.Errorf("dry %d executed %v counts %+v", h.dry, h.executed, res.Counts)
	}
	if n, _ := store.Verify(t.Context(), st); n != 0 {
		t.Errorf("dry run wrote %d audit records", n)
	}
	if _, err := st.GetState(t.Context(), keyPlan+"dry"); err == nil {
		t.Error("dry run saved the plan")
	}
}

func TestAdviceNeedsApproval(t *testing.T) {
	p := chainPlan("adv", 3, map[int][]int{2: {1}})
	p.Steps[1].Advice = true
	h := newFakeHost(items(3)...)
	e := newTestExecutor(t, store.NewMemory(), h, Config{})
	res, err := e.Apply(t.Context(), p)
	if err != nil || res.Err != nil {
		t.Fatal(err, res.Err)
	}
	if res.Counts.Pending != 1 || res.Counts.Blocked != 1 || res.Counts.Verified != 1 || h.executedCount("s01") != 0 {
		t.Errorf("counts %+v executed %v", res.Counts, h.executed)
	}
	// approved by a principal on a later run: it and its dependent run
	e2 := newTestExecutor(t, e.st, h, Config{Principal: "alice", Approve: func(s *Step) bool { return s.ID == "s01" }})
	res, err = e2.Resume(t.Context(), "adv")
	if err != nil || !res.OK() {
		t.Fatalf("%v %v %+v", err, res.Err, res.Counts)
	}
	if res.Steps[1].By != "alice" {
		t.Errorf("approved by %q", res.Steps[1].By)
	}
}

func TestPlanValidate(t *testing.T) {
	for name, p := range map[string]*Plan{
		"cycle":   chainPlan("c", 3, map[int][]int{0: {2}, 1: {0}, 2: {1}}),
		"unknown": {ID: "u", Steps: []Step{{ID: "a", DependsOn: []string{"zz"}}}},
		"dup":     {ID: "d", Steps: []Step{{ID: "a"}, {ID: "a"}}},
		"self":    {ID: "s", Steps: []Step{{ID: "a", DependsOn: []string{"a"}}}},
		"noid":    {ID: "n", Steps: []Step{{}}},
	} {
		if err := p.Validate(); !errors.Is(err, ErrPlan) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestConditionLimits(t *testing.T) {
	c, err := newConditions(1000)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	resp := map[string]any{"status": int64(200), "results": map[string]any{"exists": false, "list": []any{1, 2, 3}}}
	if ok, err := c.eval(ctx, "s", `response.status == 200 && !response.results.exists`, resp, nil); err != nil || !ok {
		t.Fatalf("simple: %v %v", ok, err)
	}
	heavy := `[1,2,3,4,5,6,7,8,9,10].all(a, [1,2,3,4,5,6,7,8,9,10].all(b, [1,2,3,4,5,6,7,8,9,10].all(c, a+b+c > 0)))`
	if _, err := c.eval(ctx, "s", heavy, resp, nil); !errors.Is(err, ErrCondition) {
		t.Errorf("cost limit not enforced: %v", err)
	}
	for _, bad := range []string{`response.status +`, `response.status`, `1 + 1`} {
		if _, err := c.eval(ctx, "s", bad, resp, nil); !errors.Is(err, ErrCondition) {
			t.Errorf("%q: %v", bad, err)
		}
		if bad != `response.status` && CheckCondition(bad) == nil {
			t.Errorf("CheckCondition(%q) accepted it", bad)
		}
	}
	// a missing key is an evaluation error, never a silent true
	if ok, err := c.eval(ctx, "s", `response.results.nope == 1`, resp, nil); ok || err == nil {
		t.Errorf("missing key: %v %v", ok, err)
	}
}
