package schema

import (
	"fmt"

	"github.com/mdrkit/mdr"
)

// ErrMissingField reports an event of a supported kind that lacks every
// field that identifies its main entity (a Sysmon 1 without ProcessGuid,
// ProcessId and Image, say). It wraps mdr.ErrInvalid.
var ErrMissingField = fmt.Errorf("%w: missing field", mdr.ErrInvalid)

// ErrUnknownDialect reports a dialect name that Parse does not know. It wraps
// mdr.ErrInvalid.
var ErrUnknownDialect = fmt.Errorf("%w: unknown dialect", mdr.ErrInvalid)

// EventError is an error about one event: where it came from, what it is and
// which field is at fault. It is immutable once returned and safe for
// concurrent reads.
type EventError struct {
	Origin  mdr.Origin
	EventID string  // the event's id (mdr.Event.ID)
	Dialect Dialect // the detected dialect
	Code    string  // the dialect's event code (EventID, class_uid, event.category)
	Field   string  // the field at fault, or the fields tried joined by "|"
	Err     error
}

func (e *EventError) Error() string {
	return fmt.Sprintf("%s:%d: event %s (%s %s): %s: %v", e.Origin.Source, e.Origin.Line, e.EventID, e.Dialect, e.Code, e.Field, e.Err)
}

// Unwrap returns the underlying error.
func (e *EventError) Unwrap() error { return e.Err }
