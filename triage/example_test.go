package triage_test

import (
	"context"
	"fmt"
	"time"

	"github.com/mdrkit/mdr"
	"github.com/mdrkit/mdr/store"
	"github.com/mdrkit/mdr/triage"
)

// Push alerts into a queue, read the incidents highest first with the
// parts of their scores, and give a verdict.
func Example() {
	ctx := context.Background()
	q, err := triage.Open(ctx, store.NewMemory(), triage.DefaultConfig())
	if err != nil {
		fmt.Println(err)
		return
	}
	at := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	for _, a := range []mdr.Alert{
		{ID: "a1", RuleID: "lsass-dump", RuleTitle: "LSASS dump", Severity: mdr.SeverityHigh, Host: "WS1", Time: at,
			Tags: []string{"attack.credential-access"}},
		{ID: "a2", RuleID: "run-key", RuleTitle: "Run key written", Severity: mdr.SeverityMedium, Host: "WS1", Time: at.Add(time.Minute),
			Tags: []string{"attack.persistence"}},
		{ID: "a3", RuleID: "run-key", RuleTitle: "Run key written", Severity: mdr.SeverityMedium, Host: "WS1", Time: at.Add(2 * time.Minute)},
		{ID: "b1", RuleID: "logoff", RuleTitle: "User logoff", Severity: mdr.SeverityInformational, Host: "WS2", Time: at},
	} {
		if _, err := q.Push(ctx, a, nil); err != nil {
			fmt.Println(err)
			return
		}
	}
	top, err := q.Top(ctx, 0)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, in := range top {
		fmt.Printf("%s %.2f %s alerts=%d tactics=%v\n", in.ID, in.Score, in.Level, in.Alerts, in.Tactics)
		for _, p := range in.Parts {
			fmt.Printf("  %s %+.2f %s\n", p.Name, p.Value, p.Detail)
		}
	}
	err = q.VerdictIncident(ctx, top[1].ID, triage.Verdict{Reason: "normal logoff", Author: "ana"})
	in, _ := q.Incident(ctx, top[1].ID)
	fmt.Println(in.ID, in.Status, err)
	// Output:
	// inc:a1 64.34 high alerts=3 tactics=[persistence credential-access]
	//   risk +63.84 highest alert 55.0 (LSASS dump) + 1 more rules at 1/i^1.5
	//   tactics +0.50 2 tactics: persistence → credential-access
	// inc:b1 3.00 informational alerts=1 tactics=[]
	//   risk +3.00 highest alert 3.0 (User logoff)
	// inc:b1 false_positive <nil>
}
