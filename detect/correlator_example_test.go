package detect_test

import (
	"context"
	"fmt"
	"time"

	"github.com/mdrkit/mdr"
	"github.com/mdrkit/mdr/detect"
	"github.com/mdrkit/mdr/store"
)

// A base rule marks failed logons (hidden: it raises no alert of its own);
// a correlation rule fires on three of them for one account within a
// minute. The state survives a restart through a StateStore.
func ExampleCorrelator() {
	rules, err := detect.ParseRules([]byte(`
- id: failed-logon
  title: Failed logon
  severity: low
  hidden: true
  condition: e.EventID.numEq(4625)
- id: brute-force
  title: Repeated failed logons
  severity: high
  correlation:
    type: event_count
    rules: [failed-logon]
    group-by: [TargetUserName]
    timespan: 1m
    condition: {gte: 3}
`), "example.yml")
	if err != nil {
		panic(err)
	}
	rs, err := detect.Compile(rules)
	if err != nil {
		panic(err)
	}
	corr, err := detect.NewCorrelator(rs, detect.DefaultCorrelatorConfig())
	if err != nil {
		panic(err)
	}
	ctx := context.Background()
	t0 := time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC)
	logon := func(sec int, user string) *mdr.Event {
		b := mdr.NewBuilder(2)
		b.Add("EventID", mdr.Int(4625))
		b.Add("TargetUserName", mdr.String(user))
		return b.FinishAs(mdr.Origin{Source: "example"}, fmt.Sprint("evt-", sec), t0.Add(time.Duration(sec)*time.Second))
	}
	st := store.NewMemory()
	for i, ev := range []*mdr.Event{logon(0, "alice"), logon(5, "bob"), logon(10, "alice"), logon(20, "alice")} {
		if i == 2 { // a restart: save, build a new correlator, load
			if err := corr.SaveState(ctx, st); err != nil {
				panic(err)
			}
			corr, _ = detect.NewCorrelator(rs, detect.DefaultCorrelatorConfig())
			if err := corr.LoadState(ctx, st); err != nil {
				panic(err)
			}
		}
		ms, err := rs.Match(ctx, ev)
		if err != nil {
			panic(err)
		}
		cms, err := corr.Observe(ctx, ev, ms)
		if err != nil {
			panic(err)
		}
		for _, m := range cms {
			fmt.Println(m.Rule.ID, m.Group, m.EventIDs)
			fmt.Println(m.Explain())
		}
	}
	// Output:
	// brute-force [{TargetUserName alice}] [evt-0 evt-10 evt-20]
	// event_count of [failed-logon] by TargetUserName="alice": 3 events (gte 3) within 1m0s, 2024-05-01T10:00:00Z – 2024-05-01T10:00:20Z
}
