package respond

import (
	"context"
	"encoding/base64"
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
	mu      sync.Mutex
	reqs    []CommandRequest
	active  int
	maxSeen int
}

func (r *recordingRunner) CommandTypes() []string { return r.types }

func (r *recordingRunner) Run(ctx context.Context, req CommandRequest) (CommandResult, error) {
	r.mu.Lock()
	r.reqs = append(r.reqs, req)
	r.active++
	r.maxSeen = max(r.maxSeen, r.active)
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
	for _, n := range req.OutArgs {
		if v, ok := r.outputs[n]; ok {
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

// recordingSender is an OpenC2Sender double answering 200 (or status).
type recordingSender struct {
	status StatusCode
	mu     sync.Mutex
	cmds   []Command
}

func (s *recordingSender) Send(_ context.Context, c Command) (Response, error) {
	s.mu.Lock()
	s.cmds = append(s.cmds, c)
	s.mu.Unlock()
	st := s.status
	if st == 0 {
		st = StatusOK
	}
	return Response{Status: st}, nil
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

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

// engineFor builds an engine with the doubles and the full CACAO
// vocabulary.
func engineFor(t testing.TB, runner *recordingRunner, sender *recordingSender, manual *answeringResponder, opts ...PlaybookOption) *PlaybookEngine {
	t.Helper()
	if runner.types == nil {
		runner.types = cacaoVocabulary
	}
	all := []PlaybookOption{WithCommandRunner(runner), WithOpenC2Sender(sender), WithManualResponder(manual),
		WithPlaybookClock(nil, func(ctx context.Context, d time.Duration) error { return ctx.Err() })}
	e, err := NewPlaybookEngine(append(all, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return e
}
