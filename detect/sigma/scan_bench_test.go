package sigma

import (
	"context"
	"errors"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/mdrkit/mdr"
	"github.com/mdrkit/mdr/detect"
	"github.com/mdrkit/mdr/reader"
)

// windowsRuleDirs are the Windows rule directories of the corpus.
var windowsRuleDirs = []string{"rules/windows", "rules-threat-hunting/windows", "rules-placeholder/windows", "rules-emerging-threats"}

// benchEvents reads every every-th event of benchmark.jsonl.gz, n at most.
func benchEvents(b *testing.B, n, every int) []*mdr.Event {
	r, err := reader.Open(filepath.Join(dataDir(b), "events", "benchmark.jsonl.gz"), reader.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer r.Close()
	out := make([]*mdr.Event, 0, n)
	for i := 0; len(out) < n && r.Next(); i++ {
		if i%every == 0 {
			out = append(out, r.Event())
		}
	}
	if err := r.Err(); err != nil {
		b.Fatal(err)
	}
	return out
}

func windowsRuleset(b *testing.B, p *Pipeline) *detect.Ruleset {
	c, err := New(WithPipeline(p))
	if err != nil {
		b.Fatal(err)
	}
	var paths []string
	for _, d := range windowsRuleDirs {
		paths = append(paths, filepath.Join(dataDir(b), "sigma", d))
	}
	rules, err := c.CompileFiles(paths...)
	var le *LoadError
	if err != nil && !errors.As(err, &le) {
		b.Fatal(err)
	}
	rs, err := detect.Compile(rules, detect.WithPipeline(p.Routing()))
	if err != nil {
		b.Fatal(err)
	}
	return rs
}

// BenchmarkMatchWindowsCorpus matches real events of benchmark.jsonl.gz
// (decoded beforehand: every 20th of the file's 1.07 M, a sample of all its
// sources) against the Windows part of the corpus compiled with the
// built-in pipeline; ns/op is per event.
func BenchmarkMatchWindowsCorpus(b *testing.B) {
	events := benchEvents(b, 60_000, 20)
	rs := windowsRuleset(b, WindowsPipeline())
	ctx := context.Background()
	var dst []detect.Match
	b.ReportAllocs()
	b.ResetTimer()
	i := 0
	for b.Loop() {
		var err error
		dst, err = rs.AppendMatches(ctx, dst[:0], events[i%len(events)])
		if err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// BenchmarkScanEndToEnd reads benchmark.jsonl.gz (gzip, decoding included)
// and matches every event against the Windows part of the corpus, as mdr
// scan does on one core; ns/op is per event.
func BenchmarkScanEndToEnd(b *testing.B) {
	rs := windowsRuleset(b, WindowsPipeline())
	path := filepath.Join(dataDir(b), "events", "benchmark.jsonl.gz")
	ctx := context.Background()
	var dst []detect.Match
	r, err := reader.Open(path, reader.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer func() { r.Close() }()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if !r.Next() {
			if err := r.Err(); err != nil {
				b.Fatal(err)
			}
			r.Close()
			if r, err = reader.Open(path, reader.Options{}); err != nil {
				b.Fatal(err)
			}
			continue
		}
		if dst, err = rs.AppendMatches(ctx, dst[:0], r.Event()); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRulesetGC measures what the compiled Windows ruleset costs the
// garbage collector: ns/op is one full collection with the ruleset (and
// nothing else of note) live. A scan pays it once per GC cycle, so fewer
// and smaller heap objects in the ruleset mean less GC work per event.
func BenchmarkRulesetGC(b *testing.B) {
	rs := windowsRuleset(b, WindowsPipeline())
	var ms runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms)
	b.ResetTimer()
	for b.Loop() {
		runtime.GC()
	}
	b.StopTimer()
	runtime.KeepAlive(rs)
	b.ReportMetric(float64(ms.HeapAlloc)/(1<<20), "live-MB")
	b.ReportMetric(float64(ms.HeapObjects), "live-objects")
}
