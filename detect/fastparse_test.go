package detect_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"cel.dev/cel-go/cel"
	"google.golang.org/protobuf/proto"

	"github.com/mdrkit/mdr"
	"github.com/mdrkit/mdr/detect"
	"github.com/mdrkit/mdr/detect/sigma"
	"github.com/mdrkit/mdr/reader"
)

var corpusFolders = []string{"rules", "rules-compliance", "rules-emerging-threats", "rules-placeholder", "rules-threat-hunting"}

// corpusRules compiles every folder of the Sigma corpus with pipeline p
// (nil: none) into detect rules.
func corpusRules(t testing.TB, p *sigma.Pipeline) []detect.Rule {
	t.Helper()
	d := dataDir(t)
	var paths []string
	for _, c := range corpusFolders {
		paths = append(paths, filepath.Join(d, "sigma", c))
	}
	var opts []sigma.Option
	if p != nil {
		opts = append(opts, sigma.WithPipeline(p))
	}
	c, err := sigma.New(opts...)
	if err != nil {
		t.Fatal(err)
	}
	rules, err := c.CompileFiles(paths...)
	var le *sigma.LoadError
	if err != nil && !errors.As(err, &le) {
		t.Fatal(err)
	}
	if len(rules) < 3000 {
		t.Fatalf("only %d rules from the corpus", len(rules))
	}
	return rules
}

// sameChecked reports how the checked ASTs a (fast path) and b (env.Compile)
// differ, "" when they are identical: expression ids and structure, types,
// references, source positions and ranges, rendering and output type.
func sameChecked(a, b *cel.Ast) string {
	pa, err := cel.AstToCheckedExpr(a)
	if err != nil {
		return "fast: " + err.Error()
	}
	pb, err := cel.AstToCheckedExpr(b)
	if err != nil {
		return "parser: " + err.Error()
	}
	if !proto.Equal(pa, pb) {
		return "checked expressions differ"
	}
	// Source ranges: the same expressions with the same start offsets. The
	// stop offsets may differ, and nothing reads them (cel-go only exposes
	// them through SourceInfo.GetStopLocation): the ANTLR parser adds a
	// token's length in bytes to its start in code points, the Pratt
	// parser counts code points, and the ANTLR parser's range of a negative
	// literal covers its digits too.
	ia, ib := a.NativeRep().SourceInfo(), b.NativeRep().SourceInfo()
	ra, rb := ia.OffsetRanges(), ib.OffsetRanges()
	if len(ra) != len(rb) {
		return fmt.Sprintf("%d / %d source ranges", len(ra), len(rb))
	}
	for id, r := range ra {
		if q, ok := rb[id]; !ok || q.Start != r.Start {
			return fmt.Sprintf("source range of expression %d: %v / %v", id, r, q)
		}
	}
	if !slices.Equal(ia.LineOffsets(), ib.LineOffsets()) {
		return "line offsets differ"
	}
	if len(ia.MacroCalls()) != len(ib.MacroCalls()) {
		return "macro calls differ"
	}
	if a.Source().Content() != b.Source().Content() || a.Source().Description() != b.Source().Description() {
		return "sources differ"
	}
	sa, erra := cel.AstToString(a)
	sb, errb := cel.AstToString(b)
	if sa != sb || (erra == nil) != (errb == nil) {
		return fmt.Sprintf("renderings differ: %q / %q", sa, sb)
	}
	if !a.OutputType().IsExactType(b.OutputType()) {
		return fmt.Sprintf("output types differ: %s / %s", a.OutputType(), b.OutputType())
	}
	return ""
}

// TestFastParseCorpus checks that the fast parse path takes every condition
// the Sigma compiler produces from the whole corpus (Windows and common
// schema field names, and none) and yields exactly the checked AST that
// env.Compile (ANTLR parser) yields.
func TestFastParseCorpus(t *testing.T) {
	env, err := detect.NewRuleEnv()
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, p := range []*sigma.Pipeline{sigma.WindowsPipeline(), sigma.CommonSchemaPipeline(), nil} {
		for _, r := range corpusRules(t, p) {
			cond := strings.TrimSpace(r.Condition)
			if cond == "" || seen[cond] {
				continue
			}
			seen[cond] = true
			slow, iss := env.Compile(cond)
			if iss != nil && iss.Err() != nil {
				t.Errorf("%s: the parser rejects the condition: %v", r.ID, iss.Err())
				continue
			}
			fast := detect.FastCompile(env, cond)
			if fast == nil {
				t.Errorf("%s: the fast path does not take the condition", r.ID)
				continue
			}
			if d := sameChecked(fast, slow); d != "" {
				t.Errorf("%s: %s", r.ID, d)
			}
		}
	}
	if len(seen) < 5000 {
		t.Errorf("only %d distinct conditions", len(seen))
	}
	t.Logf("%d distinct conditions compared", len(seen))
}

// matchDump compiles rules and renders every match (rule, hidden flag,
// explanation) of every event of the given files, plus the ruleset's
// statistics and rejections.
func matchDump(t *testing.T, rules []detect.Rule, opts []detect.Option, files ...string) (string, int) {
	t.Helper()
	rs, err := detect.Compile(rules, opts...)
	if rs == nil {
		t.Fatal(err)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "stats %+v\nerror %v\n", rs.Stats(), err)
	n := 0
	for _, f := range files {
		r, err := reader.Open(f, reader.Options{})
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; r.Next(); i++ {
			ms, err := rs.Match(context.Background(), r.Event())
			if err != nil {
				t.Fatalf("%s event %d: %v", f, i, err)
			}
			for _, m := range ms {
				x, _ := json.Marshal(m.Explanation)
				fmt.Fprintf(&b, "%s:%d %s hidden=%v %s\n", filepath.Base(f), i, m.Rule.ID, m.Hidden, x)
				n++
			}
		}
		if err := r.Err(); err != nil {
			t.Fatal(err)
		}
		r.Close()
	}
	return b.String(), n
}

// TestFastParseSameMatches compiles the corpus with and without the fast
// parse path and requires the same statistics, rejections and matches
// (with explanations) on the regression events.
func TestFastParseSameMatches(t *testing.T) {
	sameMatchesWithSwitch(t, detect.SetFastParse, "parser", "fast")
}

// sameMatchesWithSwitch compiles the Windows corpus with a compile-time
// switch off and then on (set returns the previous setting, which is
// restored) and requires the same statistics, rejections and explained
// matches on the regression and Linux events.
func sameMatchesWithSwitch(t *testing.T, set func(bool) bool, offName, onName string) {
	t.Helper()
	p := sigma.WindowsPipeline()
	rules := corpusRules(t, p)
	opts := []detect.Option{detect.WithPipeline(p.Routing())}
	files := []string{
		filepath.Join(dataDir(t), "events", "sigma_regression.jsonl"),
		filepath.Join(dataDir(t), "events", "linux.jsonl"),
	}
	defer set(set(false))
	off, n := matchDump(t, rules, opts, files...)
	set(true)
	on, _ := matchDump(t, rules, opts, files...)
	if n < 200 {
		t.Errorf("only %d matches: the comparison says little", n)
	}
	if on != off {
		a, b := strings.Split(off, "\n"), strings.Split(on, "\n")
		for i := 0; i < len(a) && i < len(b); i++ {
			if a[i] != b[i] {
				t.Fatalf("first difference at line %d:\n%s: %s\n%s: %s", i+1, offName, a[i], onName, b[i])
			}
		}
		t.Fatalf("outputs differ in length: %d / %d lines", len(a), len(b))
	}
	t.Logf("%d matches, identical", n)
}

// badConditions are conditions the parser, the checker or the analyzer
// rejects; the fast path must leave their messages to env.Compile.
var badConditions = []string{
	`e.Image.endsWithFold(`,
	`e.Image.endsWithFold("a"`,
	`e.Image == "a" &&`,
	`e.Image == 'unterminated`,
	`e.Image.endsWithFold("\q")`,
	`e..Image`,
	`e.Image.noSuchFunction("a")`,
	`x.Image == "a"`,
	`e.Image.regex("(")`,
	`"just a string"`,
	`e.Image == 1 + "a"`,
	`has(e)`,
	`e.Image.timePart("fortnight").numEq(1)`,
	`e["Image"`,
	`e.Image == "a" e.B`,
	`[1, 2`,
	`e.Image.startsWithFold("a") || `,
	`e.Image.equalsFold("a", "b")`,
}

// TestFastParseErrorsUnchanged compiles rules with bad conditions with and
// without the fast path: the rejections must read the same.
func TestFastParseErrorsUnchanged(t *testing.T) {
	var rules []detect.Rule
	for i, c := range badConditions {
		rules = append(rules, detect.Rule{ID: fmt.Sprintf("bad-%d", i), Title: "bad", Source: mdr.Origin{Source: "bad.yml", Line: int64(i + 1)}, Condition: c})
	}
	rules = append(rules, detect.Rule{ID: "good", Title: "good", Source: mdr.Origin{Source: "good.yml", Line: 1}, Condition: `e.Image.endsWithFold("\\a.exe")`})
	defer detect.SetFastParse(detect.SetFastParse(false))
	_, errSlow := detect.Compile(rules)
	detect.SetFastParse(true)
	_, errFast := detect.Compile(rules)
	rs, rf := detect.Rejections(errSlow), detect.Rejections(errFast)
	if len(rs) != len(badConditions) {
		t.Fatalf("%d rejections, want %d: %v", len(rs), len(badConditions), errSlow)
	}
	if len(rf) != len(rs) {
		t.Fatalf("fast path: %d rejections, parser: %d", len(rf), len(rs))
	}
	for i := range rs {
		if rs[i].Error() != rf[i].Error() {
			t.Errorf("rejection %d differs:\nparser: %v\nfast:   %v", i, rs[i], rf[i])
		}
	}
	env, err := detect.NewRuleEnv()
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range badConditions {
		if _, iss := env.Compile(c); iss != nil && iss.Err() != nil && detect.FastCompile(env, c) != nil {
			t.Errorf("%q: the fast path accepts what env.Compile rejects", c)
		}
	}
}

// TestFastParseDepth nests conditions ever deeper around and past the
// parsers' recursion limits: whatever the fast path accepts, env.Compile
// accepts with the same checked AST.
func TestFastParseDepth(t *testing.T) {
	env, err := detect.NewRuleEnv()
	if err != nil {
		t.Fatal(err)
	}
	shapes := []func(n int) string{
		func(n int) string { return strings.Repeat("(", n) + `e.a == "x"` + strings.Repeat(")", n) },
		func(n int) string { return strings.Repeat("!", n) + `e.a.equalsFold("x")` },
		func(n int) string { return strings.Repeat("!(", n) + `e.a.equalsFold("x")` + strings.Repeat(")", n) },
		func(n int) string { return `e.a == ` + strings.Repeat("[", n) + `"x"` + strings.Repeat("]", n) },
		func(n int) string { return `e` + strings.Repeat(".a", n) + `.equalsFold("x")` },
		func(n int) string { return strings.Repeat(`base64(`, n) + `"x"` + strings.Repeat(")", n) + ` == e.a` },
		func(n int) string { return strings.Repeat(`e.a == "x" && (`, n) + `true` + strings.Repeat(")", n) },
		func(n int) string { return strings.TrimSuffix(strings.Repeat(`e.a == "x" || `, n), " || ") },
	}
	fastOnly := 0
	for k, shape := range shapes {
		for _, n := range []int{1, 10, 30, 50, 63, 64, 65, 100, 120, 124, 125, 126, 127, 128, 200, 240, 248, 249, 250, 251, 252, 255, 260, 300, 500, 1000} {
			cond := shape(n)
			fast := detect.FastCompile(env, cond)
			if fast == nil {
				continue
			}
			fastOnly++
			slow, iss := env.Compile(cond)
			if iss != nil && iss.Err() != nil {
				t.Errorf("shape %d, depth %d: the fast path accepts what env.Compile rejects: %v", k, n, oneLine(iss.Err().Error()))
				continue
			}
			if d := sameChecked(fast, slow); d != "" {
				t.Errorf("shape %d, depth %d: %s", k, n, d)
			}
		}
	}
	if fastOnly == 0 {
		t.Error("the fast path took none of the nested conditions")
	}
}

func oneLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

// FuzzFastParse is the differential fuzz target: whenever the fast path
// accepts a condition, env.Compile must accept it too and yield the
// identical checked AST.
func FuzzFastParse(f *testing.F) {
	for _, s := range []string{
		`e.Image.endsWithFold(["\\a.exe", "\\b.exe"]) && e.CommandLine.containsFold("-x")`,
		`e["Name-With.Odd chars"].equalsCase("x") || !has(e.Image)`,
		`has(e.process.parent.executable) && e.process.parent.executable.startsWithFold("C:\\")`,
		`e.CommandLine.containsCase(base64offset(utf16le("http")))`,
		`e.CommandLine.containsFold(windash(" -enc "))`,
		`e.EventID.numEq(4688) && e.Port.numGte(1024u) && e.Ratio.numLt(0.5)`,
		`e.Time.timePart("hour").numEq(3)`,
		`"Image" in e && e.Image == "a" && e.Image != 'b'`,
		`e.keywordFold("*mimikatz*") || e.keywordRegex("(?i)sekurlsa")`,
		`e.x.isNull() && (e.y.regex("^a+$") || e.z.inCIDR("10.0.0.0/8"))`,
		`e.a == "\x41\u00e9\U0001F600\101\n\t\"\\"`,
		`e.a == r"raw\n" && e.b == b"bytes" && e.c == '''tri'''`,
		`e.l.exists(x, x == "a") && [1, 2, 3].all(y, y > 0)`,
		`e.a == 0x1F && e.b == -3 && e.c == 1e3 && e.d == .5`,
		`e.a.b.c.d["e"]["f"].g == null && true`,
		"e.Image.endsWithFold(\"a\")\n&& e.B == \"c\"",
		`e.a ? e.b : e.c`,
		`e.if == "a" && e.Image.equalsFold("é\xff")`,
		`e.a.equalsFold(-3) || e.b.numEq(-1.5e-3)`,
		`"Image" in.e && e.A0000000!=B"0" && e.A00000!=B'0'`,
	} {
		f.Add(s)
	}
	env, err := detect.NewRuleEnv()
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, cond string) {
		// A parse that does not end is a failure the fuzzer reports with
		// its input.
		tm := time.AfterFunc(10*time.Second, func() { panic(fmt.Sprintf("the fast path takes over 10 s on %q", cond)) })
		fast := detect.FastCompile(env, cond)
		tm.Stop()
		if fast == nil {
			return
		}
		tm = time.AfterFunc(10*time.Second, func() { panic(fmt.Sprintf("env.Compile takes over 10 s on %q", cond)) })
		slow, iss := env.Compile(cond)
		tm.Stop()
		if iss != nil && iss.Err() != nil {
			t.Fatalf("%q: the fast path accepts what env.Compile rejects: %v", cond, iss.Err())
		}
		if d := sameChecked(fast, slow); d != "" {
			t.Fatalf("%q: %s", cond, d)
		}
	})
}

// BenchmarkConditionParse parses and type-checks every distinct condition
// of the corpus (Windows field names): through the fast path, and through
// env.Compile (ANTLR parser) as before.
func BenchmarkConditionParse(b *testing.B) {
	env, err := detect.NewRuleEnv()
	if err != nil {
		b.Fatal(err)
	}
	var conds []string
	seen := map[string]bool{}
	for _, r := range corpusRules(b, sigma.WindowsPipeline()) {
		if c := strings.TrimSpace(r.Condition); c != "" && !seen[c] {
			seen[c] = true
			conds = append(conds, c)
		}
	}
	b.Run("fast", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			for _, c := range conds {
				if detect.FastCompile(env, c) == nil {
					b.Fatalf("not taken: %s", c)
				}
			}
		}
	})
	b.Run("antlr", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			for _, c := range conds {
				if _, iss := env.Compile(c); iss != nil && iss.Err() != nil {
					b.Fatal(iss.Err())
				}
			}
		}
	})
}
