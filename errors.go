package mdr

import "errors"

// Sentinel errors shared by every package of the library. Packages wrap them
// with fmt.Errorf("...: %w", err) so callers can match with errors.Is.
var (
	// ErrNotFound reports that a requested item does not exist.
	ErrNotFound = errors.New("mdr: not found")
	// ErrConflict reports a failed optimistic-concurrency check.
	ErrConflict = errors.New("mdr: version conflict")
	// ErrInvalid reports input that cannot be accepted.
	ErrInvalid = errors.New("mdr: invalid input")
	// ErrClosed reports use of a closed component.
	ErrClosed = errors.New("mdr: closed")
	// ErrLimit reports that a configured limit (size, cost, count) was exceeded.
	ErrLimit = errors.New("mdr: limit exceeded")
)
