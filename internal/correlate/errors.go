package correlate

import (
	"errors"
	"fmt"

	"github.com/mdrkit/mdr"
)

// ErrSpec reports an invalid correlation spec. It wraps mdr.ErrInvalid; the
// *SpecError that carries it names the spec.
var ErrSpec = fmt.Errorf("%w: correlation spec", mdr.ErrInvalid)

// ErrInput reports an Input the engine cannot accept (unknown spec index,
// rule not referenced by the spec, wrong number of group values, no time).
// It wraps mdr.ErrInvalid.
var ErrInput = fmt.Errorf("%w: correlation input", mdr.ErrInvalid)

// ErrSnapshot reports snapshot bytes that cannot be restored (corrupt,
// or written by an unknown format version). It wraps mdr.ErrInvalid.
var ErrSnapshot = fmt.Errorf("%w: correlation snapshot", mdr.ErrInvalid)

// ErrConfig reports an invalid Config. It wraps mdr.ErrInvalid.
var ErrConfig = fmt.Errorf("%w: correlation config", mdr.ErrInvalid)

// SpecError is an error about one spec, named by its ID and position.
type SpecError struct {
	Index int
	ID    string
	Err   error
}

func (e *SpecError) Error() string {
	return fmt.Sprintf("correlation %q (spec %d): %v", e.ID, e.Index, e.Err)
}

func (e *SpecError) Unwrap() error { return e.Err }

func specErr(i int, id, format string, args ...any) error {
	return &SpecError{Index: i, ID: id, Err: fmt.Errorf("%w: %s", ErrSpec, fmt.Sprintf(format, args...))}
}

var errNoTime = errors.New("event has no time")
