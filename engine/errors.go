package engine

import (
	"errors"
	"fmt"

	"github.com/mdrkit/mdr"
)

// ErrTooLarge is wrapped by the reject of a rule file above the size cap.
var ErrTooLarge = errors.New("engine: rule file too large")

// Reject is one rule, or rule file, that could not be loaded or compiled:
// where it is, which rule, and why. It is a plain value.
type Reject struct {
	Path   string `json:"path"`
	Line   int64  `json:"line,omitempty"`
	ID     string `json:"id"`
	Reason string `json:"reason"`
}

func (r Reject) String() string {
	loc := r.Path
	if r.Line > 0 {
		loc += fmt.Sprintf(":%d", r.Line)
	}
	if r.ID != "" {
		return fmt.Sprintf("%s: rule %s: %s", loc, r.ID, r.Reason)
	}
	return fmt.Sprintf("%s: %s", loc, r.Reason)
}

// Skipped is a path under a rules folder that is not a regular file (a
// FIFO, a socket, a device) and was not opened.
type Skipped struct {
	Path   string `json:"path"`
	Reason string `json:"reason"`
}

func (s Skipped) String() string { return s.Path + ": " + s.Reason }

// EvalError is one rule whose evaluation failed on one event: the rule, the
// event and where the event was read. Detection goes on after it.
type EvalError struct {
	RuleID  string
	EventID string
	Origin  mdr.Origin
	Err     error
}

func (e *EvalError) Error() string {
	loc := "event " + e.EventID
	if e.Origin.Source != "" {
		loc = fmt.Sprintf("%s:%d (event %s)", e.Origin.Source, e.Origin.Line, e.EventID)
	}
	return fmt.Sprintf("%s: rule %s: %v", loc, e.RuleID, e.Err)
}

// Unwrap returns the cause.
func (e *EvalError) Unwrap() error { return e.Err }
