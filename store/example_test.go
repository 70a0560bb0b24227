package store_test

import (
	"context"
	"fmt"
	"time"

	"github.com/mdrkit/mdr"
	"github.com/mdrkit/mdr/store"
)

func Example() {
	ctx := context.Background()
	s := store.NewMemory()
	defer s.Close()

	t0 := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	ev := func(id string, sec int, image string) *mdr.Event {
		return mdr.NewEvent(mdr.Origin{Source: "example"},
			mdr.Field{Key: "_id", Value: mdr.String(id)},
			mdr.Field{Key: "UtcTime", Value: mdr.String(t0.Add(time.Duration(sec) * time.Second).Format(time.RFC3339))},
			mdr.Field{Key: "Image", Value: mdr.String(image)})
	}
	res, _ := s.AppendEvents(ctx, []*mdr.Event{ev("e2", 20, "powershell.exe"), ev("e1", 10, "cmd.exe"), ev("e3", 30, "whoami.exe")})
	fmt.Println("added", res.Added)

	for e, err := range s.ScanEvents(ctx, store.EventQuery{From: t0.Add(15 * time.Second)}) {
		if err != nil {
			panic(err)
		}
		img, _ := e.String("Image")
		fmt.Println(e.ID(), img)
	}

	a, _ := s.PutAlert(ctx, store.AlertRecord{Alert: mdr.Alert{ID: "a1", RuleTitle: "Whoami", Time: t0}, Status: store.StatusNew, Score: 40})
	a.Status = store.StatusOpen
	a, _ = s.UpdateAlert(ctx, a)
	fmt.Println("alert", a.Alert.ID, a.Status, "version", a.Version)

	r, _ := s.AppendAudit(ctx, store.AuditRecord{Actor: "analyst", Action: "isolate", Target: "host:ws1"})
	n, err := store.Verify(ctx, s)
	fmt.Println("audit seq", r.Seq, "verified", n, err)
	// Output:
	// added 3
	// e2 powershell.exe
	// e3 whoami.exe
	// alert a1 open version 2
	// audit seq 1 verified 1 <nil>
}
