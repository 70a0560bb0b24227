package proof_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/mdrkit/mdr/engine"
	"github.com/mdrkit/mdr/internal/shareddata"
	"github.com/mdrkit/mdr/remediate"
	"github.com/mdrkit/mdr/remediate/proof"
	"github.com/mdrkit/mdr/respond"
	"github.com/mdrkit/mdr/sim"
)

var (
	corpusOnce sync.Once
	corpus     *engine.Rules
	corpusErr  error
)

// sigma compiles the SigmaHQ corpus (rules/ and rules-emerging-threats/)
// once per test binary.
func sigma(t testing.TB) *engine.Rules {
	t.Helper()
	dir := shareddata.Dir(t)
	corpusOnce.Do(func() {
		corpus, corpusErr = engine.Load(context.Background(), []string{filepath.Join(dir, "sigma", "rules"), filepath.Join(dir, "sigma", "rules-emerging-threats")})
	})
	if corpusErr != nil {
		t.Fatal(corpusErr)
	}
	return corpus
}

// TestProof is point 5 of the remediate issue: for every scenario of the
// simulated fleet and a few seeds, the attack is detected by the SigmaHQ
// corpus, investigated, planned and applied; afterwards every host equals
// its pre-attack snapshot except for what a plan reported as not
// restorable, and the benign changes mixed into the scenario are still
// there. It fails on any attack change left unexplained (a missed
// artifact) and on any benign change or artifact remediation altered.
func TestProof(t *testing.T) {
	rules := sigma(t)
	own, err := os.ReadFile(filepath.Join("testdata", "tamper-restore.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range append(sim.Scenarios(), "tamper-restore") {
		for _, seed := range []int64{1, 2, 3} {
			det, err := engine.NewDetector(rules, engine.DefaultConfig())
			if err != nil {
				t.Fatal(err)
			}
			cfg := proof.Config{Scenario: name, Seed: seed, Detector: det, Principal: "analyst"}
			if seed == 3 {
				// semi-automatic: every change waits for an analyst's approval
				cfg.Policy, cfg.ApproveAs = &respond.Policy{Level: respond.AutomationSemi}, "demo"
			}
			if name == "tamper-restore" {
				cfg.Script = own
			}
			rep, err := proof.Run(t.Context(), cfg)
			if err != nil {
				t.Fatalf("%s/%d: %v", name, seed, err)
			}
			if len(rep.Incidents) == 0 {
				t.Errorf("%s/%d: no incident planned", name, seed)
			}
			steps := 0
			for _, in := range rep.Incidents {
				c := in.Result.Counts
				steps += len(in.Plan.Steps)
				if c.Failed+c.Unverified+c.Blocked+c.Stopped+c.Rejected > 0 || in.Result.Err != nil {
					t.Errorf("%s/%d: plan %s: %+v %v", name, seed, in.Plan.ID, c, in.Result.Err)
				}
				for i, s := range in.Plan.Steps {
					rec := in.Result.Steps[i]
					if s.Advice && s.Kind == remediate.KindResetCredentials {
						if rec.State != remediate.StatePlanned {
							t.Errorf("%s/%d: credential reset %s ran without approval: %s", name, seed, s.ID, rec.State)
						}
						continue
					}
					if s.Check != nil && rec.State != remediate.StateVerified {
						t.Errorf("%s/%d: step %s is %s: %s", name, seed, s.ID, rec.State, rec.Detail)
					}
				}
			}
			for _, c := range rep.Missed {
				t.Errorf("%s/%d: missed: %s", name, seed, strings.TrimSpace(c.String()))
			}
			for _, c := range rep.Touched {
				t.Errorf("%s/%d: touched a benign artifact: %s", name, seed, strings.TrimSpace(c.String()))
			}
			if name == "tamper-restore" {
				// our own scenario: two values changed (not created) are set
				// back to their earlier data; the overwritten and the deleted
				// document are left and explained
				restored := 0
				for _, in := range rep.Incidents {
					for _, s := range in.Plan.Steps {
						if s.Kind == remediate.KindRestoreRegistry {
							restored++
						}
					}
				}
				if restored != 2 || len(rep.Explained) != 2 {
					t.Errorf("%s/%d: %d registry restores, %d explained changes; want 2 and 2", name, seed, restored, len(rep.Explained))
				}
			}
			if seed == 3 && rep.Approved < steps/2 {
				t.Errorf("%s/%d: %d commands approved by the analyst for %d steps", name, seed, rep.Approved, steps)
			}
			if rep.AuditRecords == 0 {
				t.Errorf("%s/%d: empty audit chain", name, seed)
			}
			t.Logf("%s/%d: %d events, %d alerts, %d incidents, %d steps, %d explained, %d audit records, planned in %v, applied in %v",
				name, seed, rep.Events, rep.Alerts, len(rep.Incidents), steps, len(rep.Explained), rep.AuditRecords, rep.Planning, rep.Applying)
		}
	}
}
