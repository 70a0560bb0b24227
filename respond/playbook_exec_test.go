package respond

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

func readPlaybook(t testing.TB, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "playbooks", name))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func mustParse(t testing.TB, name string, opts ...LoadOption) *Playbook {
	t.Helper()
	pb, err := ParsePlaybook(readPlaybook(t, name), append([]LoadOption{WithCommandTypes(cacaoVocabulary...), WithFile(name)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return pb
}

// killer decrements __count__ on every "Stop-Process" and opens ticket T-1.
func killer(req CommandRequest) map[string]string {
	switch {
	case strings.HasPrefix(req.Command, "Stop-Process"):
		n, _ := strconv.Atoi(req.Args["__count__"])
		return map[string]string{"__count__": strconv.Itoa(n - 1)}
	case strings.HasPrefix(req.Command, "(Get-Process"):
		return map[string]string{"__count__": "3"}
	case strings.HasPrefix(req.Command, "POST /tickets"):
		return map[string]string{"__ticket__": "T-1"}
	}
	return nil
}

func stepsOf(ex *Execution) map[StepType]int {
	m := map[StepType]int{}
	for _, r := range ex.Steps {
		m[r.Type]++
	}
	return m
}

func recordOf(t *testing.T, ex *Execution, id string) StepRecord {
	t.Helper()
	for _, r := range ex.Steps {
		if r.StepID == id {
			return r
		}
	}
	t.Fatalf("no record of %s in %+v", id, ex.Steps)
	return StepRecord{}
}

func TestPlaybookAllStepTypes(t *testing.T) {
	sub := mustParse(t, "notify-owner.json")
	runner := &recordingRunner{fn: killer}
	sender := &recordingSender{}
	manual := &answeringResponder{approve: true}
	var delays []time.Duration
	var mu sync.Mutex
	e := engineFor(t, runner, sender, manual, WithPlaybookLibrary(NewPlaybookSet(sub)),
		WithPlaybookClock(nil, func(ctx context.Context, d time.Duration) error {
			mu.Lock()
			delays = append(delays, d)
			mu.Unlock()
			return ctx.Err()
		}))
	pb, err := e.Load(readPlaybook(t, "all-steps.json"), "all-steps.json")
	if err != nil {
		t.Fatal(err)
	}
	if len(pb.Warnings) != 0 {
		t.Fatalf("warnings: %v", pb.Warnings)
	}
	var streamed []StepRecord
	ex, err := e.Run(context.Background(), pb, RunOptions{OnStep: func(r StepRecord) { streamed = append(streamed, r) }, Incident: "INC-7"})
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	types := stepsOf(ex)
	for _, st := range []StepType{StepStart, StepEnd, StepAction, StepPlaybookAction, StepParallel, StepIfCondition, StepWhileCondition, StepSwitchCondition} {
		if types[st] == 0 {
			t.Errorf("no %s step executed: %v", st, types)
		}
	}
	if len(streamed) != len(ex.Steps) {
		t.Fatalf("OnStep saw %d records, the execution has %d", len(streamed), len(ex.Steps))
	}
	for _, r := range ex.Steps {
		if r.Status != StepSuccess || r.Ended.Before(r.Started) || r.Started.IsZero() {
			t.Errorf("record %+v", r)
		}
	}
	if !slices.Equal(delays, []time.Duration{10 * time.Millisecond}) {
		t.Fatalf("delays %v, want the hunt step's 10 ms", delays)
	}
	// the while loop killed three processes, one iteration each
	if got := ex.Variables["__count__"].Value; got != "0" {
		t.Fatalf("__count__ = %q, want 0", got)
	}
	w := recordOf(t, ex, "while-condition--00001014-0000-4000-8000-000000000014")
	if w.Detail != "3 iterations" {
		t.Fatalf("while detail %q", w.Detail)
	}
	// the switch took the windows case; command_b64 was decoded and substituted
	if !slices.Contains(runner.commands(), "Collect-Triage -Host WS-042") {
		t.Fatalf("runner saw %q", runner.commands())
	}
	// the OpenC2 command went to the dispatcher with the host substituted
	if len(sender.reqs) != 1 || sender.reqs[0].Command.Action != "contain" || sender.reqs[0].Command.Target.Device.Hostname != "WS-042" ||
		sender.reqs[0].Incident != "INC-7" || !strings.HasPrefix(sender.reqs[0].Requester, "playbook playbook--") {
		t.Fatalf("dispatcher saw %+v", sender.reqs)
	}
	// the sub-playbook returned its ticket, the manual step shows it
	if ex.Variables["__ticket__"].Value != "T-1" {
		t.Fatalf("__ticket__ = %+v", ex.Variables["__ticket__"])
	}
	if len(manual.reqs) != 1 || manual.reqs[0].Command != "Confirm that WS-042 is clean (ticket T-1)" || manual.reqs[0].Deadline.IsZero() {
		t.Fatalf("manual saw %+v", manual.reqs)
	}
	// sub-playbook steps carry the sub-playbook's id
	subSteps := 0
	for _, r := range ex.Steps {
		if r.PlaybookID == sub.ID {
			subSteps++
		}
	}
	if subSteps != 3 {
		t.Fatalf("%d steps of the sub-playbook recorded, want 3", subSteps)
	}
}

func TestPlaybookInputsChooseBranches(t *testing.T) {
	sub := mustParse(t, "notify-owner.json")
	runner := &recordingRunner{fn: killer}
	sender := &recordingSender{}
	e := engineFor(t, runner, sender, &answeringResponder{approve: true}, WithPlaybookLibrary(NewPlaybookSet(sub)))
	pb := mustParse(t, "all-steps.json")
	ex, err := e.Run(context.Background(), pb, RunOptions{Inputs: map[string]string{"__mode__": "monitor", "__os__": "linux", "__host__": "SRV-1"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(sender.reqs) != 0 || stepsOf(ex)[StepParallel] != 0 {
		t.Fatalf("monitor mode contained: %+v", sender.reqs)
	}
	if r := recordOf(t, ex, "if-condition--00001003-0000-4000-8000-000000000003"); r.Detail != "false" {
		t.Fatalf("if detail %q", r.Detail)
	}
	if !slices.Contains(runner.commands(), "collect-triage SRV-1") {
		t.Fatalf("runner saw %q", runner.commands())
	}
}

func TestPlaybookParallelBranchesRunConcurrently(t *testing.T) {
	// The two branches of all-steps' parallel step hold each other at a
	// barrier: run one after the other, the first would wait out its
	// timeout and the step would fail.
	runner := &recordingRunner{fn: killer, barrier: 2, barrierOn: "hunt"}
	sender := &blockingSender{runner: runner}
	e := engineFor(t, runner, &recordingSender{}, &answeringResponder{approve: true},
		WithDispatcher(sender), WithPlaybookLibrary(NewPlaybookSet(mustParse(t, "notify-owner.json"))),
		WithPlaybookLimits(func() PlaybookLimits { l := DefaultPlaybookLimits(); l.StepTimeout = 2 * time.Second; return l }()))
	ex, err := e.Run(context.Background(), mustParse(t, "all-steps.json"), RunOptions{})
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	if r := recordOf(t, ex, "parallel--00001004-0000-4000-8000-000000000004"); r.Status != StepSuccess {
		t.Fatalf("parallel %+v", r)
	}
}

// blockingSender joins the runner's barrier, so that an OpenC2 branch and
// a runner branch must be in flight together.
type blockingSender struct{ runner *recordingRunner }

func (b *blockingSender) Dispatch(ctx context.Context, r Request) (Result, error) {
	if _, err := b.runner.Run(ctx, CommandRequest{Command: "hunt (openc2 branch)"}); err != nil {
		return Result{}, err
	}
	return Result{State: StateExecuted, Response: &Response{Status: StatusOK}}, nil
}

func TestPlaybookFailureHandling(t *testing.T) {
	runner := &recordingRunner{failOn: "FAIL"}
	e := engineFor(t, runner, &recordingSender{}, &answeringResponder{})
	pb := mustParse(t, "failures.json")
	ex, err := e.Run(context.Background(), pb, RunOptions{})
	if err == nil || !ex.Failed {
		t.Fatalf("err %v failed %v", err, ex.Failed)
	}
	var se *StepError
	if !errors.As(err, &se) || se.Step != "action--000010cc-0000-4000-8000-0000000000cc" {
		t.Fatalf("error %v does not name the unhandled step", err)
	}
	if errors.Is(err, ErrPlaybookLimit) || !errors.Is(err, ErrStepFailed) {
		t.Fatalf("error %v", err)
	}
	want := []string{"false # FAIL", "cleanup", "false # FAIL again", "page on-call"}
	if got := runner.commands(); !slices.Equal(got, want) {
		t.Fatalf("ran %q, want %q", got, want)
	}
	if r := recordOf(t, ex, "action--000010ca-0000-4000-8000-0000000000ca"); r.Status != StepFailed || r.Error == "" {
		t.Fatalf("first failure %+v", r)
	}
}

func TestPlaybookTimeoutAndWhileCap(t *testing.T) {
	runner := &recordingRunner{sleep: 10 * time.Second}
	l := DefaultPlaybookLimits()
	l.MaxWhileIterations = 5
	e := engineFor(t, runner, &recordingSender{}, &answeringResponder{}, WithPlaybookLimits(l))
	pb, err := e.Load(readPlaybook(t, "limits.json"), "limits.json")
	if err != nil {
		t.Fatal(err)
	}
	runner.sleep = 0
	slow := &recordingRunner{types: cacaoVocabulary, sleep: 10 * time.Second}
	e2, err := NewPlaybookEngine(WithCommandRunner(&switchRunner{slow: slow, fast: runner}), WithPlaybookLimits(l))
	if err != nil {
		t.Fatal(err)
	}
	ex, err := e2.Run(context.Background(), pb, RunOptions{})
	if err != nil { // both failures are handled by on_failure
		t.Fatalf("run: %v", err)
	}
	if r := recordOf(t, ex, "action--0000112e-0000-4000-8000-00000000012e"); r.Status != StepTimeout || !strings.Contains(r.Error, "ACTION_TIMEOUT") {
		t.Fatalf("slow step %+v", r)
	}
	w := recordOf(t, ex, "while-condition--0000112f-0000-4000-8000-00000000012f")
	if w.Status != StepFailed || !strings.Contains(w.Error, "after 5 iterations") || w.Detail != "5 iterations" {
		t.Fatalf("while %+v", w)
	}
	if got := len(runner.commands()); got != 5 {
		t.Fatalf("loop body ran %d times, want 5", got)
	}
	if ex.Steps[len(ex.Steps)-1].StepID != "end--0000118e-0000-4000-8000-00000000018e" {
		t.Fatalf("did not end at the while's on_failure end step: %+v", ex.Steps[len(ex.Steps)-1])
	}
}

// switchRunner sends "sleep" commands to slow and the others to fast.
type switchRunner struct{ slow, fast *recordingRunner }

func (s *switchRunner) CommandTypes() []string { return cacaoVocabulary }
func (s *switchRunner) Run(ctx context.Context, req CommandRequest) (CommandResult, error) {
	if req.Command == "sleep" {
		return s.slow.Run(ctx, req)
	}
	return s.fast.Run(ctx, req)
}

func TestPlaybookRecursionIsBounded(t *testing.T) {
	pb := mustParse(t, "recursive.json")
	l := DefaultPlaybookLimits()
	l.MaxDepth = 4
	e := engineFor(t, &recordingRunner{}, &recordingSender{}, &answeringResponder{}, WithPlaybookLibrary(NewPlaybookSet(pb)), WithPlaybookLimits(l))
	ex, err := e.Run(context.Background(), pb, RunOptions{})
	if !errors.Is(err, ErrPlaybookLimit) || !strings.Contains(err.Error(), "deeper than 4") {
		t.Fatalf("err %v", err)
	}
	calls := stepsOf(ex)[StepPlaybookAction]
	if calls != 5 { // depths 0..3 call, the 5th call is refused
		t.Fatalf("%d playbook-action records, want 5", calls)
	}
}

func TestPlaybookExecutedStepLimit(t *testing.T) {
	l := DefaultPlaybookLimits()
	l.MaxExecutedSteps = 20
	l.MaxWhileIterations = 1000
	runner := &recordingRunner{failOn: "sleep"}
	e := engineFor(t, runner, &recordingSender{}, &answeringResponder{}, WithPlaybookLimits(l))
	pb := mustParse(t, "limits.json")
	_, err := e.Run(context.Background(), pb, RunOptions{})
	if !errors.Is(err, ErrPlaybookLimit) || !strings.Contains(err.Error(), "more than 20 steps") {
		t.Fatalf("err %v", err)
	}
}

func TestPlaybookInvalidOnesAreRefused(t *testing.T) {
	cases := map[string]struct {
		reason      string
		unsupported bool
	}{
		"unknown-step-type.json":        {`workflow.single--000011f6-0000-4000-8000-0000000001f6.type: "single" is not a CACAO 2.0 workflow step type`, true},
		"unsupported-command-type.json": {`workflow.action--000011f6-0000-4000-8000-0000000001f6.commands[0].type: command type "ftp"`, true},
		"cycle.json":                    {"is part of a cycle", false},
		"bad-condition.json":            {`condition: condition: unexpected "=" at offset 14`, false},
		"parallel-one-branch.json":      {"a parallel step needs at least two", false},
		"openc2-bad-action.json":        {"content_b64: openc2 command invalid", false},
		"end-with-next.json":            {"an end step must not have on_completion", false},
	}
	entries, err := os.ReadDir(filepath.Join("testdata", "playbooks", "invalid"))
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != len(cases) {
		t.Fatalf("%d files, %d cases", len(entries), len(cases))
	}
	e := engineFor(t, &recordingRunner{}, &recordingSender{}, &answeringResponder{})
	for name, c := range cases {
		_, err := e.Load(readPlaybook(t, filepath.Join("invalid", name)), name)
		var pe *PlaybookError
		if !errors.As(err, &pe) || !errors.Is(err, ErrPlaybookInvalid) || !strings.Contains(err.Error(), c.reason) {
			t.Errorf("%s: err %v, want %q", name, err, c.reason)
			continue
		}
		if errors.Is(err, ErrUnsupported) != c.unsupported {
			t.Errorf("%s: unsupported=%v: %v", name, !c.unsupported, err)
		}
	}
}

func TestPlaybookEngineRefusesWhatItCannotRun(t *testing.T) {
	// An engine with a dispatcher only: the powershell, bash and manual
	// steps are named at load time, and a playbook parsed elsewhere is
	// refused before anything runs.
	sender := &recordingSender{}
	e, err := NewPlaybookEngine(WithDispatcher(sender))
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.Load(readPlaybook(t, "all-steps.json"), "all-steps.json")
	if !errors.Is(err, ErrUnsupported) || !strings.Contains(err.Error(), `workflow.action--00001002-0000-4000-8000-000000000002.commands[0].type: command type "powershell"`) ||
		!strings.Contains(err.Error(), `command type "manual"`) {
		t.Fatalf("err %v", err)
	}
	ex, err := e.Run(context.Background(), mustParse(t, "all-steps.json"), RunOptions{})
	if !errors.Is(err, ErrUnsupported) || len(ex.Steps) != 0 || len(sender.reqs) != 0 {
		t.Fatalf("err %v, %d steps", err, len(ex.Steps))
	}
}

func TestPlaybookDryRun(t *testing.T) {
	runner := &recordingRunner{fn: killer}
	sender := &recordingSender{}
	e := engineFor(t, runner, sender, &answeringResponder{approve: true}, WithPlaybookLibrary(NewPlaybookSet(mustParse(t, "notify-owner.json"))))
	pb := mustParse(t, "all-steps.json")
	ex, err := e.Run(context.Background(), pb, RunOptions{DryRun: true, Inputs: map[string]string{"__host__": "WS-9"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(runner.reqs) != 0 {
		t.Fatalf("dry run ran %q", runner.commands())
	}
	if len(sender.reqs) != 0 {
		t.Fatalf("count is unknown in a dry run, so the if is false; dispatcher saw %+v", sender.reqs)
	}
	if r := recordOf(t, ex, "action--00001002-0000-4000-8000-000000000002"); r.Detail != "dry run: powershell: (Get-Process -Name evil).Count" {
		t.Fatalf("detail %q", r.Detail)
	}
	// with a count, the containment is dispatched as a dry run
	pb2 := mustParse(t, "all-steps.json")
	pb2.Variables = maps(pb2.Variables, "__count__", Variable{Type: "integer", Value: "1"})
	if _, err := e.Run(context.Background(), pb2, RunOptions{DryRun: true}); err == nil {
		t.Fatal("the while loop cannot end in a dry run and must hit its cap")
	}
	if len(sender.reqs) != 1 || !sender.reqs[0].DryRun {
		t.Fatalf("dispatcher saw %+v", sender.reqs)
	}
}

func maps(m map[string]Variable, k string, v Variable) map[string]Variable {
	out := make(map[string]Variable, len(m)+1)
	for a, b := range m {
		out[a] = b
	}
	out[k] = v
	return out
}

func TestPlaybookManualDeclinedAndUnanswered(t *testing.T) {
	sub := mustParse(t, "notify-owner.json")
	for _, c := range []struct {
		name   string
		manual *answeringResponder
		status StepStatus
		want   string
	}{
		{"declined", &answeringResponder{approve: false}, StepFailed, "declined by analyst"},
		{"unanswered", &answeringResponder{wait: true}, StepTimeout, "ACTION_TIMEOUT"},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := engineFor(t, &recordingRunner{fn: killer}, &recordingSender{}, c.manual, WithPlaybookLibrary(NewPlaybookSet(sub)))
			pb := mustParse(t, "all-steps.json")
			st := *pb.Steps["action--00001029-0000-4000-8000-000000000029"]
			ms := int64(20)
			st.Timeout = &ms
			pb.Steps = stepMap(pb.Steps, &st)
			ex, err := e.Run(context.Background(), pb, RunOptions{})
			if !errors.Is(err, ErrManualDeclined) && c.status == StepFailed || err == nil {
				t.Fatalf("err %v", err)
			}
			r := recordOf(t, ex, st.ID)
			if r.Status != c.status || !strings.Contains(r.Error, c.want) {
				t.Fatalf("record %+v", r)
			}
		})
	}
}

func stepMap(m map[string]*Step, s *Step) map[string]*Step {
	out := make(map[string]*Step, len(m))
	for k, v := range m {
		out[k] = v
	}
	out[s.ID] = s
	return out
}

func TestPlaybookOpenC2FailureFailsTheStep(t *testing.T) {
	sender := &recordingSender{status: StatusInternalError}
	e := engineFor(t, &recordingRunner{fn: killer}, sender, &answeringResponder{approve: true}, WithPlaybookLibrary(NewPlaybookSet(mustParse(t, "notify-owner.json"))))
	ex, err := e.Run(context.Background(), mustParse(t, "all-steps.json"), RunOptions{})
	if !errors.Is(err, ErrFailed) || !errors.Is(err, ErrStepFailed) {
		t.Fatalf("err %v", err)
	}
	if r := recordOf(t, ex, "parallel--00001004-0000-4000-8000-000000000004"); r.Status != StepFailed {
		t.Fatalf("parallel %+v", r)
	}
}

func TestPlaybookConstantCannotBeAssigned(t *testing.T) {
	runner := &recordingRunner{fn: func(CommandRequest) map[string]string { return map[string]string{"__process__": "x"} }}
	e := engineFor(t, runner, &recordingSender{}, &answeringResponder{approve: true}, WithPlaybookLibrary(NewPlaybookSet(mustParse(t, "notify-owner.json"))))
	pb := mustParse(t, "all-steps.json")
	st := *pb.Steps["action--00001002-0000-4000-8000-000000000002"]
	st.OutArgs = []string{"__process__"}
	pb.Steps = stepMap(pb.Steps, &st)
	ex, _ := e.Run(context.Background(), pb, RunOptions{})
	if r := recordOf(t, ex, st.ID); r.Status != StepFailed || !strings.Contains(r.Error, "constant variable: __process__") {
		t.Fatalf("record %+v", r)
	}
}

func TestPlaybookOpenC2OnEachTarget(t *testing.T) {
	// An OpenC2 command that names no host acts on every target of its
	// step, each CACAO target's address giving the host.
	content := b64json(t, map[string]any{"action": "contain", "target": map[string]any{"file": map[string]any{"path": `C:\Users\Public\__name__:value`}}, "command_id": "fixed-id"})
	doc := `{"type":"playbook","spec_version":"cacao-2.0","id":"playbook--00009000-0000-4000-8000-000000000000","name":"targets",
	 "created_by":"identity--00009000-0000-4000-8000-000000000001","created":"2026-12-01T00:00:00.000Z","modified":"2026-12-01T00:00:00.000Z",
	 "playbook_variables":{"__name__":{"type":"string","value":"evil.exe"}},
	 "workflow_start":"start--00009000-0000-4000-8000-000000000002",
	 "workflow":{
	  "start--00009000-0000-4000-8000-000000000002":{"type":"start","on_completion":"action--00009000-0000-4000-8000-000000000003"},
	  "action--00009000-0000-4000-8000-000000000003":{"type":"action","agent":"security-category--00009000-0000-4000-8000-000000000005",
	    "targets":["net-address--00009000-0000-4000-8000-000000000006","net-address--00009000-0000-4000-8000-000000000007"],
	    "commands":[{"type":"openc2-http","command":"POST /openc2 HTTP/1.1","content_b64":"` + content + `"}],
	    "on_completion":"end--00009000-0000-4000-8000-000000000004"},
	  "end--00009000-0000-4000-8000-000000000004":{"type":"end"}},
	 "agent_definitions":{"security-category--00009000-0000-4000-8000-000000000005":{"type":"security-category","name":"EDR"}},
	 "target_definitions":{
	  "net-address--00009000-0000-4000-8000-000000000006":{"type":"net-address","name":"a","address":{"dname":["WS-1.corp.example"]}},
	  "net-address--00009000-0000-4000-8000-000000000007":{"type":"net-address","name":"b","address":{"ipv4":["10.0.0.7"]}}}}`
	sender := &recordingSender{}
	e := engineFor(t, &recordingRunner{}, sender, &answeringResponder{})
	pb, err := e.Load([]byte(doc), "targets")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.Run(context.Background(), pb, RunOptions{}); err != nil {
		t.Fatal(err)
	}
	if len(sender.cmds) != 2 {
		t.Fatalf("dispatched %d commands", len(sender.cmds))
	}
	for i, want := range []string{"WS-1.corp.example", "10.0.0.7"} {
		c := sender.cmds[i]
		if h := c.Hosts(); len(h) != 1 || h[0] != want || c.Target.File.Path != `C:\Users\Public\evil.exe` || c.CommandID != "" {
			t.Errorf("command %d: hosts %v path %q id %q", i, h, c.Target.File.Path, c.CommandID)
		}
	}
}

func b64json(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(b)
}

func TestPlaybookTotalTimeout(t *testing.T) {
	l := DefaultPlaybookLimits()
	l.Timeout = 50 * time.Millisecond
	runner := &recordingRunner{sleep: 10 * time.Second}
	e := engineFor(t, runner, &recordingSender{}, &answeringResponder{}, WithPlaybookLimits(l))
	ex, err := e.Run(context.Background(), mustParse(t, "failures.json"), RunOptions{})
	if !errors.Is(err, ErrPlaybookLimit) || !strings.Contains(err.Error(), "took longer than 50ms") || !ex.Failed {
		t.Fatalf("err %v", err)
	}
	if len(runner.reqs) != 1 {
		t.Fatalf("ran %q after the deadline", runner.commands())
	}
}

func TestPlaybookBuiltByHandDoesNotPanic(t *testing.T) {
	// A Playbook assembled in Go rather than parsed: a missing step and an
	// uncompiled condition are errors, not panics.
	e := engineFor(t, &recordingRunner{}, &recordingSender{}, &answeringResponder{})
	pb := &Playbook{ID: "playbook--x", Start: "start--1", Steps: map[string]*Step{
		"start--1":        {ID: "start--1", Type: StepStart, OnCompletion: "if-condition--2"},
		"if-condition--2": {ID: "if-condition--2", Type: StepIfCondition, Condition: "__a__:value = 1", OnTrue: "end--3", OnCompletion: "action--9"},
		"end--3":          {ID: "end--3", Type: StepEnd},
	}}
	ex, err := e.Run(context.Background(), pb, RunOptions{})
	if !errors.Is(err, ErrPlaybookInvalid) || !strings.Contains(err.Error(), "has no step action--9") {
		t.Fatalf("err %v", err)
	}
	if r := recordOf(t, ex, "if-condition--2"); r.Status != StepSuccess || r.Detail != "false" {
		t.Fatalf("if %+v", r)
	}
}

func TestCommandRecorderAnswersOutArgs(t *testing.T) {
	rec := NewCommandRecorder()
	rec.Outputs = map[string]string{"__count__": "0", "__ticket__": "T-9"}
	e, err := NewPlaybookEngine(WithCommandRunner(rec), WithDispatcher(&recordingSender{}), WithManualResponder(&answeringResponder{approve: true}),
		WithPlaybookLibrary(NewPlaybookSet(mustParse(t, "notify-owner.json"))))
	if err != nil {
		t.Fatal(err)
	}
	ex, err := e.Run(context.Background(), mustParse(t, "all-steps.json"), RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if ex.Variables["__ticket__"].Value != "T-9" || len(rec.Requests()) != 3 { // count, triage, ticket
		t.Fatalf("ticket %+v, %d requests", ex.Variables["__ticket__"], len(rec.Requests()))
	}
}
