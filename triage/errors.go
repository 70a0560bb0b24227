package triage

import (
	"errors"
	"fmt"
)

var (
	// ErrTransition reports a status change the transition table does not
	// allow (see Transitions).
	ErrTransition = errors.New("triage: status transition not allowed")
	// ErrUnknown reports an alert or incident id the queue does not hold.
	ErrUnknown = errors.New("triage: unknown id")
	// ErrConfig reports an invalid configuration.
	ErrConfig = errors.New("triage: invalid configuration")
)

// ConfigError names where a configuration is wrong: the file and line (when
// it was read from YAML), the key, and why.
type ConfigError struct {
	File string
	Line int
	Key  string
	Err  error
}

func (e *ConfigError) Error() string {
	where := e.File
	if e.Line > 0 {
		where = fmt.Sprintf("%s:%d", e.File, e.Line)
	}
	if where != "" {
		where += ": "
	}
	if e.Key != "" {
		return fmt.Sprintf("%s%s: %v", where, e.Key, e.Err)
	}
	return where + e.Err.Error()
}

func (e *ConfigError) Unwrap() error { return e.Err }

// TransitionError is a refused status change of an incident.
type TransitionError struct {
	Incident string
	From, To string
}

func (e *TransitionError) Error() string {
	return fmt.Sprintf("triage: incident %s: %s → %s is not a transition of the table", e.Incident, e.From, e.To)
}

func (e *TransitionError) Unwrap() error { return ErrTransition }
