package detect

import (
	"errors"
	"fmt"
	"strings"

	"github.com/mdrkit/mdr"
)

// ErrRule is wrapped by every error about a rule that cannot be accepted;
// it wraps mdr.ErrInvalid.
var ErrRule = fmt.Errorf("detect: invalid rule: %w", mdr.ErrInvalid)

// ErrCost is wrapped by the error of an evaluation stopped by the per-rule
// cost limit; it wraps mdr.ErrLimit.
var ErrCost = fmt.Errorf("detect: rule cost limit exceeded: %w", mdr.ErrLimit)

// RuleError is one rejected rule: where it was read (file and 1-based line,
// zero when unknown), its id (empty when it has none) and why. It is a plain
// value, safe for concurrent use.
type RuleError struct {
	File   string
	Line   int64
	RuleID string
	Reason string
}

// Error formats the rejection as "file:line: rule id: reason".
func (e RuleError) Error() string {
	var b strings.Builder
	if e.File != "" {
		b.WriteString(e.File)
		if e.Line > 0 {
			fmt.Fprintf(&b, ":%d", e.Line)
		}
		b.WriteString(": ")
	}
	if e.RuleID != "" {
		fmt.Fprintf(&b, "rule %s: ", e.RuleID)
	}
	b.WriteString(e.Reason)
	return b.String()
}

// Unwrap returns ErrRule.
func (e RuleError) Unwrap() error { return ErrRule }

func ruleErr(r *Rule, format string, args ...any) RuleError {
	return RuleError{File: r.Source.Source, Line: r.Source.Line, RuleID: r.ID, Reason: fmt.Sprintf(format, args...)}
}

// CompileError is returned by Compile (and ParseRules, LoadFile) when some
// rules were rejected. It lists every rejection, in input order; the rules
// that were accepted are still returned alongside it. It is not modified
// after it is returned and is safe for concurrent reads.
type CompileError struct {
	Rejected []RuleError
}

// Error lists every rejection, one per line.
func (e *CompileError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "detect: %d rule(s) rejected", len(e.Rejected))
	for _, r := range e.Rejected {
		b.WriteString("\n\t")
		b.WriteString(r.Error())
	}
	return b.String()
}

// Unwrap returns the rejections, so errors.Is(err, ErrRule) holds.
func (e *CompileError) Unwrap() []error {
	out := make([]error, len(e.Rejected))
	for i, r := range e.Rejected {
		out[i] = r
	}
	return out
}

// Rejections returns the rule rejections carried by err (a *CompileError,
// possibly wrapped), or nil.
func Rejections(err error) []RuleError {
	var ce *CompileError
	if errors.As(err, &ce) {
		return ce.Rejected
	}
	return nil
}

// EvalError reports a rule whose evaluation on one event failed for a
// reason other than the event's data (a cost limit or an interruption):
// which rule, and which event (its origin, the file or source and line it
// was read from, and its id). It is safe for concurrent reads.
//
// An EvalError stops only that rule on that event: AppendMatches and Match
// go on with the other rules and return the matches they found together
// with the errors (see EvalErrors). A caller scanning a stream counts and
// reports them and goes on with the next event.
type EvalError struct {
	RuleID  string
	Event   mdr.Origin // where the event was read; zero when unknown
	EventID string
	Err     error
}

// Error formats the error as "source:line: rule id: cause" (the causes,
// ErrCost and context errors, say where they come from).
func (e *EvalError) Error() string {
	var b strings.Builder
	if e.Event.Source != "" {
		b.WriteString(e.Event.Source)
		if e.Event.Line > 0 {
			fmt.Fprintf(&b, ":%d", e.Event.Line)
		}
		b.WriteString(": ")
	} else if e.EventID != "" {
		fmt.Fprintf(&b, "event %s: ", e.EventID)
	}
	fmt.Fprintf(&b, "rule %s: %v", e.RuleID, e.Err)
	return b.String()
}

// Unwrap returns the cause.
func (e *EvalError) Unwrap() error { return e.Err }

// EvalErrors returns every *EvalError in err's tree (the errors.Join of
// AppendMatches, possibly wrapped), in order; errors.As finds only the
// first.
func EvalErrors(err error) []*EvalError {
	var out []*EvalError
	var walk func(error)
	walk = func(err error) {
		if err == nil {
			return
		}
		if ee, ok := err.(*EvalError); ok {
			out = append(out, ee)
			return
		}
		switch x := err.(type) {
		case interface{ Unwrap() []error }:
			for _, e := range x.Unwrap() {
				walk(e)
			}
		case interface{ Unwrap() error }:
			walk(x.Unwrap())
		}
	}
	walk(err)
	return out
}
