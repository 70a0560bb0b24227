package respond

import (
	"errors"
	"fmt"
	"strings"

	"github.com/mdrkit/mdr"
)

// Errors of CACAO playbooks. They sit beside errors.go (the OpenC2 errors)
// because the playbook files have their own owner; they follow the same
// rules: sentinels wrapping the mdr ones, a typed error naming every problem.
var (
	// ErrPlaybookInvalid reports a playbook that is not valid CACAO v2.0 or
	// that this engine cannot execute (unsupported step or command type,
	// a condition that does not compile). It wraps mdr.ErrInvalid; the
	// concrete error is a *PlaybookError naming each step and field.
	ErrPlaybookInvalid = fmt.Errorf("%w: cacao playbook", mdr.ErrInvalid)
	// ErrUnsupported reports a step or command type the engine does not
	// execute. It appears inside a *PlaybookError at load time, never as a
	// silent skip.
	ErrUnsupported = errors.New("respond: unsupported")
	// ErrPlaybookNotFound reports a playbook-action whose playbook is not
	// in the library.
	ErrPlaybookNotFound = fmt.Errorf("respond: playbook not found: %w", mdr.ErrNotFound)
	// ErrPlaybookLimit reports an execution stopped by one of its Limits
	// (steps executed, while iterations, playbook-action depth, total
	// time). It wraps mdr.ErrLimit.
	ErrPlaybookLimit = fmt.Errorf("respond: playbook limit: %w", mdr.ErrLimit)
	// ErrStepTimeout reports a step that ran past its timeout (CACAO's
	// ACTION_TIMEOUT).
	ErrStepTimeout = errors.New("respond: step timed out")
	// ErrStepFailed reports a step whose command failed.
	ErrStepFailed = errors.New("respond: step failed")
	// ErrManualDeclined reports a manual command that its human answered
	// with no (or that nobody answered before the timeout).
	ErrManualDeclined = errors.New("respond: manual step declined")
	// ErrVariableUndefined reports a reference to a variable that no scope
	// declares.
	ErrVariableUndefined = errors.New("respond: undefined variable")
	// ErrVariableConstant reports an assignment to a constant variable.
	ErrVariableConstant = errors.New("respond: constant variable")
)

// PlaybookError lists every problem that made a playbook fail to load. Each
// Problem's Field is a path such as
// "workflow.action--….commands[0].type"; Playbook is the playbook's id and
// File its file when known. It wraps ErrPlaybookInvalid, and ErrUnsupported
// when a problem is an unsupported step or command type.
//
// It is not modified after it is returned, so it is safe to share.
type PlaybookError struct {
	File        string
	Playbook    string
	Problems    []Problem
	unsupported bool
}

func (e *PlaybookError) Error() string {
	var b strings.Builder
	b.WriteString("cacao playbook ")
	switch {
	case e.File != "":
		b.WriteString(e.File)
	case e.Playbook != "":
		b.WriteString(e.Playbook)
	}
	b.WriteString(" invalid: ")
	for i, p := range e.Problems {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(p.String())
	}
	return b.String()
}

// Unwrap returns ErrPlaybookInvalid (and ErrUnsupported when it applies).
func (e *PlaybookError) Unwrap() []error {
	if e.unsupported {
		return []error{ErrPlaybookInvalid, ErrUnsupported}
	}
	return []error{ErrPlaybookInvalid}
}

// Reasons returns the problems as "field: reason" strings.
func (e *PlaybookError) Reasons() []string {
	out := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		out[i] = p.String()
	}
	return out
}

// StepError is the error of one failed step during an execution.
//
// It is not modified after it is returned, so it is safe to share.
type StepError struct {
	Playbook string
	Step     string
	Err      error
}

func (e *StepError) Error() string {
	return fmt.Sprintf("playbook %s step %s: %v", e.Playbook, e.Step, e.Err)
}

func (e *StepError) Unwrap() error { return e.Err }
