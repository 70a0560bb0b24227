package sigma

import (
	"testing"

	"github.com/mdrkit/mdr/detect"
)

// FuzzCompile feeds arbitrary YAML to the compiler: it must never panic,
// every rule it returns must carry a condition or a correlation, and detect
// must accept every stateless rule it returns (the generated CEL is always
// well-formed, whatever the field names and values).
func FuzzCompile(f *testing.F) {
	f.Add([]byte(correlationSrc))
	f.Add([]byte("title: t\nlogsource: {product: x}\ndetection:\n    s:\n        A|contains|all: [a, b]\n        B|re|i: 'x.*'\n    k: [evil]\n    condition: s or 1 of k*\n"))
	f.Add([]byte("action: global\ntitle: g\n---\nlogsource: {}\ndetection: {s: {A: null}, condition: not s}\n"))
	f.Add([]byte("title: f\nfilter: {rules: [x], s: {A: 1}, condition: s}\n"))
	c, err := New(WithPipeline(CommonSchemaPipeline()))
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		rules, _ := c.Compile(Source{Name: "fuzz.yml", Data: data})
		for _, r := range rules {
			if r.Condition == "" && r.Correlation == nil {
				t.Fatalf("rule %q without condition or correlation", r.ID)
			}
		}
		var stateless []detect.Rule
		for _, r := range rules {
			if r.Correlation == nil {
				stateless = append(stateless, r)
			}
		}
		if _, err := detect.Compile(stateless); err != nil {
			t.Fatalf("detect rejected generated CEL: %v", err)
		}
	})
}

// FuzzCondition feeds arbitrary condition strings to the parser.
func FuzzCondition(f *testing.F) {
	for _, s := range []string{"a and not (b or 1 of c*)", "all of them", "2 of x* or (y)", "not not a", "((a)"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		parseCondition(s)
	})
}

// FuzzParsePipeline feeds arbitrary YAML to the pipeline parser: it must
// never panic, and an accepted pipeline must be accepted by detect.
func FuzzParsePipeline(f *testing.F) {
	f.Add([]byte(userPipeline))
	f.Add([]byte("name: x\nlogsources:\n  - logsource: {product: p}\n    conditions: [{a: [1, 2]}]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := ParsePipeline("fuzz.yml", data)
		if err != nil {
			return
		}
		if _, err := detect.Compile(nil, detect.WithPipeline(p.Routing())); err != nil {
			t.Fatalf("detect rejected a parsed pipeline: %v", err)
		}
	})
}
