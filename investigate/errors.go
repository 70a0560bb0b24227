package investigate

import (
	"fmt"

	"github.com/mdrkit/mdr"
)

var (
	// ErrConfig reports a Config that Validate refuses.
	ErrConfig = fmt.Errorf("investigate: invalid config: %w", mdr.ErrInvalid)
	// ErrInput reports input the graph cannot take (a nil event, a bad
	// stored edge).
	ErrInput = fmt.Errorf("investigate: invalid input: %w", mdr.ErrInvalid)
	// ErrUnknownEntity reports a query about an entity the graph does not
	// hold.
	ErrUnknownEntity = fmt.Errorf("investigate: unknown entity: %w", mdr.ErrNotFound)
)

// StoreError reports an edge read from a store.Graph that cannot be loaded.
type StoreError struct {
	Node string // the node whose edges were read
	Err  error
}

func (e *StoreError) Error() string { return fmt.Sprintf("investigate: load %q: %v", e.Node, e.Err) }

func (e *StoreError) Unwrap() error { return e.Err }
