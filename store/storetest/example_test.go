package storetest_test

import (
	"context"
	"fmt"
	"time"

	"github.com/mdrkit/mdr"
	"github.com/mdrkit/mdr/store"
	"github.com/mdrkit/mdr/store/storetest"
)

// A host store proves itself from its own tests with the whole suite:
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) store.Store { return myStore(t.TempDir()) })
//	}
//
// Its helpers serve the host's own tests too: Event makes an event with a
// value of every kind, EqualEvents says how a stored event differs.
func Example() {
	ctx := context.Background()
	st := store.NewMemory() // the host's store here
	defer st.Close()
	ev := storetest.Event("ev-1", time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC),
		mdr.Field{Key: "Computer", Value: mdr.String("WS1")})
	if _, err := st.AppendEvents(ctx, []*mdr.Event{ev}); err != nil {
		fmt.Println(err)
		return
	}
	got, err := st.GetEvent(ctx, "ev-1")
	fmt.Println("stored and read back:", err, storetest.EqualEvents(ev, got))
	other := storetest.Event("ev-1", ev.Time(), mdr.Field{Key: "Computer", Value: mdr.String("WS2")})
	fmt.Println("a changed field:", storetest.EqualEvents(ev, other) != nil)
	// Output:
	// stored and read back: <nil> <nil>
	// a changed field: true
}
