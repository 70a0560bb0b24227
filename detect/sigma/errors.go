package sigma

import (
	"errors"
	"fmt"
	"strings"

	"github.com/mdrkit/mdr"
)

// Sentinel errors. Every Problem wraps one of them and mdr.ErrInvalid, so
// callers can classify rejections with errors.Is.
var (
	// ErrSyntax reports YAML that is not a well-formed Sigma document.
	ErrSyntax = errors.New("sigma: syntax error")
	// ErrModifier reports an unknown modifier or an invalid combination of
	// modifiers, or a value a modifier cannot take.
	ErrModifier = errors.New("sigma: invalid modifier")
	// ErrCondition reports a condition that cannot be parsed or that names
	// search identifiers the rule does not define.
	ErrCondition = errors.New("sigma: invalid condition")
	// ErrValue reports a detection value that cannot be used (bad regex,
	// bad CIDR, a non-number for a numeric modifier, an empty list).
	ErrValue = errors.New("sigma: invalid value")
	// ErrPlaceholder reports an expand placeholder without a value that the
	// rule cannot do without.
	ErrPlaceholder = errors.New("sigma: unresolved placeholder")
	// ErrReference reports a correlation or filter naming a rule that was not
	// loaded, or a reference cycle.
	ErrReference = errors.New("sigma: unresolved rule reference")
	// ErrPipeline reports an invalid processing pipeline.
	ErrPipeline = errors.New("sigma: invalid pipeline")
)

// Problem is one rejected rule (or pipeline entry): where it is and why.
// It is a plain value, safe to share.
type Problem struct {
	File     string // source name (file path)
	Line     int    // 1-based line of the offending node, 0 when unknown
	RuleID   string // the rule's id (or title when it has no id)
	Field    string // the detection field involved, if any
	Modifier string // the modifier involved, if any
	Reason   string
	Err      error // the sentinel error (ErrModifier, ...)
}

func (p Problem) Error() string {
	var b strings.Builder
	b.WriteString(p.File)
	if p.Line > 0 {
		fmt.Fprintf(&b, ":%d", p.Line)
	}
	if p.RuleID != "" {
		fmt.Fprintf(&b, ": rule %s", p.RuleID)
	}
	if p.Field != "" {
		fmt.Fprintf(&b, ": field %q", p.Field)
	}
	if p.Modifier != "" {
		fmt.Fprintf(&b, ": modifier %q", p.Modifier)
	}
	b.WriteString(": ")
	b.WriteString(p.Reason)
	return b.String()
}

// Unwrap lets errors.Is match the sentinel and mdr.ErrInvalid.
func (p Problem) Unwrap() []error {
	if p.Err == nil {
		return []error{mdr.ErrInvalid}
	}
	return []error{p.Err, mdr.ErrInvalid}
}

// LoadError lists every rule that could not be compiled, sorted by file and
// line. The rules returned beside it are all the rules that did compile. It
// is not modified after it is returned and is safe for concurrent reads.
type LoadError struct {
	Problems []Problem
}

func (e *LoadError) Error() string {
	if len(e.Problems) == 1 {
		return e.Problems[0].Error()
	}
	var b strings.Builder
	fmt.Fprintf(&b, "sigma: %d rules rejected:", len(e.Problems))
	for _, p := range e.Problems {
		b.WriteString("\n\t")
		b.WriteString(p.Error())
	}
	return b.String()
}

// Unwrap returns every problem so errors.Is and errors.As see them.
func (e *LoadError) Unwrap() []error {
	out := make([]error, len(e.Problems))
	for i, p := range e.Problems {
		out[i] = p
	}
	return out
}

// problemError is an error raised deep in compilation carrying where it
// happened; the rule compiler turns it into a Problem.
type problemError struct {
	line     int
	field    string
	modifier string
	reason   string
	err      error
}

func (e *problemError) Error() string { return e.reason }
func (e *problemError) Unwrap() error { return e.err }

func perr(sentinel error, line int, format string, args ...any) *problemError {
	return &problemError{line: line, err: sentinel, reason: fmt.Sprintf(format, args...)}
}
