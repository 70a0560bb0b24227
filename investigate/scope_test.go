package investigate_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mdrkit/mdr"
	"github.com/mdrkit/mdr/internal/scenario"
	"github.com/mdrkit/mdr/investigate"
)

// scenarioGraph writes a generated attack (internal/scenario) as NDJSON,
// builds its graph and runs the SigmaHQ corpus over it.
func scenarioGraph(t *testing.T, seed int64) (*scenario.Scenario, built) {
	t.Helper()
	sc := scenario.Generate(scenario.Config{Seed: seed})
	path := filepath.Join(t.TempDir(), "events.ndjson")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := sc.WriteNDJSON(f); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return sc, build(t, sigmaCorpus(t), 0, path)
}

// TestScopeScenario checks the scope of the generated attack (a macro
// document starts PowerShell, which downloads a tool, dumps credentials,
// sets a Run key, creates a task, copies the tool to a server and installs
// it as a service there) against the generator's facts: every persistence
// item is found with the data it was given, and every item is proved by
// attack events only (precision: nothing benign that merely ran on the
// same hosts at the same time).
func TestScopeScenario(t *testing.T) {
	ctx := context.Background()
	for _, seed := range []int64{1, 2, 3} {
		sc, b := scenarioGraph(t, seed)
		if len(b.alerts) == 0 {
			t.Fatalf("seed %d: the corpus raised no alert", seed)
		}
		f := sc.Facts
		attack := map[string]bool{}
		for i, r := range sc.Events {
			if sc.StepOf(i) != scenario.NoStep {
				attack[r.Str("_id")] = true
			}
		}
		// The scope of the alerts the attack raised (true positives):
		// alerts on benign events belong to other incidents.
		var tp []mdr.Alert
		for _, a := range b.alerts {
			if !slices.ContainsFunc(a.EventIDs, func(id string) bool { return !attack[id] }) {
				tp = append(tp, a)
			}
		}
		s, err := b.g.Scope(ctx, tp, investigate.ScopeLimits{})
		if err != nil {
			t.Fatal(err)
		}
		has := func(k investigate.ItemKind, name string, check func(investigate.Item) bool) {
			t.Helper()
			for _, it := range s.Of(k) {
				if strings.EqualFold(it.Name, name) && (check == nil || check(it)) {
					return
				}
			}
			var names []string
			for _, it := range s.Of(k) {
				names = append(names, it.Name)
			}
			t.Errorf("seed %d: scope lacks %s %q (has %q)", seed, k, name, names)
		}
		has(investigate.ItemFile, f.Tool, func(it investigate.Item) bool { return it.Action == investigate.ActCreated })
		has(investigate.ItemRegistry, f.RunKey, func(it investigate.Item) bool { return it.Data == f.Tool && !it.PriorSeen })
		has(investigate.ItemService, f.Service, func(it investigate.Item) bool {
			return strings.HasPrefix(strings.ToUpper(it.Host), strings.ToUpper(shortName(f.Server)))
		})
		has(investigate.ItemTask, `\`+strings.TrimPrefix(f.Task, `\`), nil)
		has(investigate.ItemEndpoint, fmt.Sprintf("%s:%d", f.C2IP, f.C2Port), nil)
		has(investigate.ItemProcess, `C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe`, nil)
		if !slices.ContainsFunc(s.Hosts, func(h string) bool { return strings.EqualFold(h, f.Server) }) ||
			!slices.ContainsFunc(s.Hosts, func(h string) bool { return strings.EqualFold(h, f.Workstation) }) {
			t.Errorf("seed %d: hosts %v, want %s and %s", seed, s.Hosts, f.Workstation, f.Server)
		}
		if !slices.Contains(s.Users, f.User) {
			t.Errorf("seed %d: users %v lack %s", seed, s.Users, f.User)
		}
		if s.RootCause.ID == "" {
			t.Errorf("seed %d: no root cause", seed)
		}
		for _, it := range s.Items {
			if it.Kind == investigate.ItemProcess {
				// A process the attack used may have started benignly
				// (Outlook); an attack event must still name it.
				if it.Role != investigate.RoleCause && !slices.ContainsFunc(it.EventIDs, func(id string) bool { return attack[id] }) {
					t.Errorf("seed %d: process %q %v has no attack event", seed, it.Name, it.EventIDs)
				}
				continue
			}
			for _, id := range it.EventIDs {
				if !attack[id] {
					t.Errorf("seed %d: %s %s %q is proved by benign event %s", seed, it.Kind, it.Action, it.Name, id)
				}
			}
			if len(it.EventIDs) == 0 && it.Kind != investigate.ItemProcess {
				t.Errorf("seed %d: %s %q has no event proving it", seed, it.Kind, it.Name)
			}
		}
		if t.Failed() {
			var sb strings.Builder
			b.g.WriteText(&sb, "scope", s)
			t.Logf("seed %d scope:\n%s", seed, sb.String())
			return
		}
	}
}

func shortName(h string) string {
	if i := strings.IndexByte(h, '.'); i > 0 {
		return h[:i]
	}
	return h
}

// TestCausalChainScenario: the alerts of one attack share a causal chain,
// and a benign process on the same host shares none with them.
func TestCausalChainScenario(t *testing.T) {
	ctx := context.Background()
	sc, b := scenarioGraph(t, 1)
	f := sc.Facts
	ps := "process:" + strings.ToLower(strings.Trim(f.PowerShellGUID, "{}"))
	linked := 0
	for i := range b.alerts {
		chain, err := b.g.CausalChain(ctx, &b.alerts[i])
		if err != nil {
			t.Fatal(err)
		}
		for _, id := range chain {
			if k := strings.SplitN(id, ":", 2)[0]; k == "host" || k == "user" || k == "sid" {
				t.Errorf("alert %s: chain holds shared context %s", b.alerts[i].ID, id)
			}
			if n, _ := b.g.Entity(id); n.Kind == mdr.EntityProcess && isHub(n.Name) {
				t.Errorf("alert %s: chain holds hub %s", b.alerts[i].ID, n.Name)
			}
		}
		if slices.Contains(chain, ps) {
			linked++
		}
	}
	if linked < 3 {
		t.Errorf("only %d alerts have the attack's PowerShell on their chain", linked)
	}
	// A benign browser process has its own chain, disjoint from the attack.
	chrome := ""
	for _, e := range b.g.EdgesBetween(time.Time{}, time.Time{}) {
		if e.Kind == mdr.RelSpawned && strings.HasSuffix(strings.ToLower(b.g.Label(e.To)), "chrome.exe ("+pidOf(b.g, e.To)+")") {
			chrome = e.To
		}
	}
	if chrome == "" {
		t.Fatal("no chrome.exe in the scenario")
	}
	chain, err := b.g.CausalChain(ctx, &mdr.Alert{ID: "benign", Entities: []mdr.Entity{{Kind: mdr.EntityProcess, ID: chrome}}})
	if err != nil {
		t.Fatal(err)
	}
	if slices.Contains(chain, ps) || len(chain) != 1 {
		t.Errorf("benign chrome chain %v", chain)
	}
}

func pidOf(g *investigate.Graph, id string) string {
	e, _ := g.Entity(id)
	return e.Attrs["pid"]
}

func isHub(image string) bool {
	b := strings.ToLower(image[strings.LastIndexAny(image, `\/`)+1:])
	return slices.Contains(investigate.DefaultHubs, b)
}

// linker is the interface package triage defines to group alerts along
// causal chains; *investigate.Graph must satisfy it exactly.
type linker interface {
	CausalChain(ctx context.Context, a *mdr.Alert) ([]string, error)
}

var _ linker = (*investigate.Graph)(nil)
