package detect_test

import (
	"strings"
	"testing"

	"cel.dev/cel-go/cel"

	"github.com/mdrkit/mdr/detect"
	"github.com/mdrkit/mdr/detect/sigma"
)

// optSkipConditions are hand-written conditions on both sides of the skip:
// the optimizer changes the first group and leaves the second alone.
var optSkipConditions = []string{
	`e.process.parent.executable.endsWithFold("\\a.exe")`,
	`has(e.Image)`,
	`e.Image.containsFold(base64offset("http"))`,
	`e.Image == "a" && true`,
	`[1, 2].exists(x, x == 1)`,
	`"a" in ["a", "b"]`,
	`e.A.numEq(1 + 2)`,
	`{"k": "v"}.k == e.X`,
	`e.Image.endsWithFold("\\a.exe") && !e.CommandLine.containsFold(["x", "y"])`,
	`e["Some Field"].equalsCase("v") || e.EventID.numEq(4688)`,
	`"Image" in e && e.Image.regex("(?i)a.*b")`,
	`e.X.timePart("hour").numGte(22)`,
}

// TestStaticOptimizeSkipExact: whenever the skip keeps a condition from the
// static optimizer, the optimizer would have returned the same expression.
// It checks every distinct condition the Sigma compiler makes of the whole
// corpus plus hand-written ones, and that the skip is not vacuous.
func TestStaticOptimizeSkipExact(t *testing.T) {
	env, err := detect.NewRuleEnv()
	if err != nil {
		t.Fatal(err)
	}
	conds := append([]string(nil), optSkipConditions...)
	seen := map[string]bool{}
	for _, p := range []*sigma.Pipeline{sigma.WindowsPipeline(), sigma.CommonSchemaPipeline(), nil} {
		for _, r := range corpusRules(t, p) {
			if c := strings.TrimSpace(r.Condition); c != "" && !seen[c] {
				seen[c] = true
				conds = append(conds, c)
			}
		}
	}
	skipped, optimized := 0, 0
	for _, cond := range conds {
		checked, iss := env.Compile(cond)
		if iss != nil && iss.Err() != nil {
			t.Fatalf("%q: %v", cond, iss.Err())
		}
		out, skippable, err := detect.OptimizeForTest(env, checked)
		if err != nil {
			t.Fatalf("%q: %v", cond, err)
		}
		before, _ := cel.AstToString(checked)
		after, _ := cel.AstToString(out)
		if !skippable {
			optimized++
			continue
		}
		skipped++
		if before != after || !checked.OutputType().IsExactType(out.OutputType()) {
			t.Errorf("skipped, but the optimizer changes it:\n  %s\n→ %s", before, after)
		}
	}
	for i, c := range optSkipConditions[:8] {
		checked, _ := env.Compile(c)
		if _, skippable, _ := detect.OptimizeForTest(env, checked); skippable {
			t.Errorf("condition %d %q needs the optimizer but would be skipped", i, c)
		}
	}
	if skipped < len(conds)/2 {
		t.Errorf("only %d of %d conditions skip the optimizer", skipped, len(conds))
	}
	t.Logf("%d conditions skip the static optimizer, %d go through it", skipped, optimized)
}

// TestStaticOptimizeSkipSameMatches compiles the Windows corpus with and
// without the skip: same statistics, rejections and explained matches.
func TestStaticOptimizeSkipSameMatches(t *testing.T) {
	sameMatchesWithSwitch(t, detect.SetStaticOptSkip, "optimized", "skipped")
}
