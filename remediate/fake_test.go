package remediate

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/mdrkit/mdr/respond"
)

// fakeHost is a test double for the host product's actuator: a set of
// artifacts (by scope item) that steps remove and undo commands put back.
// It records every command it executes, in order.
type fakeHost struct {
	mu       sync.Mutex
	present  map[string]bool
	executed []string // step ids, in execution order
	undone   []string
	failOn   map[string]error // step id -> error on apply
	failUndo map[string]error
	lieOn    map[string]bool // apply reports success but changes nothing
	dry      int
	active   int // steps executing now
	peak     int
	delay    time.Duration // how long each apply takes
}

func newFakeHost(items ...string) *fakeHost {
	h := &fakeHost{present: map[string]bool{}, failOn: map[string]error{}, failUndo: map[string]error{}, lieOn: map[string]bool{}}
	for _, it := range items {
		h.present[it] = true
	}
	return h
}

func (h *fakeHost) apply(ctx context.Context, _ *Plan, s *Step, _ int, dryRun bool) (outcome, error) {
	h.mu.Lock()
	h.active++
	h.peak = max(h.peak, h.active)
	h.mu.Unlock()
	defer func() { h.mu.Lock(); h.active--; h.mu.Unlock() }()
	time.Sleep(h.delay)
	if err := ctx.Err(); err != nil {
		return outcome{}, err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if dryRun {
		h.dry++
		return outcome{status: 200, detail: "dry run"}, nil
	}
	h.executed = append(h.executed, s.ID)
	if err := h.failOn[s.ID]; err != nil {
		return outcome{status: 500}, err
	}
	if h.lieOn[s.ID] {
		return outcome{status: 200}, nil
	}
	if !h.present[s.ScopeItem] {
		return outcome{status: 404, notFound: true}, nil
	}
	h.present[s.ScopeItem] = false
	undo, _ := json.Marshal(map[string]string{"restore": s.ScopeItem})
	return outcome{status: 200, undo: undo}, nil
}

func (h *fakeHost) undo(ctx context.Context, _ *Plan, s *Step, rec StepRecord) error {
	undo := rec.Undo
	h.mu.Lock()
	defer h.mu.Unlock()
	if err := h.failUndo[s.ID]; err != nil {
		return err
	}
	var u map[string]string
	if err := json.Unmarshal(undo, &u); err != nil {
		return err
	}
	h.present[u["restore"]] = true
	h.undone = append(h.undone, s.ID)
	return nil
}

func (h *fakeHost) query(ctx context.Context, s *Step) (map[string]any, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.present[s.ScopeItem] {
		return map[string]any{"status": int64(200), "results": map[string]any{"exists": true}}, nil
	}
	return map[string]any{"status": int64(404)}, nil
}

func (h *fakeHost) executedCount(id string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := 0
	for _, e := range h.executed {
		if e == id {
			n++
		}
	}
	return n
}

var errBoom = errors.New("actuator: boom")

// chainPlan builds a plan of n steps on items it0..itn-1; deps maps a step
// index to the indexes it depends on.
func chainPlan(id string, n int, deps map[int][]int) *Plan {
	p := &Plan{ID: id, IncidentID: "inc-" + id}
	for i := range n {
		s := Step{
			ID:         fmt.Sprintf("s%02d", i),
			Command:    respond.Command{Action: respond.ActionDelete, Target: respond.Target{File: &respond.File{Path: fmt.Sprintf(`c:\it%d`, i)}}},
			ScopeItem:  fmt.Sprintf("it%d", i),
			Reason:     "test",
			Reversible: true,
			Kind:       KindDeleteFile,
			Check:      &Check{Expr: `response.status == 404`},
		}
		for _, d := range deps[i] {
			s.DependsOn = append(s.DependsOn, fmt.Sprintf("s%02d", d))
		}
		p.Steps = append(p.Steps, s)
	}
	return p
}

func items(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("it%d", i)
	}
	return out
}
