package respond

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

// cacaoVocabulary is CACAO 2.0's command-type-ov without the two types the
// engine executes itself.
var cacaoVocabulary = []string{"bash", "caldera-cmd", "elastic", "http-api", "jupyter", "kestrel", "powershell", "sigma", "ssh", "yara"}

// recordingRunner is a CommandRunner double: it records every request and
// answers each out_args variable from outputs (by variable name), or fails
// commands whose text contains failOn.
type recordingRunner struct {
	types   []string
	outputs map[string]string
	failOn  string
	sleep   time.Duration
	// fn, when set, computes the out_args values of a request.
	fn func(req CommandRequest) map[string]string
	// barrier, when > 0, holds every command containing barrierOn until
	// that many such commands run at once; a command whose context ends
	// first fails.
	barrier   int
	barrierOn string
	atBarrier int
	mu        sync.Mutex
	cond      *sync.Cond
	reqs      []CommandRequest
	active    int
	maxSeen   int
}

func (r *recordingRunner) CommandTypes() []string { return r.types }

func (r *recordingRunner) Run(ctx context.Context, req CommandRequest) (CommandResult, error) {
	r.mu.Lock()
	r.reqs = append(r.reqs, req)
	r.active++
	r.maxSeen = max(r.maxSeen, r.active)
	if r.barrier > 0 && strings.Contains(req.Command, r.barrierOn) {
		if r.cond == nil {
			r.cond = sync.NewCond(&r.mu)
		}
		r.atBarrier++
		r.cond.Broadcast()
		stop := context.AfterFunc(ctx, func() { r.mu.Lock(); r.cond.Broadcast(); r.mu.Unlock() })
		for r.atBarrier < r.barrier && ctx.Err() == nil {
			r.cond.Wait()
		}
		stop()
		if err := ctx.Err(); err != nil {
			r.active--
			r.mu.Unlock()
			return CommandResult{}, fmt.Errorf("barrier: %w", err)
		}
	}
	r.mu.Unlock()
	defer func() {
		r.mu.Lock()
		r.active--
		r.mu.Unlock()
	}()
	if r.sleep > 0 {
		select {
		case <-ctx.Done():
			return CommandResult{}, ctx.Err()
		case <-time.After(r.sleep):
		}
	}
	if r.failOn != "" && strings.Contains(req.Command, r.failOn) {
		return CommandResult{}, fmt.Errorf("command %q failed", req.Command)
	}
	res := CommandResult{Values: map[string]string{}}
	if r.fn != nil {
		res.Values = r.fn(req)
	}
	for _, n := range req.OutArgs {
		if v, ok := r.outputs[n]; ok && res.Values[n] == "" {
			res.Values[n] = v
		}
	}
	return res, nil
}

func (r *recordingRunner) commands() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]string, len(r.reqs))
	for i, q := range r.reqs {
		out[i] = q.Command
	}
	return out
}

// recordingSender is an OpenC2Dispatcher double answering 200 (or status).
type recordingSender struct {
	status StatusCode
	mu     sync.Mutex
	cmds   []Command
	reqs   []Request
}

func (s *recordingSender) Dispatch(_ context.Context, r Request) (Result, error) {
	s.mu.Lock()
	s.cmds = append(s.cmds, r.Command)
	s.reqs = append(s.reqs, r)
	s.mu.Unlock()
	st := s.status
	if st == 0 {
		st = StatusOK
	}
	res := Result{ID: r.Command.CommandID, Request: r, State: StateExecuted, Response: &Response{Status: st}}
	if st != StatusOK {
		res.State = StateFailed
		return res, fmt.Errorf("%w: status %d", ErrFailed, st)
	}
	return res, nil
}

// answeringResponder is a ManualResponder double: it answers approve (or
// blocks until ctx ends when wait is set) and records the requests.
type answeringResponder struct {
	approve bool
	wait    bool
	values  map[string]string
	mu      sync.Mutex
	reqs    []ManualRequest
}

func (m *answeringResponder) Ask(ctx context.Context, req ManualRequest) (ManualAnswer, error) {
	m.mu.Lock()
	m.reqs = append(m.reqs, req)
	m.mu.Unlock()
	if m.wait {
		<-ctx.Done()
		return ManualAnswer{}, ctx.Err()
	}
	return ManualAnswer{Approved: m.approve, By: "analyst", Values: m.values}, nil
}

// engineFor builds an engine with the doubles and the full CACAO
// vocabulary.
func engineFor(t testing.TB, runner *recordingRunner, sender *recordingSender, manual *answeringResponder, opts ...PlaybookOption) *PlaybookEngine {
	t.Helper()
	if runner.types == nil {
		runner.types = cacaoVocabulary
	}
	all := []PlaybookOption{WithCommandRunner(runner), WithDispatcher(sender), WithManualResponder(manual),
		WithPlaybookClock(nil, func(ctx context.Context, d time.Duration) error { return ctx.Err() })}
	e, err := NewPlaybookEngine(append(all, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return e
}
