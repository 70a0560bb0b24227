package respond

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-multierror"

	"github.com/mdrkit/mdr"
	"github.com/mdrkit/mdr/store"
)

// Store is what the dispatcher needs from a store: the hash-chained audit
// log, to which every state change goes (it is also the journal from
// which pending approvals and history are restored), and the state table
// for checkpoints. store.Memory and the badger store provide it.
type Store interface {
	store.Audit
	store.State
}

// Request is a command with the context policy decides on.
type Request struct {
	Command Command `json:"command,omitzero"`
	// Incident is the id of the incident the command responds to.
	Incident string `json:"incident,omitempty"`
	// Score is the incident's score (as triage gives it).
	Score float64 `json:"score,omitempty"`
	// Criticality is the criticality of the asset acted on ("low",
	// "medium", "high", "critical", or the host's own scale).
	Criticality string `json:"criticality,omitempty"`
	// Requester names who asks: an analyst, a playbook, "advisor".
	Requester string `json:"requester,omitempty"`
	// Reason says why, for the approver and the audit log.
	Reason string `json:"reason,omitempty"`
	// DryRun makes this request a dry run even when the dispatcher
	// enforces.
	DryRun bool `json:"dry_run,omitempty"`
	// ApprovalTimeout overrides Config.ApprovalTimeout for this request.
	ApprovalTimeout time.Duration `json:"approval_timeout,omitempty"`
}

// State is where a history entry stands.
type State string

// The states. Final states are denied, rejected, dry_run, executed,
// failed and undone.
const (
	StatePending   State = "pending"   // waiting for approval
	StateApproved  State = "approved"  // approved, about to run (or, for a manual approval, final)
	StateRunning   State = "running"   // being executed
	StateDenied    State = "denied"    // refused by policy
	StateRejected  State = "rejected"  // approval rejected or timed out
	StateDryRun    State = "dry_run"   // everything but Execute happened
	StateExecuted  State = "executed"  // the actuator answered 200 (or 102)
	StateFailed    State = "failed"    // the actuator failed or could not be reached
	StateUndone    State = "undone"    // executed, then undone
	StateCancelled State = "cancelled" // the dispatcher stopped before it ran
)

// Final reports whether no further change happens to an entry in state s
// (other than undone after executed).
func (s State) Final() bool {
	switch s {
	case StatePending, StateRunning:
		return false
	}
	return true
}

// Result is one history entry: a request, what policy and approvers
// decided, and what happened. Dispatch returns it; History lists them.
type Result struct {
	// ID is the command's command_id (assigned when the request had none),
	// or the approval's id for a manual approval.
	ID       string   `json:"id"`
	Request  Request  `json:"request,omitzero"`
	Actuator string   `json:"actuator,omitempty"`
	Decision Decision `json:"decision,omitempty"`
	// Rule names the policy rule (or "level:<level>") that decided.
	Rule     string    `json:"rule,omitempty"`
	State    State     `json:"state"`
	Approver string    `json:"approver,omitempty"`
	Comment  string    `json:"comment,omitempty"`
	Response *Response `json:"response,omitempty"`
	Error    string    `json:"error,omitempty"`
	Attempts int       `json:"attempts,omitempty"`
	DryRun   bool      `json:"dry_run,omitempty"`
	// Manual marks a manual approval (RequestApproval) without command.
	Manual    bool      `json:"manual,omitempty"`
	Title     string    `json:"title,omitempty"`
	Requested time.Time `json:"requested,omitzero"`
	Decided   time.Time `json:"decided,omitzero"`
	Finished  time.Time `json:"finished,omitzero"`
	// Expires is when a pending approval times out.
	Expires time.Time `json:"expires,omitzero"`
	// UndoAt is when the dispatcher undoes the command by itself (from its
	// stop_time or duration); zero when not scheduled.
	UndoAt time.Time `json:"undo_at,omitzero"`
	// UndoneBy is the id of the entry that undid this one; UndoOf the id
	// of the entry this one undoes.
	UndoneBy string `json:"undone_by,omitempty"`
	UndoOf   string `json:"undo_of,omitempty"`
	// Duplicate is set on the Result of a Dispatch whose command_id was
	// already known: nothing new happened.
	Duplicate bool `json:"-"`
}

// Undoable reports whether the entry can be undone.
func (r *Result) Undoable() bool {
	return r.State == StateExecuted && r.Response != nil && r.Response.Undo != nil && r.UndoneBy == ""
}

// Config configures a Dispatcher. Store is required; everything else has
// a default.
type Config struct {
	Store  Store
	Policy Policy
	// Enforce switches from monitor mode (the default, after Tetragon and
	// Velociraptor's dry-run default: every command is a dry run) to
	// enforcement, where allowed and approved commands execute.
	Enforce bool
	// Clock is the source of time (default: the wall clock).
	Clock Clock
	// ApprovalTimeout rejects approvals not answered in time (default 1h).
	ApprovalTimeout time.Duration
	// CommandTimeout bounds one Execute call (default 30s).
	CommandTimeout time.Duration
	// MaxRetries is how often a transient failure (an error wrapping
	// ErrTransient, or status 503) is retried (default 2; negative: none).
	MaxRetries int
	// RetryBackoff is the first retry's delay, doubled after each retry
	// (default 200ms).
	RetryBackoff time.Duration
	// RateLimit is the commands per minute an actuator that declares no
	// rate_limit gets (default 0: unlimited). A declared rate_limit
	// always applies.
	RateLimit float64
	// MaxHistory bounds the entries kept in memory (default 100,000);
	// the oldest final entries are dropped first and counted in Stats.
	MaxHistory int
	// BatchConcurrency bounds the commands DispatchBatch runs at once
	// (default 64).
	BatchConcurrency int
	// CheckpointEvery writes a checkpoint of the history to the store
	// after this many state changes (default 10,000), so that a restart
	// replays only the audit records after it.
	CheckpointEvery int
	// OnChange, when set, is called after every state change with the
	// entry as it now is. It must not block for long and must not call
	// the Dispatcher.
	OnChange func(Result)
}

func (c *Config) defaults() {
	if c.Clock == nil {
		c.Clock = realClock{}
	}
	if c.ApprovalTimeout <= 0 {
		c.ApprovalTimeout = time.Hour
	}
	if c.CommandTimeout <= 0 {
		c.CommandTimeout = 30 * time.Second
	}
	if c.MaxRetries == 0 {
		c.MaxRetries = 2
	}
	if c.MaxRetries < 0 {
		c.MaxRetries = 0
	}
	if c.RetryBackoff <= 0 {
		c.RetryBackoff = 200 * time.Millisecond
	}
	if c.MaxHistory <= 0 {
		c.MaxHistory = 100_000
	}
	if c.BatchConcurrency <= 0 {
		c.BatchConcurrency = 64
	}
	if c.CheckpointEvery <= 0 {
		c.CheckpointEvery = 10_000
	}
}

// Stats counts what a dispatcher did.
type Stats struct {
	Dispatched   int64 // Dispatch calls that created an entry
	Duplicates   int64 // Dispatch calls answered from an existing entry
	Executed     int64
	Failed       int64
	Denied       int64
	Rejected     int64
	DryRuns      int64
	Undone       int64
	Retries      int64
	AuditRecords int64 // audit records written
	AuditChanges int64 // state changes in them
	AuditBytes   int64 // payload bytes written (after compression)
	// AuditAppendTime is the time spent in the store's AppendAudit.
	AuditAppendTime time.Duration
	HistoryDrops    int64 // final entries dropped from memory by MaxHistory
	Checkpoints     int64
	RestoredItems   int64 // entries restored from the store on start
}

// registered is an actuator known to the dispatcher.
type registered struct {
	name     string
	act      Actuator
	hosts    []string // "*" serves every host
	features Features
	limit    *limiter
}

// entry is the live state of a history entry.
type entry struct {
	res     Result
	done    chan struct{} // closed when the entry reaches a final state
	answer  chan answer   // approval answer, buffered
	waiting bool          // a Dispatch call waits for the answer
	stopTO  func() bool   // stops the approval timeout
	stopUn  func() bool   // stops the scheduled undo
	undoing bool          // an undo is in progress
}

type answer struct {
	approved  bool
	principal string
	comment   string
}

// Dispatcher sends OpenC2 commands to actuators and governs them: policy,
// approvals, dry-run, idempotency, rate limits, timeouts, retries, undo,
// and an audit record for every state change. Create it with
// NewDispatcher and register actuators with Register.
//
// A Dispatcher is safe for concurrent use. Close stops its timers and
// flushes the audit log.
type Dispatcher struct {
	cfg    Config
	clock  Clock
	policy *policy
	j      *journal

	mu        sync.Mutex
	acts      []*registered
	byName    map[string]*registered
	entries   map[string]*entry
	order     []string // entry ids in creation order
	stats     Stats
	closed    bool
	closing   chan struct{}
	inflight  sync.WaitGroup
	sinceCkpt int
	// deferred are restored entries whose scheduled undo waits for their
	// actuator to be registered again, by actuator name.
	deferred map[string][]*entry
}

// NewDispatcher returns a dispatcher over cfg.Store, restoring pending
// approvals, history and scheduled undos from the store's checkpoint and
// audit log. Entries that were running when the process stopped are
// recorded as failed (their outcome is unknown); pending approvals stay
// pending, and an approval given after the restart executes the command.
func NewDispatcher(ctx context.Context, cfg Config) (*Dispatcher, error) {
	if cfg.Store == nil {
		return nil, fmt.Errorf("%w: respond: Config.Store is required", mdr.ErrInvalid)
	}
	cfg.defaults()
	pol, err := compilePolicy(cfg.Policy)
	if err != nil {
		return nil, err
	}
	d := &Dispatcher{
		cfg:      cfg,
		clock:    cfg.Clock,
		policy:   pol,
		byName:   make(map[string]*registered),
		entries:  make(map[string]*entry),
		closing:  make(chan struct{}),
		deferred: make(map[string][]*entry),
	}
	d.j = newJournal(cfg.Store, d)
	if err := d.restore(ctx); err != nil {
		d.j.close()
		return nil, err
	}
	return d, nil
}

// Register adds an actuator under name, serving the given hosts ("*", or
// no host at all, serves any host that no other actuator names). It asks
// the actuator for its features; commands whose action × target pair it
// does not declare are refused before Execute.
func (d *Dispatcher) Register(ctx context.Context, name string, a Actuator, hosts ...string) error {
	if name == "" || a == nil {
		return fmt.Errorf("%w: respond: Register needs a name and an actuator", mdr.ErrInvalid)
	}
	f, err := a.Features(ctx)
	if err != nil {
		return fmt.Errorf("respond: actuator %q features: %w", name, err)
	}
	rate := f.RateLimit
	if rate <= 0 {
		rate = d.cfg.RateLimit
	}
	r := &registered{name: name, act: a, hosts: slices.Clone(hosts), features: f, limit: newLimiter(rate)}
	if len(r.hosts) == 0 {
		r.hosts = []string{"*"}
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if _, dup := d.byName[name]; dup {
		return fmt.Errorf("%w: respond: actuator %q registered twice", mdr.ErrConflict, name)
	}
	d.byName[name] = r
	d.acts = append(d.acts, r)
	for _, e := range d.deferred[name] {
		if e.res.State == StateExecuted && e.res.UndoneBy == "" {
			d.scheduleUndoLocked(e)
		}
	}
	delete(d.deferred, name)
	return nil
}

// route chooses the actuator for c: the one named by the actuator
// specifier's hostname, else the one serving the command's hosts, else the
// only one registered.
func (d *Dispatcher) route(c *Command) (*registered, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if c.Actuator != nil && c.Actuator.Hostname != "" {
		if r := d.byName[c.Actuator.Hostname]; r != nil {
			return r, nil
		}
	}
	hosts := c.Hosts()
	var chosen *registered
	for _, h := range hosts {
		var r *registered
		for _, a := range d.acts {
			if slices.ContainsFunc(a.hosts, func(s string) bool { return strings.EqualFold(s, h) }) {
				r = a
				break
			}
		}
		if r == nil {
			for _, a := range d.acts {
				if slices.Contains(a.hosts, "*") {
					r = a
					break
				}
			}
		}
		if r == nil {
			return nil, fmt.Errorf("%w: host %q", ErrNoActuator, h)
		}
		if chosen != nil && chosen != r {
			return nil, fmt.Errorf("%w: hosts %v are served by different actuators; send one command per actuator", ErrNoActuator, hosts)
		}
		chosen = r
	}
	if chosen != nil {
		return chosen, nil
	}
	if c.Actuator != nil {
		var match []*registered
		for _, a := range d.acts {
			if slices.Contains(a.features.Profiles, c.Actuator.Profile) {
				match = append(match, a)
			}
		}
		if len(match) == 1 {
			return match[0], nil
		}
	}
	if len(d.acts) == 1 {
		return d.acts[0], nil
	}
	return nil, fmt.Errorf("%w: %s %s names no host and no actuator", ErrNoActuator, c.Action, c.Target.Name())
}

// Dispatch validates req's command, decides on it by policy, waits for
// approval when policy requires it, and executes it on the chosen
// actuator (or records a dry run), recording every state change in the
// audit log. It returns the history entry.
//
// A command whose command_id the dispatcher already knows (among the
// entries it keeps, see Config.MaxHistory) is not sent again: Dispatch
// waits for that entry to finish and returns it with Duplicate set; the
// same command_id on a different command is an error wrapping
// mdr.ErrConflict. A command without command_id gets a new one.
//
// The error is nil only when the command was executed (or dry-run, or,
// for status 102, accepted). Otherwise it wraps ErrInvalid (validation),
// ErrNoActuator, ErrDenied, ErrRejected, ErrFailed (a non-200 status;
// the Result holds the response) or the actuator's error. When ctx ends
// while the command waits for approval, Dispatch returns ctx's error and
// the entry stays pending: an approval given later executes it.
func (d *Dispatcher) Dispatch(ctx context.Context, req Request) (Result, error) {
	return d.dispatch(ctx, req, "")
}

func (d *Dispatcher) dispatch(ctx context.Context, req Request, undoOf string) (Result, error) {
	if err := ctx.Err(); err != nil {
		return Result{}, err
	}
	if req.Command.CommandID == "" {
		req.Command.CommandID = NewCommandID()
	}
	id := req.Command.CommandID
	if req.Requester == "" {
		req.Requester = "unknown"
	}

	d.mu.Lock()
	if d.closed {
		d.mu.Unlock()
		return Result{}, fmt.Errorf("respond: dispatcher: %w", mdr.ErrClosed)
	}
	if e, ok := d.entries[id]; ok {
		same := !e.res.Manual && string(e.res.Request.Command.AppendJSON(nil)) == string(req.Command.AppendJSON(nil))
		d.mu.Unlock()
		if !same {
			return Result{}, fmt.Errorf("%w: respond: command_id %q was already used for a different command", mdr.ErrConflict, id)
		}
		d.mu.Lock()
		d.stats.Duplicates++
		d.mu.Unlock()
		return d.waitDuplicate(ctx, e)
	}
	e := &entry{done: make(chan struct{}), answer: make(chan answer, 1)}
	e.res = Result{ID: id, Request: req, State: StateRunning, Requested: d.clock.Now().UTC(), UndoOf: undoOf}
	d.addLocked(e)
	d.stats.Dispatched++
	d.inflight.Add(1)
	d.mu.Unlock()
	defer d.inflight.Done()

	first := d.snap(e, req.Requester, "requested")
	first.full = true
	changes := []change{first}

	// validation and routing
	if err := req.Command.Validate(); err != nil {
		return d.finishNow(ctx, e, changes, StateDenied, "", err)
	}
	act, err := d.route(&req.Command)
	if err != nil {
		return d.finishNow(ctx, e, changes, StateDenied, "", err)
	}
	d.mu.Lock()
	e.res.Actuator = act.name
	d.mu.Unlock()
	if err := req.Command.ValidateFor(act.features); err != nil {
		return d.finishNow(ctx, e, changes, StateDenied, "", fmt.Errorf("actuator %q: %w", act.name, err))
	}

	// policy
	dec, rule, perr := d.policy.decide(ctx, &req, undoOf != "")
	d.mu.Lock()
	e.res.Decision, e.res.Rule, e.res.Decided = dec, rule, d.clock.Now().UTC()
	d.mu.Unlock()
	switch dec {
	case DecisionDeny:
		err := fmt.Errorf("%w (rule %s)", ErrDenied, rule)
		if perr != nil {
			err = fmt.Errorf("%w: %w", ErrDenied, perr)
		}
		return d.finishNow(ctx, e, changes, StateDenied, "policy", err)
	case DecisionApprove:
		return d.awaitApproval(ctx, e, changes, act, req.ApprovalTimeout)
	}
	changes = append(changes, d.snap(e, "policy", "allowed"))
	return d.run(ctx, e, act, changes)
}

// finishNow records a final state reached before execution.
func (d *Dispatcher) finishNow(ctx context.Context, e *entry, changes []change, st State, actor string, cause error) (Result, error) {
	d.mu.Lock()
	e.res.State = st
	e.res.Error = cause.Error()
	e.res.Finished = d.clock.Now().UTC()
	d.countLocked(st)
	d.mu.Unlock()
	if actor == "" {
		actor = "dispatcher"
	}
	changes = append(changes, d.snap(e, actor, string(st)))
	if err := d.j.write(ctx, changes); err != nil {
		cause = errors.Join(cause, err)
	}
	d.finalize(e)
	return d.result(e), cause
}

func (d *Dispatcher) countLocked(st State) {
	switch st {
	case StateDenied:
		d.stats.Denied++
	case StateRejected:
		d.stats.Rejected++
	case StateDryRun:
		d.stats.DryRuns++
	case StateExecuted:
		d.stats.Executed++
	case StateFailed:
		d.stats.Failed++
	case StateUndone:
		d.stats.Undone++
	}
}

// finalize closes the entry's done channel once it is final and notifies.
func (d *Dispatcher) finalize(e *entry) {
	d.mu.Lock()
	final := e.res.State.Final() && !(e.res.Manual && e.res.State == StatePending)
	if final {
		select {
		case <-e.done:
		default:
			close(e.done)
		}
	}
	d.mu.Unlock()
}

func (d *Dispatcher) result(e *entry) Result {
	d.mu.Lock()
	defer d.mu.Unlock()
	return e.res
}

func (d *Dispatcher) waitDuplicate(ctx context.Context, e *entry) (Result, error) {
	select {
	case <-e.done:
	case <-ctx.Done():
		r := d.result(e)
		r.Duplicate = true
		return r, ctx.Err()
	}
	r := d.result(e)
	r.Duplicate = true
	return r, resultErr(&r)
}

// resultErr is the error Dispatch returns for a finished entry.
func resultErr(r *Result) error {
	switch r.State {
	case StateExecuted, StateDryRun, StateUndone:
		return nil
	case StateDenied:
		return fmt.Errorf("%w: %s", ErrDenied, r.Error)
	case StateRejected:
		return fmt.Errorf("%w: %s", ErrRejected, r.Error)
	case StateCancelled:
		return fmt.Errorf("respond: cancelled: %s", r.Error)
	}
	return fmt.Errorf("%w: %s", ErrFailed, r.Error)
}

// awaitApproval records the entry as pending and waits for an answer.
func (d *Dispatcher) awaitApproval(ctx context.Context, e *entry, changes []change, act *registered, timeout time.Duration) (Result, error) {
	if timeout <= 0 {
		timeout = d.cfg.ApprovalTimeout
	}
	d.mu.Lock()
	e.res.State = StatePending
	e.res.Expires = d.clock.Now().UTC().Add(timeout)
	e.waiting = true
	id := e.res.ID
	e.stopTO = d.clock.AfterFunc(timeout, func() {
		_ = d.answer(context.Background(), id, answer{principal: "timeout", comment: fmt.Sprintf("no answer within %s", timeout)})
	})
	d.mu.Unlock()
	changes = append(changes, d.snap(e, "policy", "pending"))
	if err := d.j.write(ctx, changes); err != nil {
		return d.result(e), err
	}
	d.notify(e)
	select {
	case a := <-e.answer:
		return d.afterAnswer(ctx, e, act, a)
	case <-d.closing:
		return d.leave(ctx, e, act, fmt.Errorf("respond: dispatcher closed while the command waited for approval (it stays pending): %w", mdr.ErrClosed))
	case <-ctx.Done():
		return d.leave(ctx, e, act, ctx.Err())
	}
}

// leave stops waiting for e's approval, unless the answer already came.
func (d *Dispatcher) leave(ctx context.Context, e *entry, act *registered, cause error) (Result, error) {
	{
		d.mu.Lock()
		if e.res.State == StatePending {
			e.waiting = false
			r := e.res
			d.mu.Unlock()
			return r, cause
		}
		d.mu.Unlock()
		// answered while we were leaving: take the answer
		return d.afterAnswer(ctx, e, act, <-e.answer)
	}
}

// afterAnswer runs or finishes an entry once its approval is answered.
// The answer's state change is already recorded.
func (d *Dispatcher) afterAnswer(ctx context.Context, e *entry, act *registered, a answer) (Result, error) {
	if !a.approved {
		d.finalize(e)
		r := d.result(e)
		return r, fmt.Errorf("%w by %s: %s", ErrRejected, a.principal, a.comment)
	}
	return d.run(ctx, e, act, nil)
}

// Approve approves the pending entry id on behalf of principal. When a
// Dispatch call still waits for it, that call executes the command;
// otherwise Approve executes it and returns when it is done.
func (d *Dispatcher) Approve(ctx context.Context, id, principal, comment string) error {
	return d.answer(ctx, id, answer{approved: true, principal: principal, comment: comment})
}

// Reject rejects the pending entry id on behalf of principal.
func (d *Dispatcher) Reject(ctx context.Context, id, principal, reason string) error {
	return d.answer(ctx, id, answer{principal: principal, comment: reason})
}

func (d *Dispatcher) answer(ctx context.Context, id string, a answer) error {
	if a.principal == "" {
		return fmt.Errorf("%w: respond: an approval needs a named principal", mdr.ErrInvalid)
	}
	d.mu.Lock()
	e, ok := d.entries[id]
	if !ok {
		d.mu.Unlock()
		return fmt.Errorf("respond: entry %q: %w", id, mdr.ErrNotFound)
	}
	if e.res.State != StatePending {
		st := e.res.State
		d.mu.Unlock()
		return fmt.Errorf("%w: respond: entry %q is %s, not pending", mdr.ErrConflict, id, st)
	}
	if e.stopTO != nil {
		e.stopTO()
	}
	e.res.Approver, e.res.Comment = a.principal, a.comment
	action := "approved"
	if a.approved {
		e.res.State = StateApproved
	} else {
		action = "rejected"
		e.res.State = StateRejected
		e.res.Error = "rejected by " + a.principal
		if a.comment != "" {
			e.res.Error += ": " + a.comment
		}
		e.res.Finished = d.clock.Now().UTC()
		d.countLocked(StateRejected)
	}
	waiting := e.waiting
	manual := e.res.Manual
	d.mu.Unlock()
	if err := d.j.write(ctx, []change{d.snap(e, a.principal, action)}); err != nil {
		return err
	}
	if manual || !a.approved {
		d.finalize(e)
	}
	if waiting {
		e.answer <- a
		return nil
	}
	if manual || !a.approved {
		return nil
	}
	// nobody waits: execute here
	act, err := d.route(&e.res.Request.Command)
	if err != nil {
		_, _ = d.finishNow(ctx, e, nil, StateFailed, "", err)
		return err
	}
	d.inflight.Add(1)
	defer d.inflight.Done()
	_, err = d.run(ctx, e, act, nil)
	return err
}

// run executes an allowed or approved entry (or records its dry run).
func (d *Dispatcher) run(ctx context.Context, e *entry, act *registered, changes []change) (Result, error) {
	d.mu.Lock()
	req := e.res.Request
	dry := req.DryRun || !d.cfg.Enforce
	e.res.State = StateRunning
	e.res.DryRun = dry
	d.mu.Unlock()
	if dry {
		d.mu.Lock()
		e.res.State = StateDryRun
		e.res.Finished = d.clock.Now().UTC()
		d.countLocked(StateDryRun)
		d.mu.Unlock()
		changes = append(changes, d.snap(e, "dispatcher", "dry_run"))
		err := d.j.write(ctx, changes)
		d.finalize(e)
		d.notify(e)
		return d.result(e), err
	}
	// write ahead: the decision is durable before the actuator acts
	changes = append(changes, d.snap(e, "dispatcher", "running"))
	if err := d.j.write(ctx, changes); err != nil {
		return d.finishNow(context.WithoutCancel(ctx), e, nil, StateFailed, "", err)
	}
	resp, attempts, err := d.execute(ctx, act, req.Command)
	d.mu.Lock()
	e.res.Attempts = attempts
	e.res.Finished = d.clock.Now().UTC()
	st := StateExecuted
	switch {
	case err != nil:
		st = StateFailed
		e.res.Error = err.Error()
	case resp.Status != StatusOK && resp.Status != StatusProcessing:
		st = StateFailed
		e.res.Error = fmt.Sprintf("status %d %s", resp.Status, resp.StatusText)
	}
	if err == nil {
		r := resp
		e.res.Response = &r
	}
	e.res.State = st
	d.countLocked(st)
	if st == StateExecuted && resp.Undo != nil {
		if at, ok := undoTime(&req.Command, e.res.Requested); ok {
			e.res.UndoAt = at
			d.scheduleUndoLocked(e)
		}
	}
	d.mu.Unlock()
	if werr := d.j.write(context.WithoutCancel(ctx), []change{d.snap(e, act.name, string(st))}); werr != nil {
		err = errors.Join(err, werr)
	}
	d.finalize(e)
	d.notify(e)
	r := d.result(e)
	if st == StateFailed && err == nil {
		err = fmt.Errorf("%w: %s %s on %s: %s", ErrFailed, req.Command.Action, req.Command.Target.Name(), act.name, r.Error)
	}
	return r, err
}

// execute calls the actuator with rate limit, timeout and retries.
func (d *Dispatcher) execute(ctx context.Context, act *registered, cmd Command) (Response, int, error) {
	backoff := d.cfg.RetryBackoff
	attempts := 0
	for {
		if err := act.limit.wait(ctx, d.clock); err != nil {
			return Response{}, attempts, fmt.Errorf("%w: %w", ErrRateLimited, err)
		}
		attempts++
		resp, err := d.executeOnce(ctx, act, cmd)
		transient := err != nil && errors.Is(err, ErrTransient) || err == nil && resp.Status == StatusServiceUnavailable
		if !transient || attempts > d.cfg.MaxRetries {
			return resp, attempts, err
		}
		d.mu.Lock()
		d.stats.Retries++
		d.mu.Unlock()
		if !sleep(d.clock, backoff, ctx.Done()) {
			if err == nil {
				return resp, attempts, nil
			}
			return resp, attempts, err
		}
		backoff *= 2
	}
}

// ErrTimeout is the cause of a command's context when its
// Config.CommandTimeout passed.
var ErrTimeout = fmt.Errorf("respond: command timed out: %w", ErrTransient)

func (d *Dispatcher) executeOnce(ctx context.Context, act *registered, cmd Command) (resp Response, err error) {
	cctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	stop := d.clock.AfterFunc(d.cfg.CommandTimeout, func() { cancel(ErrTimeout) })
	defer stop()
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("respond: actuator %q panicked: %v", act.name, p)
		}
	}()
	resp, err = act.act.Execute(cctx, cmd)
	if err != nil && errors.Is(context.Cause(cctx), ErrTimeout) {
		err = fmt.Errorf("%w: %w", ErrTimeout, err)
	}
	return resp, err
}

// undoTime returns when a command's effect ends by its own arguments:
// stop_time, or (start_time or the request time) + duration.
func undoTime(c *Command, requested time.Time) (time.Time, bool) {
	a := c.Args
	if a == nil {
		return time.Time{}, false
	}
	if a.StopTime != nil {
		return time.UnixMilli(*a.StopTime).UTC(), true
	}
	if a.Duration != nil {
		start := requested
		if a.StartTime != nil {
			start = time.UnixMilli(*a.StartTime).UTC()
		}
		return start.Add(time.Duration(*a.Duration) * time.Millisecond), true
	}
	return time.Time{}, false
}

// scheduleUndoLocked arms the timer that undoes e at e.res.UndoAt.
func (d *Dispatcher) scheduleUndoLocked(e *entry) {
	if d.closed {
		return
	}
	id := e.res.ID
	wait := e.res.UndoAt.Sub(d.clock.Now())
	e.stopUn = d.clock.AfterFunc(wait, func() {
		_, _ = d.Undo(context.Background(), id, "scheduler")
	})
}

// Undo sends the compensating command of history entry id (the undo
// command its response carried) on behalf of requester, through policy
// like any command (policy sees undo == true), and marks the entry undone
// when it succeeds. A scheduled undo of the entry is cancelled.
func (d *Dispatcher) Undo(ctx context.Context, id, requester string) (Result, error) {
	d.mu.Lock()
	e, ok := d.entries[id]
	if !ok {
		d.mu.Unlock()
		return Result{}, fmt.Errorf("respond: entry %q: %w", id, mdr.ErrNotFound)
	}
	if !e.res.Undoable() || e.undoing {
		d.mu.Unlock()
		return Result{}, fmt.Errorf("%w: entry %q (%s)", ErrNotUndoable, id, e.res.State)
	}
	e.undoing = true
	if e.stopUn != nil {
		e.stopUn()
	}
	undo := e.res.Response.Undo.Clone()
	src := e.res.Request
	d.mu.Unlock()

	undo.CommandID = NewCommandID()
	req := Request{
		Command: undo, Incident: src.Incident, Score: src.Score, Criticality: src.Criticality,
		Requester: requester, Reason: "undo of " + id, DryRun: src.DryRun,
	}
	r, err := d.dispatch(ctx, req, id)
	d.mu.Lock()
	e.undoing = false
	if err != nil || r.State != StateExecuted {
		d.mu.Unlock()
		if err == nil {
			err = fmt.Errorf("%w: undo of %q ended %s", ErrFailed, id, r.State)
		}
		return r, err
	}
	e.res.State = StateUndone
	e.res.UndoneBy = r.ID
	d.countLocked(StateUndone)
	d.mu.Unlock()
	err = d.j.write(ctx, []change{d.snap(e, requester, "undone")})
	d.notify(e)
	return r, err
}

// ApprovalRequest asks a principal for a decision that is not an OpenC2
// command: a CACAO manual step, for example.
type ApprovalRequest struct {
	// ID identifies the request (a new one when empty); asking again with
	// the same id returns the earlier answer.
	ID          string
	Title       string
	Description string
	Requester   string
	Incident    string
	// Timeout rejects the request when no answer comes in time (default
	// Config.ApprovalTimeout).
	Timeout time.Duration
}

// RequestApproval puts a manual approval on the pending list and waits
// for Approve or Reject (or the timeout, which rejects). It returns the
// entry; the error wraps ErrRejected when rejected. Like Dispatch, it
// returns ctx's error when ctx ends first, leaving the request pending.
func (d *Dispatcher) RequestApproval(ctx context.Context, ar ApprovalRequest) (Result, error) {
	if err := ctx.Err(); err != nil {
		return Result{}, err
	}
	if ar.ID == "" {
		ar.ID = NewCommandID()
	}
	if ar.Requester == "" {
		ar.Requester = "unknown"
	}
	timeout := ar.Timeout
	if timeout <= 0 {
		timeout = d.cfg.ApprovalTimeout
	}
	d.mu.Lock()
	if d.closed {
		d.mu.Unlock()
		return Result{}, fmt.Errorf("respond: dispatcher: %w", mdr.ErrClosed)
	}
	if e, ok := d.entries[ar.ID]; ok {
		d.mu.Unlock()
		return d.waitDuplicate(ctx, e)
	}
	e := &entry{done: make(chan struct{}), answer: make(chan answer, 1), waiting: true}
	now := d.clock.Now().UTC()
	e.res = Result{
		ID: ar.ID, Manual: true, Title: ar.Title, State: StatePending, Requested: now,
		Decision: DecisionApprove, Rule: "manual",
		Request: Request{Requester: ar.Requester, Incident: ar.Incident, Reason: ar.Description},
		Expires: now.Add(timeout),
	}
	id := ar.ID
	e.stopTO = d.clock.AfterFunc(timeout, func() {
		_ = d.answer(context.Background(), id, answer{principal: "timeout", comment: fmt.Sprintf("no answer within %s", timeout)})
	})
	d.addLocked(e)
	d.mu.Unlock()
	first := d.snap(e, ar.Requester, "pending")
	first.full = true
	if err := d.j.write(ctx, []change{first}); err != nil {
		return d.result(e), err
	}
	d.notify(e)
	select {
	case a := <-e.answer:
		r := d.result(e)
		if !a.approved {
			return r, fmt.Errorf("%w by %s: %s", ErrRejected, a.principal, a.comment)
		}
		return r, nil
	case <-d.closing:
		return d.leaveManual(e, fmt.Errorf("respond: dispatcher closed while waiting for approval (it stays pending): %w", mdr.ErrClosed))
	case <-ctx.Done():
		return d.leaveManual(e, ctx.Err())
	}
}

func (d *Dispatcher) leaveManual(e *entry, cause error) (Result, error) {
	{
		d.mu.Lock()
		if e.res.State == StatePending {
			e.waiting = false
			r := e.res
			d.mu.Unlock()
			return r, cause
		}
		d.mu.Unlock()
		a := <-e.answer
		r := d.result(e)
		if !a.approved {
			return r, fmt.Errorf("%w by %s: %s", ErrRejected, a.principal, a.comment)
		}
		return r, nil
	}
}

// DispatchBatch dispatches reqs concurrently (at most
// Config.BatchConcurrency at once) and returns every result, in the order
// of reqs, and every failure: the error lists each failed request (its
// index and command id), never just the first.
func (d *Dispatcher) DispatchBatch(ctx context.Context, reqs []Request) ([]Result, error) {
	out := make([]Result, len(reqs))
	errs := make([]error, len(reqs))
	sem := make(chan struct{}, d.cfg.BatchConcurrency)
	var wg sync.WaitGroup
	for i := range reqs {
		wg.Add(1)
		sem <- struct{}{}
		go func(i int) {
			defer wg.Done()
			defer func() { <-sem }()
			r, err := d.Dispatch(ctx, reqs[i])
			out[i] = r
			if err != nil {
				errs[i] = fmt.Errorf("request %d (%s): %w", i, r.ID, err)
			}
		}(i)
	}
	wg.Wait()
	var merr *multierror.Error
	for _, err := range errs {
		if err != nil {
			merr = multierror.Append(merr, err)
		}
	}
	return out, merr.ErrorOrNil()
}

// Pending returns the entries waiting for approval, oldest first.
func (d *Dispatcher) Pending() []Result {
	return d.list(func(r *Result) bool { return r.State == StatePending })
}

// History returns the entries kept in memory (at most Config.MaxHistory),
// oldest first, that keep returns true for (every entry when keep is nil).
func (d *Dispatcher) History(keep func(*Result) bool) []Result {
	return d.list(keep)
}

// Get returns the entry id.
func (d *Dispatcher) Get(id string) (Result, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	e, ok := d.entries[id]
	if !ok {
		return Result{}, false
	}
	return e.res, true
}

// Stats returns the dispatcher's counters.
func (d *Dispatcher) Stats() Stats {
	d.mu.Lock()
	defer d.mu.Unlock()
	s := d.stats
	d.j.counts(&s)
	return s
}

func (d *Dispatcher) list(keep func(*Result) bool) []Result {
	d.mu.Lock()
	defer d.mu.Unlock()
	var out []Result
	for _, id := range d.order {
		e := d.entries[id]
		if e == nil {
			continue
		}
		if keep == nil || keep(&e.res) {
			out = append(out, e.res)
		}
	}
	return out
}

// addLocked adds e, dropping the oldest final entries beyond MaxHistory.
func (d *Dispatcher) addLocked(e *entry) {
	d.entries[e.res.ID] = e
	d.order = append(d.order, e.res.ID)
	if len(d.entries) <= d.cfg.MaxHistory {
		return
	}
	kept := d.order[:0]
	excess := len(d.entries) - d.cfg.MaxHistory
	for _, id := range d.order {
		old := d.entries[id]
		if old == nil {
			continue
		}
		scheduled := !old.res.UndoAt.IsZero() && old.res.State == StateExecuted
		if excess > 0 && old != nil && old.res.State.Final() && !scheduled {
			delete(d.entries, id)
			d.stats.HistoryDrops++
			excess--
			continue
		}
		if old != nil {
			kept = append(kept, id)
		}
	}
	d.order = kept
}

func (d *Dispatcher) notify(e *entry) {
	if d.cfg.OnChange == nil {
		return
	}
	d.cfg.OnChange(d.result(e))
}

// Close stops the dispatcher: new requests fail, scheduled undos and
// approval timeouts are disarmed (they are restored by the next
// NewDispatcher on the same store), running commands finish, and a
// checkpoint is written. Pending approvals stay pending in the store.
func (d *Dispatcher) Close() error {
	d.mu.Lock()
	if d.closed {
		d.mu.Unlock()
		return nil
	}
	d.closed = true
	close(d.closing)
	for _, e := range d.entries {
		if e.stopTO != nil {
			e.stopTO()
		}
		if e.stopUn != nil {
			e.stopUn()
		}
	}
	d.mu.Unlock()
	d.inflight.Wait()
	err := d.checkpoint(context.Background())
	d.j.close()
	return err
}
