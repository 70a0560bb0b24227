package badger

import (
	"errors"
	"fmt"

	"github.com/mdrkit/mdr"
)

// ErrLayout reports a store directory whose key layout this build cannot
// read: written by a newer version of mdrkit, by something else, or damaged.
// Open refuses such a directory rather than misread it.
var ErrLayout = errors.New("badger store: unsupported key layout")

// ErrCorrupt reports a stored value that does not decode. It wraps
// mdr.ErrInvalid.
var ErrCorrupt = fmt.Errorf("%w: corrupt stored value", mdr.ErrInvalid)

// LayoutError says which layout version a directory holds. It wraps
// ErrLayout.
type LayoutError struct {
	Dir       string
	Found     string // the version found, or a description when none is readable
	Supported uint32
}

func (e *LayoutError) Error() string {
	return fmt.Sprintf("badger store %s: key layout version %s, this build reads version %d only (a store written by a newer mdrkit; an older one, whose events must be ingested again; or not an mdrkit store)", e.Dir, e.Found, e.Supported)
}

// Unwrap returns ErrLayout.
func (e *LayoutError) Unwrap() error { return ErrLayout }

// corrupt reports a value under key that does not decode.
func corrupt(key []byte, why string) error {
	return fmt.Errorf("%w: key %q: %s", ErrCorrupt, key, why)
}
