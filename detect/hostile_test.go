package detect

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mdrkit/mdr"
)

// constList is a CEL list literal of the integers 0..n-1.
func constList(n int) string {
	parts := make([]string, n)
	for i := range parts {
		parts[i] = strconv.Itoa(i)
	}
	return "[" + strings.Join(parts, ",") + "]"
}

// foldBomb is a condition whose constant part, a triple comprehension over
// a constant list of n items, cel-go's constant folder evaluated at compile
// time without a cost limit (n=500: 44 s, issue 17 defect 6).
func foldBomb(n int) string {
	l := constList(n)
	return `e.Image == "x" && ` + l + `.exists(x, ` + l + `.exists(y, ` + l + `.exists(z, x + y + z == -1)))`
}

// TestCompileBoundsFolding is issue 17 defect 6: a rule whose constant
// folding would exceed the cost limit is rejected at once with its id, file,
// line and reason; the other rules compile; constant comprehensions within
// the limit are still folded and match as before.
func TestCompileBoundsFolding(t *testing.T) {
	src := mdr.Origin{Source: "bomb.yml", Line: 3}
	rules := []Rule{
		{ID: "bomb", Condition: foldBomb(500), Source: src},
		{ID: "ok", Condition: `e.Image == "x" && [1,2,3].exists(x, x == 2)`},
		// a comprehension over the event is not constant: not evaluated here
		{ID: "event-loop", Condition: `e.Items.exists(x, x == 2)`},
		// a constant inside a comprehension over the event
		{ID: "nested", Condition: `e.Items.exists(x, ` + constList(50) + `.exists(y, y == x))`},
	}
	done := make(chan struct{})
	var rs *Ruleset
	var err error
	go func() { rs, err = Compile(rules); close(done) }()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		t.Fatal("compiling the fold bomb did not end within 20 s")
	}
	rj := Rejections(err)
	if len(rj) != 1 || rj[0].RuleID != "bomb" || rj[0].File != "bomb.yml" || rj[0].Line != 3 ||
		!strings.Contains(rj[0].Reason, "exceeds the cost limit") || !strings.Contains(rj[0].Reason, "compile time") {
		t.Fatalf("rejections %+v (%v)", rj, err)
	}
	if rs.Len() != 3 {
		t.Fatalf("%d rules compiled", rs.Len())
	}
	ev := mdr.NewEvent(mdr.Origin{}, mdr.Field{Key: "Image", Value: mdr.String("x")},
		mdr.Field{Key: "Items", Value: mdr.List([]mdr.Value{mdr.Int(7), mdr.Int(2)})})
	ms, err := rs.Match(t.Context(), ev)
	if err != nil || len(ms) != 3 {
		t.Fatalf("%d matches, %v", len(ms), err)
	}
	// the same folding under a raised cost limit is bounded by the backstop
	// timeout (shortened here from 10 s)
	defer func(d time.Duration) { foldTimeout = d }(foldTimeout)
	foldTimeout = 200 * time.Millisecond
	start := time.Now()
	_, err = Compile([]Rule{{ID: "bomb", Condition: foldBomb(500)}}, WithCostLimit(1<<62))
	if rj := Rejections(err); len(rj) != 1 || !strings.Contains(rj[0].Reason, "takes more than 200ms to fold at compile time") {
		t.Fatalf("without a cost limit: %v", err)
	}
	if el := time.Since(start); el > 10*time.Second {
		t.Errorf("the timeout bound took %v", el)
	}
}

// TestCompileContext is issue 17 defect 7 in detect: a compile in progress
// stops when its context is done.
func TestCompileContext(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	rs, err := CompileContext(ctx, []Rule{{ID: "a", Condition: `e.A == "x"`}})
	if rs != nil || !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled before: %v %v", rs, err)
	}
	ctx, cancel = context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	rs, err = CompileContext(ctx, []Rule{{ID: "bomb", Condition: foldBomb(500)}}, WithCostLimit(1<<62))
	if rs != nil || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("cancelled during folding: %v %v", rs, err)
	}
	if el := time.Since(start); el > 5*time.Second {
		t.Errorf("the compile went on for %v after its context ended", el)
	}
}

// TestEvalErrorsDoNotStop is issue 17 defect 4 in detect: a rule that
// exceeds its cost limit on one event is reported with the rule id and the
// event's origin and id; the other rules' matches on that event are
// returned with the errors, every failed rule is listed (EvalErrors), and
// the next event is evaluated as usual.
func TestEvalErrorsDoNotStop(t *testing.T) {
	loop := `e.Items.exists(x, e.Items.exists(y, x + y == -1))`
	rs, err := Compile([]Rule{
		{ID: "cost-a", Condition: loop},
		{ID: "cost-b", Condition: `e.Items.all(x, e.Items.all(y, x + y >= 0)) && e.Image.endsWith("exe")`},
		{ID: "image", Condition: `e.Image.endsWith("evil.exe")`},
	})
	if err != nil {
		t.Fatal(err)
	}
	items := func(n int) mdr.Value {
		l := make([]mdr.Value, n)
		for i := range l {
			l[i] = mdr.Int(int64(i))
		}
		return mdr.List(l)
	}
	big := mdr.NewEvent(mdr.Origin{Source: "x.jsonl", Line: 3},
		mdr.Field{Key: "_id", Value: mdr.String("ev3")},
		mdr.Field{Key: "Image", Value: mdr.String(`C:\evil.exe`)}, mdr.Field{Key: "Items", Value: items(3000)})
	ms, err := rs.AppendMatches(t.Context(), nil, big)
	if len(ms) != 1 || ms[0].Rule.ID != "image" {
		t.Fatalf("matches %+v", ms)
	}
	ees := EvalErrors(err)
	if len(ees) != 2 || ees[0].RuleID != "cost-a" || ees[1].RuleID != "cost-b" {
		t.Fatalf("eval errors %v", err)
	}
	var ee *EvalError
	if !errors.As(err, &ee) || ee.Event != (mdr.Origin{Source: "x.jsonl", Line: 3}) || ee.EventID != "ev3" ||
		!errors.Is(err, ErrCost) || !strings.HasPrefix(ee.Error(), "x.jsonl:3: rule cost-a: ") {
		t.Fatalf("%#v: %v", ee, err)
	}
	small := mdr.NewEvent(mdr.Origin{Source: "x.jsonl", Line: 4},
		mdr.Field{Key: "Image", Value: mdr.String(`C:\evil.exe`)}, mdr.Field{Key: "Items", Value: items(3)})
	if ms, err := rs.Match(t.Context(), small); err != nil || len(ms) != 2 {
		t.Fatalf("next event: %d matches, %v", len(ms), err)
	}
	if EvalErrors(nil) != nil || EvalErrors(errors.New("x")) != nil {
		t.Error("EvalErrors of errors without one")
	}
}
