package investigate_test

import (
	"context"
	"path/filepath"
	"sync"
	"testing"

	"github.com/mdrkit/mdr"
	"github.com/mdrkit/mdr/engine"
	"github.com/mdrkit/mdr/internal/shareddata"
	"github.com/mdrkit/mdr/investigate"
	"github.com/mdrkit/mdr/reader"
)

var (
	corpusOnce  sync.Once
	corpusRules *engine.Rules
	corpusErr   error
)

// sigmaCorpus compiles the SigmaHQ rules (rules/ and
// rules-emerging-threats/) once per test binary.
func sigmaCorpus(tb testing.TB) *engine.Rules {
	tb.Helper()
	dir := shareddata.Dir(tb)
	corpusOnce.Do(func() {
		corpusRules, corpusErr = engine.Load(context.Background(), []string{
			filepath.Join(dir, "sigma", "rules"), filepath.Join(dir, "sigma", "rules-emerging-threats")})
	})
	if corpusErr != nil {
		tb.Fatal(corpusErr)
	}
	return corpusRules
}

// built is a graph built from event files with the alerts the SigmaHQ
// corpus raised on them.
type built struct {
	g      *investigate.Graph
	alerts []mdr.Alert
	events int64
}

// build reads files in order into a new graph and runs rules over them
// (rules may be nil). limit > 0 stops after that many events.
func build(tb testing.TB, rules *engine.Rules, limit int64, files ...string) built {
	tb.Helper()
	return buildCfg(tb, investigate.DefaultConfig(), rules, limit, files...)
}

// buildCfg is build with a graph configuration.
func buildCfg(tb testing.TB, cfg investigate.Config, rules *engine.Rules, limit int64, files ...string) built {
	tb.Helper()
	g, err := investigate.New(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	b := built{g: g}
	ctx := context.Background()
	var det *engine.Detector
	if rules != nil {
		det, err = engine.NewDetector(rules, engine.DefaultConfig())
		if err != nil {
			tb.Fatal(err)
		}
	}
	for _, f := range files {
		r, err := reader.Open(f, reader.Options{OnError: reader.Skip})
		if err != nil {
			tb.Fatal(err)
		}
		for ev, err := range r.All() {
			if err != nil {
				tb.Fatal(err)
			}
			if limit > 0 && b.events >= limit {
				break
			}
			b.events++
			if err := g.Add(ev); err != nil {
				tb.Fatal(err)
			}
			if det != nil {
				as, err := det.Process(ctx, ev)
				if err != nil {
					tb.Fatal(err)
				}
				b.alerts = append(b.alerts, as...)
			}
		}
		r.Close()
	}
	if det != nil {
		as, err := det.Flush(ctx)
		if err != nil {
			tb.Fatal(err)
		}
		b.alerts = append(b.alerts, as...)
	}
	return b
}
