package remediate

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/hashicorp/go-multierror"

	"github.com/mdrkit/mdr/store"
)

// OnFailure is what an Executor does when a step fails.
type OnFailure uint8

// The failure modes.
const (
	// Stop starts no further step; steps already applied stay applied and
	// the plan can be resumed (after fixing the cause) or undone later.
	Stop OnFailure = iota
	// Compensate stops, then reverts the steps applied so far in the
	// reverse order of their application (the saga pattern).
	Compensate
)

// Config configures an Executor. The zero value is usable: four steps at a
// time, stop on failure, no advice approved, actor "remediate".
type Config struct {
	// Parallel is how many independent steps run at once (default 4).
	Parallel int
	// OnFailure chooses between Stop and Compensate.
	OnFailure OnFailure
	// DryRun sends every command in dry-run mode (nothing executes) and
	// keeps the steps' states in memory only: the store is not written.
	DryRun bool
	// Principal names who applies the plan; it is the actor of the audit
	// records and of the approvals that Approve grants.
	Principal string
	// Approve decides whether an advice step (Step.Advice, for example a
	// credential reset) may run. Nil approves none: they stay planned
	// and are counted as pending.
	Approve func(*Step) bool
	// RetryUnverified re-runs steps found unverified (an idempotent
	// re-run); by default Apply leaves them alone.
	RetryUnverified bool
	// Progress, when set, is called after every state move, one call at a
	// time. It must not block for long.
	Progress func(StepRecord)
	// CostLimit bounds each post-condition's CEL cost (default
	// DefaultCostLimit).
	CostLimit uint64
	// Now is the clock of the records (default time.Now).
	Now func() time.Time
}

// Executor applies, verifies and reverts plans through an actuation (a
// respond.Dispatcher in production) and persists every step's state in a
// Store. It is safe for concurrent use, but one plan must be run by one
// Executor call at a time (the store has no compare-and-swap, so two
// processes running the same plan would race).
type Executor struct {
	st    Store
	act   actuation
	cfg   Config
	conds *conditions

	progMu sync.Mutex
}

// actuation is what the executor needs from the responder.
type actuation interface {
	// apply sends the step's command (in dry-run mode when asked); attempt
	// numbers the tries of the step (1, 2, ...).
	apply(ctx context.Context, p *Plan, s *Step, attempt int, dryRun bool) (outcome, error)
	// undo sends the compensating command of an applied step.
	undo(ctx context.Context, p *Plan, s *Step, rec StepRecord) error
	// query sends the step's check query and returns the response as
	// OpenC2 JSON values (status, status_text, results).
	query(ctx context.Context, s *Step) (map[string]any, error)
}

// outcome is what an applied command answered.
type outcome struct {
	status    int
	detail    string
	notFound  bool
	undo      json.RawMessage
	commandID string
	sha256    string // the file's hash, when the actuator reported it
}

func newExecutor(st Store, act actuation, cfg Config) (*Executor, error) {
	if cfg.Parallel <= 0 {
		cfg.Parallel = 4
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if st == nil && !cfg.DryRun {
		return nil, errors.New("remediate: executor needs a store (or DryRun)")
	}
	c, err := newConditions(cfg.CostLimit)
	if err != nil {
		return nil, err
	}
	return &Executor{st: st, act: act, cfg: cfg, conds: c}, nil
}

// Counts are a run's tallies by outcome, in the words of the consoles
// analysts know (SentinelOne's succeeded / failed / not found / pending).
type Counts struct {
	Planned    int `json:"planned"`    // not run yet (a status, not a run)
	Applied    int `json:"applied"`    // applied, post-condition not checked
	Verified   int `json:"verified"`   // post-condition held
	Unverified int `json:"unverified"` // applied but the post-condition did not hold
	Failed     int `json:"failed"`
	Reverted   int `json:"reverted"`
	Rejected   int `json:"rejected"`
	NotFound   int `json:"not_found"` // target already gone when the command ran
	Pending    int `json:"pending"`   // waiting for approval (advice)
	Blocked    int `json:"blocked"`   // not run: a dependency did not complete
	Stopped    int `json:"stopped"`   // not run: the plan stopped after a failure
	DryRun     int `json:"dry_run"`   // would have run (dry-run)
}

// Result is what a run of a plan did.
type Result struct {
	Plan string `json:"plan"`
	// Steps are the records of the plan's steps, in plan order.
	Steps  []StepRecord `json:"steps"`
	Counts Counts       `json:"counts"`
	// Err collects every failure of the run (a go-multierror inside,
	// errors.Is and errors.As see each), nil when none.
	Err error `json:"-"`
}

// OK reports whether every step is verified (or applied without a check)
// and nothing failed, is pending or was stopped.
func (r *Result) OK() bool {
	c := r.Counts
	return r.Err == nil && c.Unverified == 0 && c.Failed == 0 && c.Pending == 0 && c.Blocked == 0 && c.Stopped == 0 && c.Rejected == 0
}

// Apply saves p (unless it is saved already: then it continues it, without
// repeating the steps done) and runs its steps in dependency order, the
// independent ones in parallel, verifying each after it is applied. A
// failure stops the run or compensates it (Config.OnFailure); every
// failure is in Result.Err. The error return is for what prevented the run
// (an invalid plan, the store).
func (e *Executor) Apply(ctx context.Context, p *Plan) (*Result, error) {
	g, err := p.graph()
	if err != nil {
		return nil, err
	}
	var j *journal
	if e.cfg.DryRun {
		j = newJournal(store.NewMemory(), p, 0)
	} else {
		j, err = savePlan(ctx, e.st, p, e.cfg.Principal, e.cfg.Now())
		if err != nil {
			var p2 *Plan
			p2, j, err = loadPlan(ctx, e.st, p.ID)
			if err != nil {
				return nil, err
			}
			p = p2
			if g, err = p.graph(); err != nil {
				return nil, err
			}
		}
	}
	j.now = e.cfg.Now
	return e.run(ctx, p, g, j), nil
}

// Resume loads the saved plan id and continues it: steps done stay done,
// a step caught in applying by a crash is first checked against its
// post-condition (and counts as applied when it holds), the rest run.
func (e *Executor) Resume(ctx context.Context, id string) (*Result, error) {
	p, j, err := loadPlan(ctx, e.st, id)
	if err != nil {
		return nil, err
	}
	g, err := p.graph()
	if err != nil {
		return nil, err
	}
	j.now = e.cfg.Now
	return e.run(ctx, p, g, j), nil
}

// Status returns the saved plan id and its steps' records, without acting.
func (e *Executor) Status(ctx context.Context, id string) (*Plan, *Result, error) {
	p, j, err := loadPlan(ctx, e.st, id)
	if err != nil {
		return nil, nil, err
	}
	return p, e.result(p, j, nil, nil), nil
}

type stepOutcome struct {
	i      int
	ok     bool // done: dependents may run
	failed bool // the command failed: the plan stops
	err    error
}

func (e *Executor) run(ctx context.Context, p *Plan, g *graph, j *journal) *Result {
	n := len(p.Steps)
	waiting := make([]int, n) // unfinished dependencies
	started := make([]bool, n)
	blocked := make([]bool, n)
	var errs *multierror.Error
	for i := range n {
		waiting[i] = len(g.deps[i])
	}
	// finish releases the users of step i; those left with no unfinished
	// dependency are returned. A step that did not complete (ok false)
	// blocks its users.
	finish := func(i int, ok bool) []int {
		var ready []int
		for _, u := range g.users[i] {
			if !ok {
				blocked[u] = true
			}
			if waiting[u]--; waiting[u] == 0 && !blocked[u] {
				ready = append(ready, u)
			}
		}
		return ready
	}
	// steps settled by an earlier run (done, reverted, rejected) are not
	// run again; they release (or block) their users
	for _, i := range g.topo {
		rec, _ := j.record(p.Steps[i].ID)
		if !e.needsRun(rec.State) {
			started[i] = true
			finish(i, rec.State.Done())
		}
	}
	// the initial ready set: unstarted steps with no waiting dependency
	var ready []int
	for _, i := range g.topo {
		if !started[i] && waiting[i] == 0 && !blocked[i] {
			ready = append(ready, i)
		}
	}
	results := make(chan stepOutcome)
	running := 0
	stopped := false
	for len(ready) > 0 || running > 0 {
		for !stopped && len(ready) > 0 && running < e.cfg.Parallel {
			i := ready[0]
			ready = ready[1:]
			started[i] = true
			running++
			go func() { results <- e.step(ctx, p, i, &p.Steps[i], j) }()
		}
		if running == 0 {
			break
		}
		r := <-results
		running--
		if r.err != nil && !errors.Is(r.err, errPending) {
			errs = multierror.Append(errs, r.err)
		}
		ready = append(ready, finish(r.i, r.ok)...)
		if r.failed && !p.Steps[r.i].Advice {
			// advice (an account deletion, a credential reset) has no
			// dependents: its failure is reported, the plan goes on
			stopped = true
		}
		if ctx.Err() != nil {
			stopped = true
		}
	}
	why := make([]notRun, n)
	left := 0
	for i := range n {
		switch {
		case started[i]:
		case blocked[i]:
			why[i] = notRunBlocked
		case stopped:
			why[i] = notRunStopped
			left++
		default:
			why[i] = notRunBlocked // behind a step waiting for approval
		}
	}
	if stopped {
		if left > 0 {
			errs = multierror.Append(errs, fmt.Errorf("%w: %d steps not run", ErrStopped, left))
		}
		if e.cfg.OnFailure == Compensate && !e.cfg.DryRun {
			if err := e.revert(ctx, p, j); err != nil {
				errs = multierror.Append(errs, err)
			}
		}
	}
	return e.result(p, j, why, errs.ErrorOrNil())
}

// notRun says why a run left a step alone.
type notRun uint8

const (
	notRunNo      notRun = iota // it ran, or was done before
	notRunBlocked               // a dependency did not complete
	notRunStopped               // the plan stopped after a failure
)

// errPending marks an advice step left for approval: not a failure.
var errPending = errors.New("remediate: waiting for approval")

func (e *Executor) needsRun(s State) bool {
	switch s {
	case StatePlanned, StateApproved, StateApplying, StateFailed:
		return true
	case StateApplied: // interrupted before its check: verify only
		return !e.cfg.DryRun
	case StateUnverified:
		return e.cfg.RetryUnverified
	}
	return false
}

// step runs one step from wherever it stands to done or failed.
func (e *Executor) step(ctx context.Context, p *Plan, idx int, s *Step, j *journal) stepOutcome {
	by := e.cfg.Principal
	rec, _ := j.record(s.ID)
	var err error
	if rec.State == StateApplied {
		return e.verify(ctx, s, j, idx)
	}
	if rec.State == StatePlanned {
		if s.Advice && (e.cfg.Approve == nil || !e.cfg.Approve(s)) {
			return stepOutcome{i: idx, err: errPending}
		}
		if rec, err = e.move(ctx, j, s.ID, EventApprove, by, nil); err != nil {
			return stepOutcome{i: idx, failed: true, err: err}
		}
	}
	resumed := rec.State == StateApplying
	if !resumed {
		if rec, err = e.move(ctx, j, s.ID, EventBegin, by, nil); err != nil {
			return stepOutcome{i: idx, failed: true, err: err}
		}
	} else if s.Check != nil && !e.cfg.DryRun {
		// a crash left the step in flight: ask the actuator first
		if held, _, _ := e.check(ctx, s); held {
			rec, err = e.move(ctx, j, s.ID, EventSucceed, by, func(r *StepRecord) { r.Detail = "in effect when resumed" })
			if err != nil {
				return stepOutcome{i: idx, failed: true, err: err}
			}
			return e.verify(ctx, s, j, idx)
		}
	}
	o, aerr := e.act.apply(ctx, p, s, rec.Attempts, e.cfg.DryRun)
	if aerr != nil {
		_, err = e.move(ctx, j, s.ID, EventFail, by, func(r *StepRecord) { r.Status, r.Detail, r.CommandID = o.status, aerr.Error(), o.commandID })
		return stepOutcome{i: idx, failed: true, err: errors.Join(&StepError{Step: s.ID, Phase: "apply", Err: fmt.Errorf("%w: %w", ErrStepFailed, aerr)}, err)}
	}
	_, err = e.move(ctx, j, s.ID, EventSucceed, by, func(r *StepRecord) {
		r.Status, r.Detail, r.NotFound, r.Undo, r.CommandID = o.status, o.detail, o.notFound, o.undo, o.commandID
		if o.sha256 != "" {
			r.SHA256 = o.sha256
		}
	})
	if err != nil {
		return stepOutcome{i: idx, failed: true, err: err}
	}
	if e.cfg.DryRun {
		return stepOutcome{i: idx, ok: true}
	}
	return e.verify(ctx, s, j, idx)
}

// verify checks a done step's post-condition and records the answer. A
// step without a check stays applied.
func (e *Executor) verify(ctx context.Context, s *Step, j *journal, idx int) stepOutcome {
	if s.Check == nil {
		return stepOutcome{i: idx, ok: true}
	}
	held, detail, cerr := e.check(ctx, s)
	if errors.Is(cerr, errNoQuerier) {
		return stepOutcome{i: idx, ok: true} // stays applied: nothing can check it
	}
	ev := EventVerify
	if !held {
		ev = EventRefute
	}
	_, err := e.move(ctx, j, s.ID, ev, e.cfg.Principal, func(r *StepRecord) { r.Detail = detail })
	if cerr != nil {
		err = errors.Join(&StepError{Step: s.ID, Phase: "verify", Err: cerr}, err)
	}
	// an unverified step still lets its dependents run: it was applied
	return stepOutcome{i: idx, ok: true, err: err}
}

// check queries the step's target and evaluates its post-condition.
func (e *Executor) check(ctx context.Context, s *Step) (held bool, detail string, err error) {
	resp, err := e.act.query(ctx, s)
	if err != nil {
		return false, "query: " + err.Error(), err
	}
	held, err = e.conds.eval(ctx, s.ID, s.Check.Expr, resp, stepVars(s))
	if err != nil {
		return false, err.Error(), err
	}
	if held {
		return true, "post-condition holds: " + s.Check.Expr, nil
	}
	return false, "post-condition does not hold: " + s.Check.Expr, nil
}

func stepVars(s *Step) map[string]any {
	m := map[string]any{"id": s.ID, "kind": s.Kind.String(), "host": s.Host, "scope_item": s.ScopeItem, "expect": ""}
	if s.Check != nil {
		m["expect"] = s.Check.Expect
	}
	return m
}

func (e *Executor) move(ctx context.Context, j *journal, step string, ev Event, by string, edit func(*StepRecord)) (StepRecord, error) {
	rec, err := j.move(ctx, step, ev, by, edit)
	if err == nil && e.cfg.Progress != nil {
		e.progMu.Lock()
		e.cfg.Progress(rec)
		e.progMu.Unlock()
	}
	return rec, err
}

// revert sends the compensating commands of the plan's applied steps in
// the reverse order of their application, and collects every failure.
func (e *Executor) revert(ctx context.Context, p *Plan, j *journal) error {
	type cand struct {
		s   *Step
		rec StepRecord
	}
	var list []cand
	for i := range p.Steps {
		rec, _ := j.record(p.Steps[i].ID)
		if rec.State.Done() || (rec.State == StateFailed && len(rec.Undo) > 0) {
			list = append(list, cand{&p.Steps[i], rec})
		}
	}
	slices.SortFunc(list, func(a, b cand) int { return cmp.Compare(b.rec.Order, a.rec.Order) })
	var errs *multierror.Error
	for _, c := range list {
		if len(c.rec.Undo) == 0 {
			if c.rec.NotFound {
				// nothing was changed: the target was already gone
				if _, err := e.move(ctx, j, c.s.ID, EventRevert, e.cfg.Principal, func(r *StepRecord) { r.Detail = "nothing to undo: target was absent" }); err != nil {
					errs = multierror.Append(errs, err)
				}
				continue
			}
			errs = multierror.Append(errs, &StepError{Step: c.s.ID, Phase: "revert", Err: ErrNotReversible})
			continue
		}
		if err := e.act.undo(ctx, p, c.s, c.rec); err != nil {
			errs = multierror.Append(errs, &StepError{Step: c.s.ID, Phase: "revert", Err: err})
			continue
		}
		if _, err := e.move(ctx, j, c.s.ID, EventRevert, e.cfg.Principal, func(r *StepRecord) { r.Detail = "compensated" }); err != nil {
			errs = multierror.Append(errs, err)
		}
	}
	return errs.ErrorOrNil()
}

// Undo reverts a saved plan from history: the compensating command of each
// applied step, in the reverse order of application. Every failure (a step
// that cannot be reverted, an actuator error) is collected in the result.
func (e *Executor) Undo(ctx context.Context, id string) (*Result, error) {
	p, j, err := loadPlan(ctx, e.st, id)
	if err != nil {
		return nil, err
	}
	j.now = e.cfg.Now
	return e.result(p, j, nil, e.revert(ctx, p, j)), nil
}

// Verify re-checks the post-condition of every applied step of a saved
// plan (on demand, for example after a reboot) and records verified or
// unverified.
func (e *Executor) Verify(ctx context.Context, id string) (*Result, error) {
	p, j, err := loadPlan(ctx, e.st, id)
	if err != nil {
		return nil, err
	}
	j.now = e.cfg.Now
	var errs *multierror.Error
	for i := range p.Steps {
		s := &p.Steps[i]
		rec, _ := j.record(s.ID)
		if !rec.State.Done() || s.Check == nil {
			continue
		}
		if o := e.verify(ctx, s, j, i); o.err != nil {
			errs = multierror.Append(errs, o.err)
		}
	}
	return e.result(p, j, nil, errs.ErrorOrNil()), nil
}

// result tallies the records of p. why (nil when not a run) says why a run
// left a planned or approved step alone.
func (e *Executor) result(p *Plan, j *journal, why []notRun, err error) *Result {
	r := &Result{Plan: p.ID, Steps: make([]StepRecord, len(p.Steps)), Err: err}
	c := &r.Counts
	for i := range p.Steps {
		rec, _ := j.record(p.Steps[i].ID)
		r.Steps[i] = rec
		if rec.NotFound && rec.State.Done() {
			c.NotFound++
		}
		switch rec.State {
		case StatePlanned, StateApproved, StateApplying:
			switch {
			case rec.State == StatePlanned && p.Steps[i].Advice && (e.cfg.Approve == nil || !e.cfg.Approve(&p.Steps[i])):
				c.Pending++
			case why == nil:
				c.Planned++
			case why[i] == notRunBlocked:
				c.Blocked++
			default:
				c.Stopped++
			}
		case StateApplied:
			if e.cfg.DryRun {
				c.DryRun++
			} else {
				c.Applied++
			}
		case StateVerified:
			c.Verified++
		case StateUnverified:
			c.Unverified++
		case StateFailed:
			c.Failed++
		case StateReverted:
			c.Reverted++
		case StateRejected:
			c.Rejected++
		}
	}
	return r
}
