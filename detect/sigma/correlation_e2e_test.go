package sigma

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/mdrkit/mdr"
	"github.com/mdrkit/mdr/detect"
)

// TestCorrelationEndToEnd runs the specification's example (ten failed
// logons followed by a successful one, chained correlations, rules named by
// name) through detect.Compile, Ruleset.Match and detect's Correlator.
func TestCorrelationEndToEnd(t *testing.T) {
	p := WindowsPipeline()
	c, err := New(WithPipeline(p))
	if err != nil {
		t.Fatal(err)
	}
	rules, err := c.Compile(Source{Name: "corr.yml", Data: []byte(correlationSrc)})
	if err != nil {
		t.Fatal(err)
	}
	rs, err := detect.Compile(rules, detect.WithPipeline(p.Routing()))
	if err != nil {
		t.Fatal(err)
	}
	cor, err := detect.NewCorrelator(rs, detect.DefaultCorrelatorConfig())
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	t0 := time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC)
	logon := func(i int, id int, user string) *mdr.Event {
		return mdr.NewEvent(mdr.Origin{Source: "t", Line: int64(i)},
			mdr.Field{Key: "Channel", Value: mdr.String("Security")},
			mdr.Field{Key: "EventID", Value: mdr.Int(int64(id))},
			mdr.Field{Key: "User", Value: mdr.String(user)},
			mdr.Field{Key: "TimeCreated", Value: mdr.String(t0.Add(time.Duration(i) * time.Second).Format(time.RFC3339))},
			mdr.Field{Key: "EventRecordID", Value: mdr.String(fmt.Sprint(i))})
	}
	var events []*mdr.Event
	for i := 0; i < 10; i++ {
		events = append(events, logon(i, 4625, "alice"))
	}
	events = append(events, logon(20, 4624, "alice"), logon(21, 4624, "bob"))
	var got []detect.CorrelationMatch
	for _, e := range events {
		ms, err := rs.Match(ctx, e)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range ms {
			if !m.Hidden {
				t.Errorf("base rule %s raised an alert; generate is false", m.Rule.ID)
			}
		}
		cms, err := cor.Observe(ctx, e, ms)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, cms...)
	}
	cms, err := cor.Flush(ctx)
	if err != nil {
		t.Fatal(err)
	}
	got = append(got, cms...)
	var alerts []string
	for _, m := range got {
		if !m.Hidden {
			alerts = append(alerts, m.Explain())
			if m.Rule.ID != "b180ead8-d58f-40b2-ae54-c8940995b9b6" || len(m.Group) != 1 || m.Group[0].Value != "alice" {
				t.Errorf("unexpected correlation: %s", m.Explain())
			}
		}
	}
	if len(alerts) != 1 {
		t.Fatalf("want one alert for alice, got %d: %v", len(alerts), alerts)
	}
	t.Log(alerts[0])
}
