package main

import (
	"context"
	"io"
	"testing"

	"github.com/mdrkit/mdr"
	"github.com/mdrkit/mdr/detect"
	"github.com/mdrkit/mdr/internal/shareddata"
	"github.com/mdrkit/mdr/reader"
)

// BenchmarkSigmaCorpusMatch measures matching alone (ns/op per event, no
// decoding) with the SigmaHQ Windows rules and the built-in pipeline, over
// 20,000 real events (every 10th of the first 200,000 of
// benchmark.jsonl.gz), with and without the prefilter.
func BenchmarkSigmaCorpusMatch(b *testing.B) {
	rules, _, err := loadRules(context.Background(), []string{shareddata.Path(b, "sigma", "rules", "windows")}, io.Discard)
	if err != nil {
		b.Fatal(err)
	}
	r, err := reader.Open(shareddata.Path(b, "events", "benchmark.jsonl.gz"), reader.Options{})
	if err != nil {
		b.Fatal(err)
	}
	var events []*mdr.Event
	for i := 0; r.Next() && i < 200_000; i++ {
		if i%10 == 0 {
			events = append(events, r.Event())
		}
	}
	r.Close()
	for _, pre := range []bool{true, false} {
		rs, err := detect.Compile(rules, append(compileOptions(), detect.WithPrefilter(pre))...)
		if rs == nil {
			b.Fatal(err)
		}
		name := "prefilter"
		if !pre {
			name = "no-prefilter"
		}
		b.Run(name, func(b *testing.B) {
			ctx := context.Background()
			var ms []detect.Match
			b.ReportAllocs()
			i, n := 0, 0
			c0 := processCPU()
			for b.Loop() {
				ms, _ = rs.AppendMatches(ctx, ms[:0], events[i%len(events)])
				n += len(ms)
				i++
			}
			b.ReportMetric(float64(processCPU()-c0)/float64(i), "cpu-ns/op")
			b.ReportMetric(float64(n)/float64(i), "matches/event")
		})
	}
}
