package reader

import (
	"fmt"

	"github.com/mdrkit/mdr"
)

// ErrLineTooLong reports a line or array element over Options.MaxLineBytes.
// It wraps mdr.ErrLimit.
var ErrLineTooLong = fmt.Errorf("%w: line too long", mdr.ErrLimit)

// ErrMalformed reports input that is not valid JSON where an event was
// expected. It wraps mdr.ErrInvalid.
var ErrMalformed = fmt.Errorf("%w: malformed event", mdr.ErrInvalid)

// LineError is an error about one line (or array element) of a source.
type LineError struct {
	Source string
	Line   int64
	Err    error
}

func (e *LineError) Error() string { return fmt.Sprintf("%s:%d: %v", e.Source, e.Line, e.Err) }

// Unwrap returns the underlying error.
func (e *LineError) Unwrap() error { return e.Err }
