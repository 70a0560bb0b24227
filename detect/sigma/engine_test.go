package sigma

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/mdrkit/mdr"
	"github.com/mdrkit/mdr/detect"
	"github.com/mdrkit/mdr/reader"
)

// compileCorpus compiles the SigmaHQ corpus with the built-in Windows
// pipeline through detect.Compile.
func compileCorpus(t testing.TB) (*detect.Ruleset, []detect.Rule) {
	t.Helper()
	p := WindowsPipeline()
	c, err := New(WithPipeline(p))
	if err != nil {
		t.Fatal(err)
	}
	rules, err := c.CompileFiles(corpusPaths(t)...)
	var le *LoadError
	if err != nil && !errors.As(err, &le) {
		t.Fatal(err)
	}
	rs, err := detect.Compile(rules, detect.WithPipeline(p.Routing()))
	if err != nil {
		if rs == nil {
			t.Fatal(err)
		}
		for _, r := range detect.Rejections(err) {
			t.Errorf("detect rejected a compiled Sigma rule: %v", r)
		}
	}
	return rs, rules
}

func readEvents(t testing.TB, path string) []*mdr.Event {
	t.Helper()
	r, err := reader.Open(path, reader.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var out []*mdr.Event
	for r.Next() {
		out = append(out, r.Event())
	}
	if err := r.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestCorpusThroughDetect checks that detect accepts every rule the Sigma
// compiler produced, and reports the routing statistics.
func TestCorpusThroughDetect(t *testing.T) {
	rs, rules := compileCorpus(t)
	if rs.Len() != len(rules) {
		t.Errorf("detect accepted %d of %d rules", rs.Len(), len(rules))
	}
	st := rs.Stats()
	t.Logf("detect: %+v", st)
	// The built-in pipeline routes every logsource of the corpus but the
	// one rule that names only product: windows.
	if st.Unrouted > 1 {
		t.Errorf("%d rules unrouted, want at most 1", st.Unrouted)
	}
}

type groundTruth struct {
	RuleID       string `json:"rule_id"`
	RuleTitle    string `json:"rule_title"`
	RulePath     string `json:"rule_path"`
	MatchCount   *int   `json:"match_count"`
	EventIndices []int  `json:"event_indices"`
}

func loadGroundTruth(t testing.TB) []groundTruth {
	f, err := os.Open(filepath.Join(dataDir(t), "events", "ground_truth.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []groundTruth
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var g groundTruth
		if err := json.Unmarshal(sc.Bytes(), &g); err != nil {
			t.Fatal(err)
		}
		out = append(out, g)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestRegressionCases runs SigmaHQ's 202 regression cases: each rule must
// match at least match_count (default 1) of its events, with the whole
// corpus loaded and the built-in Windows pipeline routing.
func TestRegressionCases(t *testing.T) {
	rs, _ := compileCorpus(t)
	events := readEvents(t, filepath.Join(dataDir(t), "events", "sigma_regression.jsonl"))
	cases := loadGroundTruth(t)
	if len(cases) != 202 {
		t.Fatalf("%d regression cases, want 202", len(cases))
	}
	ctx := context.Background()
	hits := make([]map[string]bool, len(events))
	for i, ev := range events {
		ms, err := rs.Match(ctx, ev)
		if err != nil {
			t.Fatalf("event %d: %v", i, err)
		}
		hits[i] = map[string]bool{}
		for _, m := range ms {
			hits[i][m.Rule.ID] = true
		}
	}
	passed := 0
	for _, c := range cases {
		want := 1
		if c.MatchCount != nil {
			want = *c.MatchCount
		}
		got := 0
		for _, i := range c.EventIndices {
			if i < 0 || i >= len(events) {
				t.Fatalf("case %s: event index %d out of range", c.RuleID, i)
			}
			if hits[i][c.RuleID] {
				got++
			}
		}
		if got < want {
			r, _ := rs.Rule(c.RuleID)
			t.Errorf("%s (%s): matched %d of events %v, want >= %d\n\tcondition: %s", c.RulePath, c.RuleTitle, got, c.EventIndices, want, r.Condition)
			continue
		}
		passed++
	}
	t.Logf("regression cases passed: %d of %d", passed, len(cases))
}

// TestBenignBaseline lists every rule that fires over the benign baseline
// and which of them SigmaHQ lists in known-FPs.csv.
func TestBenignBaseline(t *testing.T) {
	rs, _ := compileCorpus(t)
	events := readEvents(t, filepath.Join(dataDir(t), "events", "benign_baseline.jsonl"))
	known := map[string]bool{}
	data, err := os.ReadFile(filepath.Join(dataDir(t), "sigma", "known-FPs.csv"))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(data), "\n")[1:] {
		if id, _, ok := strings.Cut(line, ";"); ok {
			known[id] = true
		}
	}
	ctx := context.Background()
	fired := map[string]int{}
	for i, ev := range events {
		ms, err := rs.Match(ctx, ev)
		if err != nil {
			t.Fatalf("event %d: %v", i, err)
		}
		for _, m := range ms {
			fired[m.Rule.ID]++
		}
	}
	ids := make([]string, 0, len(fired))
	for id := range fired {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return fired[ids[i]] > fired[ids[j]] })
	inKnown := 0
	for _, id := range ids {
		r, _ := rs.Rule(id)
		mark := ""
		if known[id] {
			mark = " [known FP]"
			inKnown++
		}
		t.Logf("fires %5d× %s %s (%s)%s", fired[id], id, r.Title, r.Severity, mark)
	}
	t.Logf("benign baseline: %d events, %d rules fire, %d of them in known-FPs.csv", len(events), len(ids), inKnown)
	if len(events) != 18387 {
		t.Errorf("%d baseline events, want 18387", len(events))
	}
}

// BenchmarkCorpusCompile loads and compiles the whole corpus: Sigma → CEL
// → detect.Ruleset.
func BenchmarkCorpusCompile(b *testing.B) {
	paths := corpusPaths(b)
	p := WindowsPipeline()
	b.ReportAllocs()
	for b.Loop() {
		c, err := New(WithPipeline(p))
		if err != nil {
			b.Fatal(err)
		}
		rules, _ := c.CompileFiles(paths...)
		if _, err := detect.Compile(rules, detect.WithPipeline(p.Routing())); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSigmaCompile measures the Sigma → CEL step alone over the
// corpus (files read once beforehand).
func BenchmarkSigmaCompile(b *testing.B) {
	var srcs []Source
	for _, root := range corpusPaths(b) {
		filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
			if err == nil && !d.IsDir() && strings.HasSuffix(path, ".yml") {
				data, _ := os.ReadFile(path)
				srcs = append(srcs, Source{Name: path, Data: data})
			}
			return nil
		})
	}
	c, _ := New(WithPipeline(WindowsPipeline()))
	b.ReportAllocs()
	for b.Loop() {
		c.Compile(srcs...)
	}
}

// TestCorpusCommonSchema compiles the corpus with the ECS/OCSF field names
// too: detect must accept every rule.
func TestCorpusCommonSchema(t *testing.T) {
	p := CommonSchemaPipeline()
	c, err := New(WithPipeline(p))
	if err != nil {
		t.Fatal(err)
	}
	rules, _ := c.CompileFiles(corpusPaths(t)...)
	rs, err := detect.Compile(rules, detect.WithPipeline(p.Routing()))
	if err != nil {
		for _, r := range detect.Rejections(err) {
			t.Errorf("detect rejected: %v", r)
		}
	}
	if rs == nil || rs.Len() != len(rules) {
		t.Fatalf("detect accepted %v of %d rules", rs, len(rules))
	}
	t.Logf("common-schema pipeline: %d rules, %+v", rs.Len(), rs.Stats())
}
