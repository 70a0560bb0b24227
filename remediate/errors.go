package remediate

import (
	"errors"
	"fmt"

	"github.com/mdrkit/mdr"
)

// Sentinel errors of package remediate. Match them with errors.Is; the
// typed errors below wrap them.
var (
	// ErrTransition reports a move the state machine does not allow (see
	// Next). It wraps mdr.ErrInvalid.
	ErrTransition = fmt.Errorf("%w: remediate: transition not allowed", mdr.ErrInvalid)
	// ErrPlan reports a plan that cannot run: an unknown dependency, a
	// dependency cycle, a duplicate step id. It wraps mdr.ErrInvalid.
	ErrPlan = fmt.Errorf("%w: remediate: invalid plan", mdr.ErrInvalid)
	// ErrStepFailed reports a step whose command failed (a *StepError says
	// which).
	ErrStepFailed = errors.New("remediate: step failed")
	// ErrNotReversible reports a revert of a step whose command has no
	// compensating command.
	ErrNotReversible = errors.New("remediate: step not reversible")
	// ErrCondition reports a post-condition that does not compile, does not
	// return a bool, or exceeds its cost limit.
	ErrCondition = errors.New("remediate: post-condition")
	// ErrStopped reports steps that did not run because an earlier step
	// failed and the plan stopped.
	ErrStopped = errors.New("remediate: plan stopped after a failure")
)

// TransitionError names a move the state machine refused.
type TransitionError struct {
	Plan, Step string // set when the move was asked of a stored step
	From       State
	Event      Event
}

func (e *TransitionError) Error() string {
	where := ""
	if e.Step != "" {
		where = fmt.Sprintf(" (plan %q step %q)", e.Plan, e.Step)
	}
	return fmt.Sprintf("remediate: %s not allowed from %s%s", e.Event, e.From, where)
}

// Unwrap returns ErrTransition.
func (e *TransitionError) Unwrap() error { return ErrTransition }

// StepError names the step an error happened in and the phase (apply,
// verify, revert) it happened during.
type StepError struct {
	Step  string
	Phase string
	Err   error
}

func (e *StepError) Error() string {
	return fmt.Sprintf("remediate: step %q: %s: %v", e.Step, e.Phase, e.Err)
}

// Unwrap returns the underlying error.
func (e *StepError) Unwrap() error { return e.Err }

// ConditionError names a post-condition that could not be compiled or
// evaluated.
type ConditionError struct {
	Step string
	Expr string
	Err  error
}

func (e *ConditionError) Error() string {
	return fmt.Sprintf("remediate: step %q: post-condition %q: %v", e.Step, e.Expr, e.Err)
}

// Unwrap returns ErrCondition and the underlying error.
func (e *ConditionError) Unwrap() []error { return []error{ErrCondition, e.Err} }
