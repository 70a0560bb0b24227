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

// EvalError reports a rule whose evaluation failed for a reason other than
// the event's data (a cost limit or an interruption). It is safe for
// concurrent reads.
type EvalError struct {
	RuleID string
	Err    error
}

func (e *EvalError) Error() string { return fmt.Sprintf("detect: rule %s: %v", e.RuleID, e.Err) }

// Unwrap returns the cause.
func (e *EvalError) Unwrap() error { return e.Err }
