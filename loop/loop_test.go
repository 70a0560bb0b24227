package loop_test

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"testing"

	"github.com/mdrkit/mdr/engine"
	"github.com/mdrkit/mdr/internal/shareddata"
	"github.com/mdrkit/mdr/loop"
	"github.com/mdrkit/mdr/sim"
	"github.com/mdrkit/mdr/store"
	"github.com/mdrkit/mdr/store/badger"
)

var (
	rulesOnce sync.Once
	rules     *engine.Rules
	rulesErr  error
)

// testRules are the loop's native rules and the SigmaHQ Windows rules.
func testRules(t *testing.T) *engine.Rules {
	t.Helper()
	dir := shareddata.Path(t, "sigma", "rules", "windows")
	rulesOnce.Do(func() {
		rules, rulesErr = engine.Load(context.Background(), []string{dir}, engine.WithExtraSources(loop.NativeRules()))
	})
	if rulesErr != nil {
		t.Fatal(rulesErr)
	}
	return rules
}

// The golden property of the loop, for every scenario and several seeds:
// every attack step is detected, the top incident is the attack, the
// scope holds what the attack changed, remediation leaves every host
// equal to its snapshot (but for what the plan explains) without touching
// benign activity, and the audit chain verifies.
func TestLoop(t *testing.T) {
	r := testRules(t)
	for _, name := range sim.Scenarios() {
		for _, seed := range []int64{1, 2, 3} {
			t.Run(fmt.Sprintf("%s/seed=%d", name, seed), func(t *testing.T) {
				var st store.Store = store.NewMemory()
				if seed == 1 {
					b, err := badger.Open(badger.DefaultConfig(filepath.Join(t.TempDir(), "store")))
					if err != nil {
						t.Fatal(err)
					}
					defer b.Close()
					st = b
				}
				res, err := loop.Run(context.Background(), loop.Config{Scenario: name, Seed: seed, Rules: r, Store: st, Analyst: "demo",
					SVG: filepath.Join(t.TempDir(), "incident.svg")})
				if err != nil {
					t.Fatal(err)
				}
				check(t, res)
			})
		}
	}
}

func check(t *testing.T, res *loop.Result) {
	t.Helper()
	for _, p := range res.Phases {
		if res.PhaseAlerts[p] == 0 {
			t.Errorf("attack step %q raised no alert", p)
		}
	}
	if res.Top == nil || res.TopAttackEvents*2 < res.TopEvents {
		t.Errorf("top incident %v: %d of %d events are the attack's", res.Top, res.TopAttackEvents, res.TopEvents)
	}
	if len(res.Missed) > 0 {
		t.Errorf("left behind without a reason: %v", res.Missed)
	}
	if len(res.Touched) > 0 {
		t.Errorf("benign activity touched: %v", res.Touched)
	}
	if res.AuditRecords == 0 {
		t.Error("no audit record")
	}
	approved := 0
	for _, d := range res.Decisions {
		if d.Approver == "demo" {
			approved++
		}
	}
	if approved == 0 {
		t.Error("the analyst approved nothing: the policy held nothing back")
	}
	if res.SVG == "" {
		t.Error("no picture")
	}
	if !res.OK() {
		t.Error("not OK")
	}
}
