package respond

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// OpenC2Dispatcher sends the OpenC2 command embedded in an openc2-http
// step. *Dispatcher is the one to use, so that policy, approval, dry-run and
// the audit log apply to commands that come from playbooks exactly as to
// any other; the engine fills the Request's requester ("playbook <id>"),
// reason (the step) and incident. Dispatch's error is nil only when the
// command executed (or was a dry run). It must be safe for concurrent use:
// parallel branches dispatch at the same time.
type OpenC2Dispatcher interface {
	Dispatch(ctx context.Context, req Request) (Result, error)
}

// ManualRequest is what a manual command asks of a human.
type ManualRequest struct {
	PlaybookID, StepID, StepName string
	// Command is the manual command's text (command, or command_b64
	// decoded), with variables substituted.
	Command     string
	Description string
	Agent       *AgentTarget
	Targets     []AgentTarget
	// OutArgs are the variables the human may fill in.
	OutArgs []string
	// Deadline is when the step times out (the answer counts as no).
	Deadline time.Time
}

// ManualAnswer is a human's answer to a manual command.
type ManualAnswer struct {
	Approved bool
	// By names who answered.
	By string
	// Values fills out_args variables by name.
	Values map[string]string
}

// ManualResponder puts manual commands to a human (a terminal prompt, a
// ticket, a chat message) and waits for the answer or ctx's end, whichever
// comes first. It must be safe for concurrent use.
type ManualResponder interface {
	Ask(ctx context.Context, req ManualRequest) (ManualAnswer, error)
}

// CommandRequest is one command for a CommandRunner: its type and text with
// the step's variables substituted, and the step's agent and targets.
type CommandRequest struct {
	PlaybookID, StepID string
	Type               string
	// Command is the command (or command_b64 decoded), substituted.
	Command string
	// Content is an http-api command's body (content or content_b64
	// decoded), substituted.
	Content []byte
	Headers map[string][]string
	Agent   *AgentTarget
	Targets []AgentTarget
	// Args holds the values of the step's in_args.
	Args map[string]string
	// OutArgs are the variables the command is expected to return.
	OutArgs []string
}

// CommandResult is what a command returned: values for out_args variables
// (other names are ignored).
type CommandResult struct {
	Values map[string]string
}

// CommandRunner is what the host supplies to execute the command types the
// library does not execute itself (bash, powershell, ssh, http-api, …).
// CommandTypes lists the types it runs: a playbook with any other type fails
// to load. Run returns an error when the command failed. Implementations
// must be safe for concurrent use and must honour ctx, which carries the
// step's timeout.
type CommandRunner interface {
	CommandTypes() []string
	Run(ctx context.Context, req CommandRequest) (CommandResult, error)
}

// StepStatus is the outcome of one executed step.
type StepStatus string

// Step outcomes.
const (
	StepSuccess StepStatus = "success"
	StepFailed  StepStatus = "failed"
	StepTimeout StepStatus = "timeout"
)

// StepRecord records one executed step: what it was, how it ended, when.
// A step executed several times (inside a while loop) has one record per
// execution. Detail says what a conditional step chose ("true", "false",
// the switch case, the number of while iterations).
type StepRecord struct {
	PlaybookID string     `json:"playbook_id"`
	StepID     string     `json:"step_id"`
	Name       string     `json:"name"`
	Type       StepType   `json:"type"`
	Status     StepStatus `json:"status"`
	Started    time.Time  `json:"started"`
	Ended      time.Time  `json:"ended"`
	Detail     string     `json:"detail,omitempty"`
	Error      string     `json:"error,omitempty"`
}

// Execution is the record of one playbook run.
type Execution struct {
	PlaybookID string
	// Failed is true when a failure was not handled by an on_failure
	// step, or when the workflow_exception step ran.
	Failed         bool
	Started, Ended time.Time
	// Steps lists the executed steps in the order they ended.
	Steps []StepRecord
	// Variables are the playbook's variables at the end.
	Variables map[string]Variable
}

// PlaybookEngine executes CACAO playbooks: start, end, action,
// playbook-action, parallel (branches run concurrently), if-condition,
// while-condition (capped), switch-condition; delays, timeouts,
// on_success/on_failure/on_completion and workflow_exception; openc2-http
// commands through an OpenC2Sender (the Dispatcher), manual commands
// through a ManualResponder, every other command type through the host's
// CommandRunner.
//
// Failure handling: when a step fails, its on_failure step runs next; with
// no on_failure, the playbook's workflow_exception step runs and the
// execution ends failed; with neither, the execution continues at
// on_completion when the step has one, and the failure is recorded. A
// failure inside a branch (of if, while, switch, parallel) that nothing in
// the branch handles fails the step that started the branch.
//
// A PlaybookEngine is safe for concurrent use; each Run is independent.
type PlaybookEngine struct {
	sender  OpenC2Dispatcher
	manual  ManualResponder
	runner  CommandRunner
	library PlaybookLibrary
	limits  PlaybookLimits
	types   map[string]bool
	now     func() time.Time
	sleep   func(context.Context, time.Duration) error
}

// PlaybookOption configures a PlaybookEngine.
type PlaybookOption func(*PlaybookEngine) error

// WithDispatcher makes the engine execute openc2-http commands through d
// (normally the *Dispatcher).
func WithDispatcher(d OpenC2Dispatcher) PlaybookOption {
	return func(e *PlaybookEngine) error { e.sender = d; return nil }
}

// WithManualResponder makes the engine execute manual commands by asking m.
func WithManualResponder(m ManualResponder) PlaybookOption {
	return func(e *PlaybookEngine) error { e.manual = m; return nil }
}

// WithCommandRunner makes the engine execute r's command types through r.
func WithCommandRunner(r CommandRunner) PlaybookOption {
	return func(e *PlaybookEngine) error {
		for _, t := range r.CommandTypes() {
			if t == CommandOpenC2HTTP || t == CommandManual || t == "" {
				return fmt.Errorf("respond: a CommandRunner cannot take command type %q", t)
			}
		}
		e.runner = r
		return nil
	}
}

// WithPlaybookLibrary gives playbook-action steps their playbooks.
func WithPlaybookLibrary(l PlaybookLibrary) PlaybookOption {
	return func(e *PlaybookEngine) error { e.library = l; return nil }
}

// WithPlaybookLimits sets the limits (DefaultPlaybookLimits otherwise).
func WithPlaybookLimits(l PlaybookLimits) PlaybookOption {
	return func(e *PlaybookEngine) error {
		if err := l.Validate(); err != nil {
			return err
		}
		e.limits = l
		return nil
	}
}

// WithPlaybookClock sets the clock of step records and the wait of step
// delays (time.Now and a timer otherwise; nil keeps the default).
func WithPlaybookClock(now func() time.Time, sleep func(ctx context.Context, d time.Duration) error) PlaybookOption {
	return func(e *PlaybookEngine) error {
		if now != nil {
			e.now = now
		}
		if sleep != nil {
			e.sleep = sleep
		}
		return nil
	}
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// NewPlaybookEngine returns an engine. Without a sender, responder or
// runner, playbooks that need one fail to load.
func NewPlaybookEngine(opts ...PlaybookOption) (*PlaybookEngine, error) {
	e := &PlaybookEngine{limits: DefaultPlaybookLimits(), now: time.Now, sleep: sleepCtx}
	for _, o := range opts {
		if err := o(e); err != nil {
			return nil, err
		}
	}
	e.types = map[string]bool{}
	if e.sender != nil {
		e.types[CommandOpenC2HTTP] = true
	}
	if e.manual != nil {
		e.types[CommandManual] = true
	}
	if e.runner != nil {
		for _, t := range e.runner.CommandTypes() {
			e.types[t] = true
		}
	}
	return e, nil
}

// CommandTypes lists the command types the engine executes.
func (e *PlaybookEngine) CommandTypes() []string { return sortedTypes(e.types) }

// Load parses and validates a playbook against the specification and this
// engine: its command types, its library, its limits. file names the
// source in errors (may be empty).
func (e *PlaybookEngine) Load(data []byte, file string) (*Playbook, error) {
	opts := []LoadOption{withExactCommandTypes(e.types), WithLoadLimits(e.limits), WithFile(file)}
	if e.library != nil {
		opts = append(opts, WithLibrary(e.library))
	}
	return ParsePlaybook(data, opts...)
}

func withExactCommandTypes(types map[string]bool) LoadOption {
	return func(c *loadConfig) error {
		c.types = make(map[string]bool, len(types))
		for t := range types {
			c.types[t] = true
		}
		return nil
	}
}

// fatalError marks an error that stops the whole execution: a limit on
// the execution, the end of the caller's context.
type fatalError struct{ err error }

func (e *fatalError) Error() string { return e.err.Error() }
func (e *fatalError) Unwrap() error { return e.err }

func isFatal(err error) bool {
	var f *fatalError
	return errors.As(err, &f)
}

// execution is the state of one Run.
type execution struct {
	e        *PlaybookEngine
	opts     RunOptions
	onStep   func(StepRecord)
	executed atomic.Int64
	mu       sync.Mutex
	records  []StepRecord
}

// frame is one playbook being executed (the top one or a sub-playbook).
type frame struct {
	pb    *Playbook
	depth int
}

// RunOptions are the inputs of one execution.
type RunOptions struct {
	// Inputs give playbook variables (external ones, normally) their
	// values, by name with the underscores.
	Inputs map[string]string
	// OnStep, when not nil, is called for each step as it ends, one call
	// at a time; it must not block for long.
	OnStep func(StepRecord)
	// Incident and Requester go into every OpenC2 request (Requester
	// defaults to "playbook <id>").
	Incident, Requester string
	// DryRun makes OpenC2 requests dry runs (the Dispatcher records what
	// it would have done) and does not run CommandRunner commands: their
	// step records say what would have run. Manual commands are still
	// asked.
	DryRun bool
}

// Run executes the playbook. The returned error joins every failure that
// was not handled by an on_failure step (each a *StepError), or reports why
// the run stopped; the Execution is returned in both cases.
func (e *PlaybookEngine) Run(ctx context.Context, pb *Playbook, opts RunOptions) (*Execution, error) {
	inputs := opts.Inputs
	x := &execution{e: e, opts: opts, onStep: opts.OnStep}
	ex := &Execution{PlaybookID: pb.ID, Started: e.now()}
	if err := e.check(pb, 0, map[*Playbook]bool{}); err != nil {
		ex.Ended, ex.Failed = e.now(), true
		return ex, err
	}
	ctx, cancel := context.WithTimeout(ctx, e.limits.Timeout)
	defer cancel()
	root := newRootScope(pb.Variables, inputs)
	for k, val := range inputs {
		if _, ok := pb.Variables[k]; !ok {
			root.vars[k] = &Variable{Type: "string", Value: val}
		}
	}
	handled, err := x.walk(ctx, &frame{pb: pb}, pb.Start, root, true)
	ex.Ended = e.now()
	ex.Steps = x.records
	ex.Variables = root.snapshot()
	ex.Failed = err != nil || handled
	if err == nil && handled {
		err = fmt.Errorf("playbook %s: a failure ran the workflow_exception step", pb.ID)
	}
	if ctx.Err() != nil && err != nil && errors.Is(err, context.DeadlineExceeded) {
		err = fmt.Errorf("%w: the run took longer than %v: %w", ErrPlaybookLimit, e.limits.Timeout, err)
	}
	return ex, err
}

// check verifies, before anything runs, that the playbook (and the ones it
// calls) use only what this engine executes — for playbooks parsed with
// other options than Load's.
func (e *PlaybookEngine) check(pb *Playbook, depth int, seen map[*Playbook]bool) error {
	if seen[pb] {
		return nil
	}
	seen[pb] = true
	if pb.Revoked {
		return fmt.Errorf("%w: playbook %s is revoked", ErrPlaybookInvalid, pb.ID)
	}
	if now := e.now(); !pb.ValidFrom.IsZero() && now.Before(pb.ValidFrom) || !pb.ValidUntil.IsZero() && !now.Before(pb.ValidUntil) {
		return fmt.Errorf("%w: playbook %s is valid from %v until %v, not at %v", ErrPlaybookInvalid, pb.ID,
			pb.ValidFrom.Format(time.RFC3339), pb.ValidUntil.Format(time.RFC3339), now.Format(time.RFC3339))
	}
	for _, id := range sortedStepIDs(pb) {
		st := pb.Steps[id]
		for i, c := range st.Commands {
			if !e.types[c.Type] {
				return &PlaybookError{Playbook: pb.ID, unsupported: true, Problems: []Problem{{
					Field:  fmt.Sprintf("workflow.%s.commands[%d].type", id, i),
					Reason: fmt.Sprintf("command type %q: %v by this engine", c.Type, ErrUnsupported)}}}
			}
		}
		if st.Type == StepPlaybookAction && depth < e.limits.MaxDepth {
			if e.library == nil {
				return &PlaybookError{Playbook: pb.ID, Problems: []Problem{{Field: "workflow." + id, Reason: "playbook-action needs a playbook library"}}}
			}
			sub, err := e.library.Playbook(st.PlaybookID, st.PlaybookVersion)
			if err != nil {
				return &StepError{Playbook: pb.ID, Step: id, Err: err}
			}
			if err := e.check(sub, depth+1, seen); err != nil {
				return err
			}
		}
	}
	return nil
}

func (x *execution) record(r StepRecord) {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.records = append(x.records, r)
	if x.onStep != nil {
		x.onStep(r)
	}
}

// walk runs steps from start until an end step (or a step with no next
// one). It returns the failures nothing handled; handled reports that the
// workflow_exception step ran (top-level walks only).
func (x *execution) walk(ctx context.Context, f *frame, start string, sc *varScope, top bool) (handled bool, err error) {
	var failures []error
	for id := start; id != ""; {
		if err := ctx.Err(); err != nil {
			return handled, errors.Join(append(failures, &fatalError{err})...)
		}
		if n := x.executed.Add(1); n > int64(x.e.limits.MaxExecutedSteps) {
			return handled, errors.Join(append(failures, &fatalError{fmt.Errorf("%w: more than %d steps executed", ErrPlaybookLimit, x.e.limits.MaxExecutedSteps)})...)
		}
		st := f.pb.Steps[id]
		if st == nil { // only a Playbook not made by ParsePlaybook can get here
			return handled, errors.Join(append(failures, &fatalError{fmt.Errorf("%w: playbook %s has no step %s", ErrPlaybookInvalid, f.pb.ID, id)})...)
		}
		if st.Type == StepEnd {
			t := x.e.now()
			x.record(StepRecord{PlaybookID: f.pb.ID, StepID: st.ID, Name: st.Name, Type: st.Type, Status: StepSuccess, Started: t, Ended: t})
			break
		}
		serr := x.step(ctx, f, st, sc)
		var next string
		switch {
		case serr == nil:
			next = st.OnSuccess
			if next == "" {
				next = st.OnCompletion
			}
		case isFatal(serr):
			return handled, errors.Join(append(failures, serr)...)
		case st.OnFailure != "":
			next = st.OnFailure
		case top && f.pb.Exception != "":
			failures = append(failures, serr)
			_, exErr := x.walk(ctx, f, f.pb.Exception, sc, false)
			if exErr != nil {
				failures = append(failures, exErr)
			}
			return true, errors.Join(failures...)
		default:
			failures = append(failures, serr)
			next = st.OnCompletion
		}
		id = next
	}
	return handled, errors.Join(failures...)
}

// step runs one step that is not an end step and records it.
func (x *execution) step(ctx context.Context, f *frame, st *Step, parent *varScope) error {
	rec := StepRecord{PlaybookID: f.pb.ID, StepID: st.ID, Name: st.Name, Type: st.Type, Started: x.e.now()}
	sc := parent.child(st.Variables)
	err := func() error {
		if st.Delay != nil && *st.Delay > 0 {
			if err := x.e.sleep(ctx, time.Duration(*st.Delay)*time.Millisecond); err != nil {
				return &fatalError{err}
			}
		}
		sctx := ctx
		var timeout time.Duration
		if st.Timeout != nil && *st.Timeout > 0 {
			timeout = min(time.Duration(*st.Timeout)*time.Millisecond, x.e.limits.MaxStepTimeout)
		} else if st.Type == StepAction {
			timeout = x.e.limits.StepTimeout
		}
		if timeout > 0 {
			var cancel context.CancelFunc
			sctx, cancel = context.WithTimeout(ctx, timeout)
			defer cancel()
		}
		err := x.run(sctx, f, st, sc, &rec)
		if err != nil && ctx.Err() == nil && sctx.Err() != nil && errors.Is(sctx.Err(), context.DeadlineExceeded) {
			return fmt.Errorf("%w after %v (ACTION_TIMEOUT): %v", ErrStepTimeout, timeout, err)
		}
		if err != nil && ctx.Err() != nil && !isFatal(err) {
			return &fatalError{err}
		}
		return err
	}()
	rec.Ended = x.e.now()
	switch {
	case err == nil:
		rec.Status = StepSuccess
	case errors.Is(err, ErrStepTimeout):
		rec.Status = StepTimeout
	default:
		rec.Status = StepFailed
	}
	if err != nil {
		rec.Error = err.Error()
		var se *StepError
		if !errors.As(err, &se) || se.Step != st.ID {
			if isFatal(err) {
				err = &fatalError{&StepError{Playbook: f.pb.ID, Step: st.ID, Err: err}}
			} else {
				err = &StepError{Playbook: f.pb.ID, Step: st.ID, Err: err}
			}
		}
	}
	x.record(rec)
	return err
}

// run does the work of a step by its type.
func (x *execution) run(ctx context.Context, f *frame, st *Step, sc *varScope, rec *StepRecord) error {
	switch st.Type {
	case StepStart:
		return nil
	case StepAction:
		for i := range st.Commands {
			if err := x.command(ctx, f, st, i, sc, rec); err != nil {
				return err
			}
		}
		return nil
	case StepPlaybookAction:
		return x.playbookAction(ctx, f, st, sc)
	case StepParallel:
		errs := make([]error, len(st.NextSteps))
		var wg sync.WaitGroup
		for i, n := range st.NextSteps {
			wg.Go(func() { _, errs[i] = x.walk(ctx, f, n, sc, false) })
		}
		wg.Wait()
		return errors.Join(errs...)
	case StepIfCondition:
		cond, err := x.condition(st)
		if err != nil {
			return err
		}
		ok, err := cond.eval(ctx, sc)
		if err != nil {
			return err
		}
		branch := st.OnFalse
		rec.Detail = "false"
		if ok {
			branch, rec.Detail = st.OnTrue, "true"
		}
		if branch == "" {
			return nil
		}
		_, err = x.walk(ctx, f, branch, sc, false)
		return err
	case StepWhileCondition:
		cond, err := x.condition(st)
		if err != nil {
			return err
		}
		n := 0
		for {
			ok, err := cond.eval(ctx, sc)
			if err != nil {
				return err
			}
			if !ok {
				rec.Detail = fmt.Sprintf("%d iterations", n)
				return nil
			}
			if n >= x.e.limits.MaxWhileIterations {
				rec.Detail = fmt.Sprintf("%d iterations", n)
				return fmt.Errorf("%w: while-condition still true after %d iterations", ErrPlaybookLimit, n)
			}
			n++
			if _, err := x.walk(ctx, f, st.OnTrue, sc, false); err != nil {
				rec.Detail = fmt.Sprintf("failed in iteration %d", n)
				return err
			}
		}
	case StepSwitchCondition:
		name := strings.TrimSuffix(st.Switch, ":value")
		v, ok := sc.lookup(name)
		if !ok {
			return fmt.Errorf("switch: %w: %s", ErrVariableUndefined, name)
		}
		branch, ok := st.Cases[v.Value]
		rec.Detail = "case " + v.Value
		if !ok || v.Null {
			branch, ok = st.Cases["default"]
			rec.Detail = "default"
		}
		if !ok {
			rec.Detail = "no case for " + v.Value
			return nil
		}
		_, err := x.walk(ctx, f, branch, sc, false)
		return err
	}
	return fmt.Errorf("%w: step type %q", ErrUnsupported, st.Type)
}

// condition returns the step's compiled condition, compiling it when the
// Playbook did not come from ParsePlaybook.
func (x *execution) condition(st *Step) (stepCondition, error) {
	if st.cond != nil {
		return st.cond, nil
	}
	return compileCondition(st.Condition, x.e.limits.CELCost)
}

func (x *execution) playbookAction(ctx context.Context, f *frame, st *Step, sc *varScope) error {
	if f.depth+1 > x.e.limits.MaxDepth {
		return fmt.Errorf("%w: playbook-action nests deeper than %d", ErrPlaybookLimit, x.e.limits.MaxDepth)
	}
	if x.e.library == nil {
		return fmt.Errorf("%w: no playbook library for %s", ErrPlaybookNotFound, st.PlaybookID)
	}
	sub, err := x.e.library.Playbook(st.PlaybookID, st.PlaybookVersion)
	if err != nil {
		return err
	}
	inputs := make(map[string]string, len(st.InArgs))
	for _, n := range st.InArgs {
		v, ok := sc.lookup(n)
		if !ok {
			return fmt.Errorf("in_args: %w: %s", ErrVariableUndefined, n)
		}
		if !v.Null {
			inputs[n] = v.Value
		}
	}
	root := newRootScope(sub.Variables, inputs)
	for k, val := range inputs {
		if _, ok := sub.Variables[k]; !ok {
			root.vars[k] = &Variable{Type: "string", Value: val}
		}
	}
	handled, err := x.walk(ctx, &frame{pb: sub, depth: f.depth + 1}, sub.Start, root, true)
	if err == nil && handled {
		err = fmt.Errorf("%w: playbook %s ran its workflow_exception step", ErrStepFailed, sub.ID)
	}
	if err != nil {
		return err
	}
	for _, n := range st.OutArgs {
		v, ok := root.lookup(n)
		if !ok {
			return fmt.Errorf("out_args: playbook %s has no variable %s", sub.ID, n)
		}
		if err := sc.assign(n, v.Value, v.Null); err != nil {
			return err
		}
	}
	return nil
}

// command executes the i-th command of an action step.
func (x *execution) command(ctx context.Context, f *frame, st *Step, i int, sc *varScope, rec *StepRecord) error {
	c := st.Commands[i]
	switch c.Type {
	case CommandOpenC2HTTP:
		return x.openC2(ctx, f, st, i, sc, rec)
	case CommandManual:
		return x.manualCommand(ctx, f, st, c, sc, rec)
	}
	if x.e.runner == nil || !x.e.types[c.Type] {
		return fmt.Errorf("%w: command type %q", ErrUnsupported, c.Type)
	}
	req := CommandRequest{PlaybookID: f.pb.ID, StepID: st.ID, Type: c.Type, OutArgs: st.OutArgs}
	var err error
	if req.Command, err = commandText(c, sc); err != nil {
		return err
	}
	if c.ContentB64 != "" || c.Content != "" {
		body := []byte(c.Content)
		if c.ContentB64 != "" {
			if body, err = base64.StdEncoding.DecodeString(c.ContentB64); err != nil {
				return fmt.Errorf("content_b64: %w", err)
			}
		}
		s, err := sc.substitute(string(body))
		if err != nil {
			return err
		}
		req.Content = []byte(s)
	}
	if req.Headers, err = substituteHeaders(c.Headers, sc); err != nil {
		return err
	}
	if req.Agent, req.Targets, err = x.agents(f.pb, st, sc); err != nil {
		return err
	}
	if len(st.InArgs) > 0 {
		req.Args = make(map[string]string, len(st.InArgs))
		for _, n := range st.InArgs {
			v, ok := sc.lookup(n)
			if !ok {
				return fmt.Errorf("in_args: %w: %s", ErrVariableUndefined, n)
			}
			req.Args[n] = v.Value
		}
	}
	if x.opts.DryRun {
		rec.Detail = appendDetail(rec.Detail, "dry run: "+c.Type+": "+req.Command)
		return nil
	}
	res, err := x.e.runner.Run(ctx, req)
	if err != nil {
		return fmt.Errorf("%w: %s command: %w", ErrStepFailed, c.Type, err)
	}
	return assignOut(sc, st.OutArgs, res.Values)
}

func assignOut(sc *varScope, outArgs []string, values map[string]string) error {
	for _, n := range outArgs {
		if val, ok := values[n]; ok {
			if err := sc.assign(n, val, false); err != nil {
				return err
			}
		}
	}
	return nil
}

func commandText(c CommandData, sc *varScope) (string, error) {
	text := c.Command
	if text == "" && c.CommandB64 != "" {
		b, err := base64.StdEncoding.DecodeString(c.CommandB64)
		if err != nil {
			return "", fmt.Errorf("command_b64: %w", err)
		}
		text = string(b)
	}
	return sc.substitute(text)
}

func substituteHeaders(h map[string][]string, sc *varScope) (map[string][]string, error) {
	if len(h) == 0 {
		return nil, nil
	}
	out := make(map[string][]string, len(h))
	for k, vals := range h {
		list := make([]string, len(vals))
		for i, v := range vals {
			s, err := sc.substitute(v)
			if err != nil {
				return nil, err
			}
			list[i] = s
		}
		out[k] = list
	}
	return out, nil
}

// agents resolves a step's agent and targets, substituting variables in
// their addresses.
func (x *execution) agents(pb *Playbook, st *Step, sc *varScope) (*AgentTarget, []AgentTarget, error) {
	resolve := func(a AgentTarget) (AgentTarget, error) {
		if len(a.Address) == 0 {
			return a, nil
		}
		addr := make(map[string][]string, len(a.Address))
		for k, list := range a.Address {
			out := make([]string, len(list))
			for i, s := range list {
				v, err := sc.substitute(s)
				if err != nil {
					return a, err
				}
				out[i] = v
			}
			addr[k] = out
		}
		a.Address = addr
		return a, nil
	}
	var agent *AgentTarget
	if st.Agent != "" {
		a, err := resolve(pb.Agents[st.Agent])
		if err != nil {
			return nil, nil, err
		}
		agent = &a
	}
	targets := make([]AgentTarget, 0, len(st.Targets))
	for _, t := range st.Targets {
		a, err := resolve(pb.Targets[t])
		if err != nil {
			return nil, nil, err
		}
		targets = append(targets, a)
	}
	return agent, targets, nil
}

// openC2 sends the OpenC2 command of an openc2-http command through the
// dispatcher. Variables are substituted inside the command's JSON strings
// (so a value cannot break the JSON), then the command is parsed and
// validated like any other. The dispatcher's history entry, as JSON, goes
// to the step's first out_args variable.
func (x *execution) openC2(ctx context.Context, f *frame, st *Step, i int, sc *varScope, rec *StepRecord) error {
	if x.e.sender == nil {
		return fmt.Errorf("%w: command type openc2-http (no dispatcher)", ErrUnsupported)
	}
	raw := st.openc2[i]
	if raw == nil { // parsed by a loader that skipped validation
		var err error
		if raw, err = openC2Content(st.Commands[i]); err != nil {
			return err
		}
	}
	if strings.Contains(string(raw), ":value") {
		var doc any
		if err := json.Unmarshal(raw, &doc); err != nil {
			return err
		}
		doc, err := substituteJSON(doc, sc)
		if err != nil {
			return err
		}
		if raw, err = json.Marshal(doc); err != nil {
			return err
		}
	}
	cmd, err := ParseCommand(raw)
	if err != nil {
		return err
	}
	cmds := []Command{cmd}
	if len(cmd.Hosts()) == 0 && (cmd.Actuator == nil || cmd.Actuator.Hostname == "") && len(st.Targets) > 0 {
		// The command names no host: it acts on each of the step's targets
		// ("all commands … MUST be applicable to all the targets").
		_, targets, err := x.agents(f.pb, st, sc)
		if err != nil {
			return err
		}
		var onHosts []Command
		for _, t := range targets {
			if h := targetHost(t); h != "" {
				onHosts = append(onHosts, cmd.OnHost(h))
			}
		}
		if len(onHosts) > 1 { // one command_id per copy, or the dispatcher sees duplicates
			for i := range onHosts {
				onHosts[i].CommandID = ""
			}
		}
		if len(onHosts) > 0 {
			cmds = onHosts
		}
	}
	var errs []error
	for _, cmd := range cmds {
		if err := x.dispatch(ctx, f, st, cmd, sc, rec); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// targetHost is the host a CACAO target names: its first DNS name, IPv4
// or IPv6 address, in that order.
func targetHost(t AgentTarget) string {
	for _, k := range []string{"dname", "ipv4", "ipv6"} {
		for _, a := range t.Address[k] {
			if a = strings.TrimSpace(a); a != "" {
				return a
			}
		}
	}
	return ""
}

func (x *execution) dispatch(ctx context.Context, f *frame, st *Step, cmd Command, sc *varScope, rec *StepRecord) error {
	req := Request{Command: cmd, Incident: x.opts.Incident, Requester: x.opts.Requester, DryRun: x.opts.DryRun,
		Reason: fmt.Sprintf("CACAO playbook %s step %s", f.pb.ID, st.ID)}
	if req.Requester == "" {
		req.Requester = "playbook " + f.pb.ID
	}
	if st.Name != "" {
		req.Reason += " (" + st.Name + ")"
	}
	if d, ok := ctx.Deadline(); ok {
		req.ApprovalTimeout = time.Until(d)
	}
	res, err := x.e.sender.Dispatch(ctx, req)
	on := ""
	if h := cmd.Hosts(); len(h) > 0 {
		on = " on " + strings.Join(h, ",")
	}
	rec.Detail = appendDetail(rec.Detail, fmt.Sprintf("openc2 %s %s%s: %s", cmd.Action, cmd.Target.Name(), on, res.State))
	if err != nil {
		return fmt.Errorf("%w: openc2 %s %s%s: %w", ErrStepFailed, cmd.Action, cmd.Target.Name(), on, err)
	}
	if r := res.Response; r != nil && r.Status != StatusOK && r.Status != StatusProcessing {
		return fmt.Errorf("%w: openc2 %s %s%s: status %d %s", ErrStepFailed, cmd.Action, cmd.Target.Name(), on, r.Status, r.StatusText)
	}
	if len(st.OutArgs) > 0 {
		b, err := json.Marshal(&res)
		if err != nil {
			return err
		}
		if err := sc.assign(st.OutArgs[0], string(b), false); err != nil {
			return err
		}
	}
	return nil
}

func appendDetail(d, s string) string {
	if d == "" {
		return s
	}
	return d + "; " + s
}

func substituteJSON(v any, sc *varScope) (any, error) {
	switch t := v.(type) {
	case string:
		return sc.substitute(t)
	case []any:
		for i := range t {
			s, err := substituteJSON(t[i], sc)
			if err != nil {
				return nil, err
			}
			t[i] = s
		}
	case map[string]any:
		for k := range t {
			s, err := substituteJSON(t[k], sc)
			if err != nil {
				return nil, err
			}
			t[k] = s
		}
	}
	return v, nil
}

func (x *execution) manualCommand(ctx context.Context, f *frame, st *Step, c CommandData, sc *varScope, rec *StepRecord) error {
	if x.e.manual == nil {
		return fmt.Errorf("%w: command type manual (no responder)", ErrUnsupported)
	}
	text, err := commandText(c, sc)
	if err != nil {
		return err
	}
	agent, targets, err := x.agents(f.pb, st, sc)
	if err != nil {
		return err
	}
	req := ManualRequest{PlaybookID: f.pb.ID, StepID: st.ID, StepName: st.Name, Command: text,
		Description: c.Description, Agent: agent, Targets: targets, OutArgs: st.OutArgs}
	if d, ok := ctx.Deadline(); ok {
		req.Deadline = d
	}
	ans, err := x.e.manual.Ask(ctx, req)
	if err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("%w: no answer: %w", ErrManualDeclined, err)
		}
		return err
	}
	if !ans.Approved {
		by := ans.By
		if by == "" {
			by = "the responder"
		}
		return fmt.Errorf("%w by %s", ErrManualDeclined, by)
	}
	if ans.By != "" {
		rec.Detail = appendDetail(rec.Detail, "manual: approved by "+ans.By)
	}
	return assignOut(sc, st.OutArgs, ans.Values)
}

// SortedStepIDs returns the ids of a playbook's steps in order, for
// listings and tests.
func (p *Playbook) SortedStepIDs() []string {
	ids := sortedStepIDs(p)
	sort.Strings(ids)
	return ids
}

// Approvals is what ManualApprovals needs: *Dispatcher's RequestApproval,
// which puts a request on the pending list, audits it and waits for
// Approve, Reject or the timeout.
type Approvals interface {
	RequestApproval(ctx context.Context, ar ApprovalRequest) (Result, error)
}

// ManualApprovals makes manual commands approvals of the Dispatcher: each
// manual command becomes a pending approval titled with the step, which a
// named principal approves or rejects (Dispatcher.Approve, Reject) before
// the step's timeout; the audit log records it like any command. Approvals
// carry no values, so out_args of manual steps keep their values. When the
// step ends before an answer, the approval is rejected (if a has Reject,
// as *Dispatcher does) rather than left pending.
func ManualApprovals(a Approvals) ManualResponder { return approvalResponder{a} }

type approvalResponder struct{ a Approvals }

// approvalRejecter is the optional capability ManualApprovals uses to
// withdraw an approval whose step ended first (*Dispatcher has it).
type approvalRejecter interface {
	Reject(ctx context.Context, id, principal, reason string) error
}

func (r approvalResponder) Ask(ctx context.Context, req ManualRequest) (ManualAnswer, error) {
	ar := ApprovalRequest{
		ID:          NewCommandID(),
		Title:       fmt.Sprintf("CACAO playbook %s step %s: %s", req.PlaybookID, req.StepID, req.StepName),
		Description: req.Command,
		Requester:   "playbook " + req.PlaybookID,
	}
	if req.Description != "" {
		ar.Description = req.Command + " — " + req.Description
	}
	if !req.Deadline.IsZero() {
		ar.Timeout = time.Until(req.Deadline)
	}
	res, err := r.a.RequestApproval(ctx, ar)
	if err != nil && ctx.Err() != nil && !errors.Is(err, ErrRejected) {
		// The step timed out (or the run ended) before anyone answered:
		// reject the approval now rather than leave it pending.
		if rj, ok := r.a.(approvalRejecter); ok {
			_ = rj.Reject(context.WithoutCancel(ctx), ar.ID, "playbook", "the step ended before an answer: "+ctx.Err().Error())
		}
	}
	switch {
	case err == nil:
		return ManualAnswer{Approved: true, By: res.Approver}, nil
	case errors.Is(err, ErrRejected):
		return ManualAnswer{Approved: false, By: res.Approver}, nil
	}
	return ManualAnswer{}, err
}
