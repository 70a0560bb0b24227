package store

import (
	"errors"
	"fmt"

	"github.com/mdrkit/mdr"
)

// errSummary reports a summary (DecodeSummary) that ends early or is
// damaged; DecodeSummary wraps it with mdr.ErrInvalid.
var errSummary = errors.New("summary ends early or is damaged")

// Errors of the store contract. Implementations return them wrapped with
// %w, so callers match with errors.Is against these or the mdr sentinels
// (mdr.ErrNotFound, mdr.ErrConflict, mdr.ErrInvalid, mdr.ErrClosed) that
// they wrap.
var (
	// ErrNoID reports an event, alert or incident without an id. It wraps
	// mdr.ErrInvalid.
	ErrNoID = fmt.Errorf("%w: missing id", mdr.ErrInvalid)
	// ErrAssigned reports an audit record whose Seq, PrevHash or Hash was
	// set by the caller; the store assigns them. It wraps mdr.ErrInvalid.
	ErrAssigned = fmt.Errorf("%w: audit Seq, PrevHash and Hash are assigned by the store", mdr.ErrInvalid)
	// ErrChainBroken reports an audit log whose hash chain does not verify.
	ErrChainBroken = errors.New("store: audit hash chain broken")
)

// ChainError says where an audit log's hash chain broke. It wraps
// ErrChainBroken.
type ChainError struct {
	Seq    uint64 // sequence number of the first record that does not verify
	Reason string
}

func (e *ChainError) Error() string {
	return fmt.Sprintf("store: audit record %d: %s", e.Seq, e.Reason)
}

// Unwrap returns ErrChainBroken.
func (e *ChainError) Unwrap() error { return ErrChainBroken }

// BatchError names the element of a batch that was refused.
type BatchError struct {
	Index int    // position in the batch
	ID    string // id of the element, when it has one
	Err   error
}

func (e *BatchError) Error() string {
	if e.ID != "" {
		return fmt.Sprintf("batch[%d] (id %q): %v", e.Index, e.ID, e.Err)
	}
	return fmt.Sprintf("batch[%d]: %v", e.Index, e.Err)
}

// Unwrap returns the underlying error.
func (e *BatchError) Unwrap() error { return e.Err }
