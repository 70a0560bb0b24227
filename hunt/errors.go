package hunt

import (
	"fmt"

	"github.com/mdrkit/mdr"
)

// ErrQuery is wrapped by every error about a query, a hunt or indicators
// that cannot be used; it wraps mdr.ErrInvalid.
var ErrQuery = fmt.Errorf("hunt: invalid query: %w", mdr.ErrInvalid)

// ErrTimeout ends a hunt whose Timeout ran out; it wraps mdr.ErrLimit.
var ErrTimeout = fmt.Errorf("hunt: timeout: %w", mdr.ErrLimit)

// ErrBudget ends a hunt that read its MaxScanned events; it wraps
// mdr.ErrLimit.
var ErrBudget = fmt.Errorf("hunt: scan budget spent: %w", mdr.ErrLimit)

// ErrIndicator is wrapped by an *IndicatorError.
var ErrIndicator = fmt.Errorf("hunt: invalid indicator: %w", mdr.ErrInvalid)

// QueryError is a query that does not compile: where (1-based line and
// column of the condition, 0 when unknown; the rule id for a Sigma query)
// and why. It wraps ErrQuery and is safe for concurrent reads.
type QueryError struct {
	Line, Column int
	RuleID       string
	Reason       string
}

func (e *QueryError) Error() string {
	switch {
	case e.Line > 0 && e.Column > 0:
		return fmt.Sprintf("hunt: query: line %d, column %d: %s", e.Line, e.Column, e.Reason)
	case e.Line > 0:
		return fmt.Sprintf("hunt: query: line %d: rule %s: %s", e.Line, e.RuleID, e.Reason)
	}
	return "hunt: query: " + e.Reason
}

// Unwrap returns ErrQuery.
func (e *QueryError) Unwrap() error { return ErrQuery }

// IndicatorError is an indicator that cannot be loaded: the source (file
// name), the 1-based line or STIX object index, and why. It wraps
// ErrIndicator and is safe for concurrent reads.
type IndicatorError struct {
	Source string
	Line   int
	Reason string
}

func (e *IndicatorError) Error() string {
	return fmt.Sprintf("hunt: indicators %s:%d: %s", e.Source, e.Line, e.Reason)
}

// Unwrap returns ErrIndicator.
func (e *IndicatorError) Unwrap() error { return ErrIndicator }
