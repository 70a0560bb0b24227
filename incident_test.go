package mdr_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/mdrkit/mdr"
)

// TestIncidentJSONCompatible checks that an incident stored before the type
// moved from package store (with only the fields it had then) still decodes,
// and that a round trip keeps every field.
func TestIncidentJSONCompatible(t *testing.T) {
	old := `{"id":"i1","title":"Incident i1","status":"new","severity":"critical","score":42.5,` +
		`"alert_ids":["a1","a2"],"entity_ids":["host:ws1"],"created":"2026-01-02T03:04:05Z",` +
		`"updated":"2026-01-02T03:05:00Z","version":3,"notes":[{"time":"2026-01-02T03:04:05Z","author":"analyst","text":"looks bad"}]}`
	var in mdr.Incident
	if err := json.Unmarshal([]byte(old), &in); err != nil {
		t.Fatal(err)
	}
	if in.ID != "i1" || in.Severity != mdr.SeverityCritical || in.Score != 42.5 || len(in.AlertIDs) != 2 ||
		in.Version != 3 || len(in.Notes) != 1 || in.Notes[0].Author != "analyst" || in.Level != mdr.SeverityUnknown {
		t.Fatalf("old shape decoded as %+v", in)
	}
	tm := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	in.Level, in.Hosts, in.Tactics, in.First, in.Last = mdr.SeverityHigh, []string{"ws1"}, []string{"execution"}, tm, tm.Add(time.Hour)
	in.Parts = []mdr.ScorePart{{Name: "rule", Value: 30, Detail: "high"}}
	in.Rules = []mdr.RuleCount{{RuleID: "r", Level: mdr.SeverityHigh, Count: 2}}
	b, err := json.Marshal(&in)
	if err != nil {
		t.Fatal(err)
	}
	var back mdr.Incident
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	b2, _ := json.Marshal(&back)
	if string(b) != string(b2) {
		t.Fatalf("round trip differs:\n%s\n%s", b, b2)
	}
}
