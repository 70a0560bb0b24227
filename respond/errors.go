package respond

import (
	"errors"
	"fmt"
	"strings"

	"github.com/mdrkit/mdr"
)

// Sentinel errors of package respond. Errors returned by the package wrap
// them (and through them the mdr sentinels), so callers match with errors.Is.
var (
	// ErrInvalid reports an OpenC2 message that does not conform to the
	// language specification or to a profile. It wraps mdr.ErrInvalid;
	// the concrete error is a *ValidationError naming each field.
	ErrInvalid = fmt.Errorf("%w: openc2", mdr.ErrInvalid)
	// ErrNoActuator reports a command that no registered actuator serves.
	ErrNoActuator = fmt.Errorf("respond: no actuator for command: %w", mdr.ErrNotFound)
	// ErrDenied reports a command that policy denied.
	ErrDenied = errors.New("respond: denied by policy")
	// ErrRejected reports a command whose approval was rejected by a
	// principal or timed out.
	ErrRejected = errors.New("respond: approval rejected")
	// ErrRateLimited reports a command refused because its actuator's rate
	// limit was reached and the caller's context ended while waiting.
	ErrRateLimited = fmt.Errorf("respond: rate limited: %w", mdr.ErrLimit)
	// ErrNotUndoable reports an undo of a history entry whose response
	// carried no undo command, or that was already undone.
	ErrNotUndoable = errors.New("respond: not undoable")
	// ErrFailed reports a command whose actuator answered with a status
	// other than 200 (or 102).
	ErrFailed = errors.New("respond: command failed")
	// ErrTransient marks an actuator error that may succeed when retried
	// (see Transient). The dispatcher retries only such errors and
	// responses with status 503.
	ErrTransient = errors.New("respond: transient failure")
)

// Problem is one reason a message is invalid: the field (a dotted path such
// as "target.device.hostname" or "args.er.device_containment") and why.
type Problem struct {
	Field  string `json:"field"`
	Reason string `json:"reason"`
}

func (p Problem) String() string {
	if p.Field == "" {
		return p.Reason
	}
	return p.Field + ": " + p.Reason
}

// ValidationError lists every problem found in one message. It wraps
// ErrInvalid.
type ValidationError struct {
	// Kind is "command", "response" or "message".
	Kind     string
	Problems []Problem
}

func (e *ValidationError) Error() string {
	var b strings.Builder
	b.WriteString("openc2 ")
	b.WriteString(e.Kind)
	b.WriteString(" invalid: ")
	for i, p := range e.Problems {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(p.String())
	}
	return b.String()
}

func (e *ValidationError) Unwrap() error { return ErrInvalid }

// Reasons returns the problems as "field: reason" strings.
func (e *ValidationError) Reasons() []string {
	out := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		out[i] = p.String()
	}
	return out
}

// problems collects Problems while a message is decoded or validated.
type problems struct {
	list []Problem
}

func (p *problems) add(field, format string, args ...any) {
	if len(args) == 0 {
		p.list = append(p.list, Problem{Field: field, Reason: format})
		return
	}
	p.list = append(p.list, Problem{Field: field, Reason: fmt.Sprintf(format, args...)})
}

func (p *problems) err(kind string) error {
	if len(p.list) == 0 {
		return nil
	}
	return &ValidationError{Kind: kind, Problems: p.list}
}

// transientError marks an error as transient.
type transientError struct{ err error }

func (e *transientError) Error() string { return e.err.Error() }
func (e *transientError) Unwrap() []error {
	return []error{e.err, ErrTransient}
}

// Transient wraps err so that errors.Is(err, ErrTransient) holds: an
// Actuator returns it for failures that may succeed when retried (a
// timeout talking to the EDR console, a dropped connection). Transient(nil)
// is nil.
func Transient(err error) error {
	if err == nil {
		return nil
	}
	return &transientError{err: err}
}
