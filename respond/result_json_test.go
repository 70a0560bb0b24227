package respond

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"
)

// TestResultJSONMatchesReflection checks the hand-written entry encoding
// against encoding/json's reflection over the same struct tags, and that
// it reads back.
func TestResultJSONMatchesReflection(t *testing.T) {
	t0 := time.Date(2026, 12, 3, 12, 0, 0, 123456789, time.UTC)
	c := containCmd("ws\"1")
	dur := int64(60000)
	c.Args.Duration = &dur
	c.CommandID = "id-1"
	undo := Command{Action: ActionAllow, Target: Target{Device: &Device{Hostname: "ws\"1"}}}
	rl := 12.5
	full := Result{ID: "id-1", Request: Request{Command: c, Incident: "inc\n7", Score: 91.25, Criticality: "high", Requester: "analyst",
		Reason: "because <reasons> & \u2028", DryRun: true, ApprovalTimeout: time.Minute},
		Actuator: "edr", Decision: DecisionApprove, Rule: "r1", State: StateExecuted, Approver: "alice", Comment: "ok",
		Response: &Response{Status: 200, StatusText: "done", Results: &Results{Versions: []string{"1.0"}, RateLimit: &rl}, Undo: &undo},
		Error:    "e", Attempts: 2, DryRun: true, Manual: true, Title: "t", Requested: t0, Decided: t0.Add(time.Second),
		Finished: t0.Add(2 * time.Second), Expires: t0.Add(time.Hour), UndoAt: t0.Add(time.Minute), UndoneBy: "u2", UndoOf: "u0"}
	for _, r := range []Result{full, {ID: "x", State: StatePending}} {
		type plain Result
		want, err := json.Marshal(plain(r))
		if err != nil {
			t.Fatal(err)
		}
		got := r.AppendJSON(nil)
		var a, b any
		if err := json.Unmarshal(want, &a); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(got, &b); err != nil {
			t.Fatalf("%s: %v", got, err)
		}
		if !reflect.DeepEqual(a, b) {
			t.Fatalf("differs:\nreflect %s\nmine    %s", want, got)
		}
		var back Result
		if err := json.Unmarshal(got, &back); err != nil {
			t.Fatal(err)
		}
		if again := back.AppendJSON(nil); string(again) != string(got) {
			t.Fatalf("round trip:\n%s\n%s", got, again)
		}
	}
}
