package loop

import (
	_ "embed"

	"github.com/mdrkit/mdr/engine"
)

// NativeRulesYAML holds the loop's native detection rules: CEL
// conditions for behaviours the fleet's scenarios show (no host, user,
// hash or domain of a scenario appears in them).
//
//go:embed rules.yaml
var NativeRulesYAML []byte

// NativeRules returns the native rules as a rule source for engine.Load
// (engine.WithRules) or engine.LoadSources.
func NativeRules() engine.Source {
	return engine.Source{Name: "loop/rules.yaml", Data: NativeRulesYAML}
}
