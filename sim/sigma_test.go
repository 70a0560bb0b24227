package sim_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/mdrkit/mdr"
	"github.com/mdrkit/mdr/detect"
	"github.com/mdrkit/mdr/detect/sigma"
	"github.com/mdrkit/mdr/internal/shareddata"
	"github.com/mdrkit/mdr/reader"
	"github.com/mdrkit/mdr/sim"
)

var (
	sigmaOnce sync.Once
	sigmaRS   *detect.Ruleset
	sigmaErr  error
)

// sigmaRuleset compiles the SigmaHQ Windows rules once, as cmd/mdr does:
// the built-in Windows pipeline, routed by logsource; rules the engine
// rejects are left out (they are counted by detect's own tests).
func sigmaRuleset(t testing.TB) *detect.Ruleset {
	dir := shareddata.Path(t, "sigma", "rules", "windows")
	sigmaOnce.Do(func() {
		var srcs []sigma.Source
		sigmaErr = filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
			if err != nil || d.IsDir() || !strings.HasSuffix(path, ".yml") {
				return err
			}
			data, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			srcs = append(srcs, sigma.Source{Name: path, Data: data})
			return nil
		})
		if sigmaErr != nil {
			return
		}
		c, err := sigma.New(sigma.WithPipeline(sigma.WindowsPipeline()))
		if err != nil {
			sigmaErr = err
			return
		}
		rules, err := c.Compile(srcs...)
		var le *sigma.LoadError
		if err != nil && !errors.As(err, &le) {
			sigmaErr = err
			return
		}
		rs, err := detect.Compile(rules, detect.WithPipeline(sigma.WindowsPipeline().Routing()))
		if err != nil && (rs == nil || detect.Rejections(err) == nil) {
			sigmaErr = err
			return
		}
		sigmaRS = rs
	})
	if sigmaErr != nil {
		t.Fatal(sigmaErr)
	}
	return sigmaRS
}

// firing maps each label to the Sigma rules (id → title) that matched its
// events.
type firing map[string]map[string]string

func fire(t *testing.T, r *sim.Run) firing {
	t.Helper()
	rs := sigmaRuleset(t)
	rd, err := reader.New(strings.NewReader(string(ndjson(t, r))), r.Scenario.Name, reader.Options{})
	if err != nil {
		t.Fatal(err)
	}
	out := firing{}
	var buf []detect.Match
	i := 0
	for ev, err := range rd.All() {
		if err != nil {
			t.Fatal(err)
		}
		label := r.Events[i].Label
		i++
		buf, err = rs.AppendMatches(context.Background(), buf[:0], ev)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range buf {
			if out[label] == nil {
				out[label] = map[string]string{}
			}
			out[label][m.Rule.ID] = m.Rule.Title
			if m.Rule.Severity >= mdr.SeverityHigh && label == sim.Benign {
				t.Errorf("%s: the %s rule %s (%s) fires on benign event %s", r.Scenario.Name, m.Rule.Severity, m.Rule.ID, m.Rule.Title, ev.ID())
			}
		}
	}
	return out
}

// TestSigmaFires runs the SigmaHQ Windows rules over every scenario's
// telemetry, for several seeds, and checks that the rules the scenario
// names for each attack step fire on that step's events, and that no rule
// of high or critical level fires on the benign activity (go test -v lists
// every rule that fires, per step and on the benign activity).
func TestSigmaFires(t *testing.T) {
	for _, name := range sim.Scenarios() {
		t.Run(name, func(t *testing.T) {
			for _, seed := range []int64{1, 2, 3, 4} {
				r := generate(t, name, seed)
				got := fire(t, r)
				for _, ph := range r.Scenario.Phases {
					var ids []string
					for id, title := range got[ph] {
						ids = append(ids, id+" "+title)
					}
					sort.Strings(ids)
					if testing.Verbose() && seed == 1 {
						t.Logf("%s: %d rules\n  %s", ph, len(ids), strings.Join(ids, "\n  "))
					}
					if len(r.Scenario.Expect[ph]) == 0 {
						t.Errorf("the scenario names no rule expected on attack step %s", ph)
					}
					if len(ids) == 0 {
						t.Errorf("seed %d: no Sigma rule fires on attack step %s", seed, ph)
					}
					for _, id := range r.Scenario.Expect[ph] {
						if _, ok := got[ph][id]; !ok {
							t.Errorf("seed %d: rule %s does not fire on attack step %s", seed, id, ph)
						}
					}
				}
				var ids []string
				for id, title := range got[sim.Benign] {
					ids = append(ids, id+" "+title)
				}
				sort.Strings(ids)
				if testing.Verbose() && seed == 1 {
					t.Logf("benign: %d rules\n  %s", len(ids), strings.Join(ids, "\n  "))
				}
			}
		})
	}
}
