package hunt_test

import (
	"context"
	"fmt"
	"time"

	"github.com/mdrkit/mdr"
	"github.com/mdrkit/mdr/hunt"
	"github.com/mdrkit/mdr/store"
)

func exampleEvents() []*mdr.Event {
	t0 := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	var evs []*mdr.Event
	for i, img := range []string{`C:\Windows\System32\whoami.exe`, `C:\Windows\System32\cmd.exe`, `C:\Users\bob\AppData\Local\Temp\x.exe`, `C:\Windows\System32\cmd.exe`} {
		evs = append(evs, mdr.NewEvent(mdr.Origin{Source: "example", Line: int64(i + 1)},
			mdr.Field{Key: "_id", Value: mdr.String(fmt.Sprintf("ev-%d", i+1))},
			mdr.Field{Key: "TimeCreated", Value: mdr.String(t0.Add(time.Duration(i) * time.Minute).Format(time.RFC3339))},
			mdr.Field{Key: "Computer", Value: mdr.String("WS1")},
			mdr.Field{Key: "EventID", Value: mdr.Int(1)},
			mdr.Field{Key: "Image", Value: mdr.String(img)}))
	}
	return evs
}

// Compile a query once and run it over a store.
func Example() {
	ctx := context.Background()
	st := store.NewMemory()
	defer st.Close()
	if _, err := st.AppendEvents(ctx, exampleEvents()); err != nil {
		fmt.Println(err)
		return
	}
	q, err := hunt.Compile(ctx, hunt.Query{
		Condition: `e.EventID == 1 && e.Image.endsWithFold("\\cmd.exe")`,
		Fields:    []string{"Image"},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	for r, err := range q.Run(ctx, st) {
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Println(r.Event.ID(), r.Values[0].Value.Text())
	}
	// Output:
	// ev-2 C:\Windows\System32\cmd.exe
	// ev-4 C:\Windows\System32\cmd.exe
}

// Stack images least frequent first.
func ExampleStackEvents() {
	ctx := context.Background()
	st := store.NewMemory()
	defer st.Close()
	if _, err := st.AppendEvents(ctx, exampleEvents()); err != nil {
		fmt.Println(err)
		return
	}
	res, err := hunt.StackEvents(ctx, st, hunt.Stack{Fields: []string{"Image"}})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, r := range res.Rows {
		fmt.Println(r.Count, r.Hosts, r.Values[0])
	}
	// Output:
	// 1 1 C:\Windows\System32\whoami.exe
	// 1 1 C:\Users\bob\AppData\Local\Temp\x.exe
	// 2 1 C:\Windows\System32\cmd.exe
}

// Sweep stored events for indicators read from a plain list.
func ExampleSweeper_Sweep() {
	ctx := context.Background()
	st := store.NewMemory()
	defer st.Close()
	if _, err := st.AppendEvents(ctx, exampleEvents()); err != nil {
		fmt.Println(err)
		return
	}
	inds, rejects, err := hunt.ParseIndicators("iocs.txt", []byte("# known bad\nx.exe\nwhoami.exe\n"))
	if err != nil || len(rejects) > 0 {
		fmt.Println(err, rejects)
		return
	}
	sw, err := hunt.NewSweeper(inds)
	if err != nil {
		fmt.Println(err)
		return
	}
	for h, err := range sw.Sweep(ctx, st, hunt.Sweep{}) {
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Println(h.Event.ID(), h.Indicator.Kind, h.Indicator.Value, h.Field)
	}
	// Output:
	// ev-1 filename whoami.exe Image
	// ev-3 filename x.exe Image
}
