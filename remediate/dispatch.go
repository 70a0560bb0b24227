package remediate

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	"github.com/mdrkit/mdr"
	"github.com/mdrkit/mdr/respond"
)

// Dispatcher sends commands to actuators under governance: policy,
// approval, dry-run, idempotency by command_id and audit.
// *respond.Dispatcher implements it.
type Dispatcher interface {
	Dispatch(ctx context.Context, req respond.Request) (respond.Result, error)
}

// Undoer is an optional capability of a Dispatcher (discovered with a type
// assertion): sending the compensating command of a history entry and
// marking the entry undone. *respond.Dispatcher has it. Without it, or
// when the dispatcher no longer knows the entry, the executor dispatches
// the undo command it saved with the step.
type Undoer interface {
	Undo(ctx context.Context, id, requester string) (respond.Result, error)
}

// Querier answers the query commands of post-conditions with the target's
// state. Queries do not go through the Dispatcher: the er profile defines
// no query of its targets, so a validating dispatcher refuses them, and a
// read needs no policy or approval. The outcome of every check is in the
// step's audit record. ActuatorQuerier adapts any respond.Actuator.
type Querier interface {
	Query(ctx context.Context, cmd respond.Command) (respond.Response, error)
}

// ActuatorQuerier returns a Querier that sends query commands to a (and
// refuses any other action, so a check can never change a host).
func ActuatorQuerier(a respond.Actuator) Querier { return actuatorQuerier{a} }

type actuatorQuerier struct{ a respond.Actuator }

func (q actuatorQuerier) Query(ctx context.Context, cmd respond.Command) (respond.Response, error) {
	if cmd.Action != respond.ActionQuery {
		return respond.Response{}, fmt.Errorf("%w: remediate: a check may only query, not %s", mdr.ErrInvalid, cmd.Action)
	}
	return q.a.Execute(ctx, cmd)
}

// NewExecutor returns an Executor that persists to st, acts through d and
// verifies through q (nil: steps are left applied, never verified, and
// counted so). In a dry run st may be nil.
func NewExecutor(st Store, d Dispatcher, q Querier, cfg Config) (*Executor, error) {
	if d == nil {
		return nil, fmt.Errorf("%w: remediate: NewExecutor needs a Dispatcher", mdr.ErrInvalid)
	}
	requester := cfg.Principal
	if requester == "" {
		requester = defaultActor
	}
	return newExecutor(st, &dispatchActuation{d: d, q: q, requester: requester}, cfg)
}

// dispatchActuation carries out steps through a Dispatcher.
type dispatchActuation struct {
	d         Dispatcher
	q         Querier
	requester string
}

// commandID is the step's command_id for one attempt: the same on a
// resumed run, so a dispatcher that already executed it answers from its
// history instead of executing it again; a new attempt gets a new id.
func commandID(plan, step string, attempt int) string {
	h := sha256.Sum256([]byte(plan + "\x00" + step + "\x00" + strconv.Itoa(attempt)))
	return "rem-" + hex.EncodeToString(h[:16])
}

func (a *dispatchActuation) apply(ctx context.Context, p *Plan, s *Step, attempt int, dryRun bool) (outcome, error) {
	cmd := s.Command.Clone()
	cmd.CommandID = commandID(p.ID, s.ID, attempt)
	req := respond.Request{Command: cmd, Incident: p.IncidentID, Requester: a.requester, Reason: s.Reason, DryRun: dryRun}
	res, err := a.d.Dispatch(ctx, req)
	o := outcome{commandID: res.ID, detail: string(res.State)}
	if res.Response != nil {
		o.status = int(res.Response.Status)
		if res.Response.StatusText != "" {
			o.detail = res.Response.StatusText
		}
		if res.Response.Undo != nil {
			b, merr := json.Marshal(res.Response.Undo)
			if merr == nil {
				o.undo = b
			}
		}
	}
	if res.Response != nil && res.Response.Results != nil {
		if m, merr := responseMap(res.Response); merr == nil {
			if fl, ok := stateOf(m)["file"].(map[string]any); ok {
				o.sha256, _ = fl["sha256"].(string)
			}
		}
	}
	if err != nil {
		if res.Response != nil && res.Response.Status == respond.StatusNotFound && res.State == respond.StateFailed {
			// the target is already gone: what the step removes is absent
			o.notFound, o.undo = true, nil
			return o, nil
		}
		return o, err
	}
	return o, nil
}

func (a *dispatchActuation) undo(ctx context.Context, p *Plan, s *Step, rec StepRecord) error {
	if u, ok := a.d.(Undoer); ok && rec.CommandID != "" {
		_, err := u.Undo(ctx, rec.CommandID, a.requester)
		if err == nil || !errors.Is(err, mdr.ErrNotFound) {
			return err
		}
	}
	var cmd respond.Command
	if err := json.Unmarshal(rec.Undo, &cmd); err != nil {
		return fmt.Errorf("remediate: undo command of step %q: %w", s.ID, err)
	}
	cmd.CommandID = commandID(p.ID, s.ID+"/undo", rec.Attempts)
	_, err := a.d.Dispatch(ctx, respond.Request{Command: cmd, Incident: p.IncidentID, Requester: a.requester, Reason: "undo of " + s.ID + ": " + s.Reason})
	return err
}

func (a *dispatchActuation) query(ctx context.Context, s *Step) (map[string]any, error) {
	if a.q == nil {
		return nil, errNoQuerier
	}
	if s.Check == nil || s.Check.Query == nil {
		return nil, fmt.Errorf("%w: remediate: step %q has no query", mdr.ErrInvalid, s.ID)
	}
	resp, err := a.q.Query(ctx, *s.Check.Query)
	if err != nil {
		return nil, err
	}
	return responseMap(&resp)
}

var errNoQuerier = errors.New("remediate: no Querier: post-conditions cannot be checked")

// responseMap turns a response into the CEL variable response: its OpenC2
// JSON, with status as an int.
func responseMap(r *respond.Response) (map[string]any, error) {
	b, err := json.Marshal(r)
	if err != nil {
		return nil, err
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, err
	}
	m["status"] = int64(r.Status)
	if _, ok := m["status_text"]; !ok {
		m["status_text"] = ""
	}
	return m, nil
}
