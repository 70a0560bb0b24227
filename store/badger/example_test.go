package badger_test

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/mdrkit/mdr"
	"github.com/mdrkit/mdr/store"
	"github.com/mdrkit/mdr/store/badger"
)

func Example() {
	dir, _ := os.MkdirTemp("", "mdr-store-example-*")
	defer os.RemoveAll(dir)
	ctx := context.Background()

	s, err := badger.Open(badger.DefaultConfig(dir))
	if err != nil {
		panic(err)
	}
	t0 := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	var batch []*mdr.Event
	for i := range 5 {
		batch = append(batch, mdr.NewEvent(mdr.Origin{Source: "example", Line: int64(i + 1)},
			mdr.Field{Key: "_id", Value: mdr.String(fmt.Sprintf("ev-%d", i))},
			mdr.Field{Key: "UtcTime", Value: mdr.String(t0.Add(time.Duration(4-i) * time.Minute).Format(time.RFC3339))},
			mdr.Field{Key: "EventID", Value: mdr.Int(1)}))
	}
	res, err := s.AppendEvents(ctx, batch)
	fmt.Println("stored", res.Added, err)
	s.Close()

	// reopen: everything acknowledged is there, in event-time order
	s, err = badger.Open(badger.DefaultConfig(dir))
	if err != nil {
		panic(err)
	}
	defer s.Close()
	for e, err := range s.ScanEvents(ctx, store.EventQuery{Limit: 3}) {
		if err != nil {
			panic(err)
		}
		fmt.Println(e.ID(), e.Time().Format("15:04"), "line", e.Origin().Line)
	}
	// Output:
	// stored 5 <nil>
	// ev-4 12:00 line 5
	// ev-3 12:01 line 4
	// ev-2 12:02 line 3
}

// A bulk load through an Appender: batches are prepared while the batch
// before is written; Close reports what was stored.
func ExampleStore_NewAppender() {
	dir, _ := os.MkdirTemp("", "mdr-store-example-*")
	defer os.RemoveAll(dir)
	ctx := context.Background()

	cfg := badger.DefaultConfig(dir)
	cfg.SyncEvents = false // a bulk load: one Sync at the end
	s, err := badger.Open(cfg)
	if err != nil {
		panic(err)
	}
	defer s.Close()
	t0 := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	ap, err := s.NewAppender()
	if err != nil {
		panic(err)
	}
	for b := range 3 {
		var batch []*mdr.Event
		for i := range 4 {
			n := b*3 + i // the last event of a batch is sent again in the next
			batch = append(batch, mdr.NewEvent(mdr.Origin{Source: "example", Line: int64(n + 1)},
				mdr.Field{Key: "_id", Value: mdr.String(fmt.Sprintf("ev-%d", n))},
				mdr.Field{Key: "UtcTime", Value: mdr.String(t0.Add(time.Duration(n) * time.Second).Format(time.RFC3339))}))
		}
		if err := ap.Append(ctx, batch); err != nil {
			panic(err)
		}
	}
	res, err := ap.Close()
	fmt.Println("stored", res.Added, "duplicates", res.Duplicates, err)
	fmt.Println("sync", s.Sync())
	n, _ := s.CountEvents(ctx, time.Time{}, time.Time{})
	fmt.Println("events", n)
	// Output:
	// stored 10 duplicates 2 <nil>
	// sync <nil>
	// events 10
}
