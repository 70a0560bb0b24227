package sim

import (
	"errors"
	"fmt"
)

// Sentinel errors of the simulated fleet; match them with errors.Is.
var (
	// ErrNotFound: the host, process, file, registry value, service, task
	// or account named does not exist.
	ErrNotFound = errors.New("sim: not found")
	// ErrExists: the thing to create already exists.
	ErrExists = errors.New("sim: already exists")
	// ErrContained: the host's containment blocks the operation (a
	// connection from an isolated host, a program start under
	// app_restriction).
	ErrContained = errors.New("sim: blocked by containment")
	// ErrLimit: a host holds as many objects of a kind as Config allows.
	ErrLimit = errors.New("sim: limit reached")
	// ErrInvalid: an operation or a scenario step is malformed.
	ErrInvalid = errors.New("sim: invalid")
	// ErrUnknownScenario: no scenario has the name given.
	ErrUnknownScenario = errors.New("sim: unknown scenario")
)

// ScriptError is a problem in a scenario script: which script, which step
// (0-based index, -1 for the header), the YAML line when known, and why.
type ScriptError struct {
	Script string
	Step   int
	Line   int
	Err    error
}

func (e *ScriptError) Error() string {
	loc := e.Script
	if e.Line > 0 {
		loc += fmt.Sprintf(":%d", e.Line)
	}
	if e.Step >= 0 {
		return fmt.Sprintf("%s: step %d: %v", loc, e.Step, e.Err)
	}
	return fmt.Sprintf("%s: %v", loc, e.Err)
}

func (e *ScriptError) Unwrap() error { return e.Err }
