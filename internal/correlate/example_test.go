package correlate_test

import (
	"fmt"
	"time"

	"github.com/mdrkit/mdr/internal/correlate"
)

// Three failed logons of one account within a minute make one hit; the
// engine keeps its state across a restart through Snapshot and Restore.
func ExampleEngine() {
	three := 3.0
	specs := []correlate.Spec{{
		ID: "brute-force", Kind: correlate.EventCount, Rules: []string{"failed-logon"},
		GroupBy: []string{"TargetUserName"}, Window: time.Minute, Condition: correlate.Condition{GTE: &three},
	}}
	eng, err := correlate.New(correlate.DefaultConfig(), specs)
	if err != nil {
		panic(err)
	}
	t0 := time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC)
	var hits []correlate.Hit
	for i, user := range []string{"alice", "bob", "alice", "alice"} {
		if i == 2 {
			snap, err := eng.Snapshot()
			if err != nil {
				panic(err)
			}
			eng, _ = correlate.New(correlate.DefaultConfig(), specs)
			if err := eng.Restore(snap); err != nil {
				panic(err)
			}
		}
		in := correlate.Input{Spec: 0, Rule: "failed-logon", Time: t0.Add(time.Duration(i*10) * time.Second),
			EventID: fmt.Sprint("evt-", i), Group: []string{user}}
		if hits, err = eng.Observe(in, hits); err != nil {
			panic(err)
		}
	}
	for _, h := range hits {
		fmt.Println(h.Spec, h.Group, h.EventIDs, h.Value, h.End.Sub(h.Start))
	}
	// Output:
	// brute-force [alice] [evt-0 evt-2 evt-3] 3 30s
}
