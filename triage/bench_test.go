package triage_test

import (
	"context"
	"fmt"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/mdrkit/mdr"
	"github.com/mdrkit/mdr/store"
	"github.com/mdrkit/mdr/triage"
)

// benchAlerts returns alerts over hosts hosts and rules rules, shaped like
// the engine's (host, user and process entities, ATT&CK tags).
func benchAlerts(n, hosts, rules int) []mdr.Alert {
	tags := [][]string{{"attack.execution", "attack.t1059.001"}, {"attack.persistence", "attack.t1547.001"},
		{"attack.credential-access", "attack.t1003.001"}, {"attack.discovery", "attack.t1087"}}
	out := make([]mdr.Alert, n)
	for i := range out {
		h := fmt.Sprintf("host-%05d", i%hosts)
		r := i % rules
		out[i] = mdr.Alert{ID: fmt.Sprintf("r%d:ev%d", r, i), RuleID: fmt.Sprintf("rule-%03d", r), RuleTitle: "Rule",
			Severity: mdr.Severity(1 + r%5), Tags: tags[r%len(tags)], Time: t0.Add(time.Duration(i) * 50 * time.Millisecond),
			EventIDs: []string{fmt.Sprint("ev", i)}, Host: h,
			Entities: []mdr.Entity{{Kind: mdr.EntityHost, ID: "host:" + h, Name: h},
				{Kind: mdr.EntityUser, ID: "user:corp\\u" + fmt.Sprint(i%hosts), Name: "corp\\u" + fmt.Sprint(i%hosts)},
				{Kind: mdr.EntityProcess, ID: fmt.Sprint("proc:", i), Name: `C:\Windows\System32\cmd.exe`}}}
	}
	return out
}

// BenchmarkPush pushes alerts into a queue holding 10,000 open incidents
// (one per host). new: every alert is a new rule×host pattern (the full
// scoring and grouping path; with 200,000 alerts in memory the least
// recently active incidents are evicted, as in steady state). dedup: the
// same patterns recur within the dedup window. The alerts are assembled in
// the loop from per-host and per-rule parts made beforehand, so the
// benchmark's own data adds little to the heap the collector scans.
func BenchmarkPush(b *testing.B) {
	for _, c := range []struct {
		name  string
		rules int
		dedup time.Duration
	}{{"new", 997, 0}, {"dedup", 16, time.Hour}} {
		b.Run(c.name, func(b *testing.B) {
			ctx := context.Background()
			cfg := triage.DefaultConfig()
			cfg.DedupWindow = c.dedup
			q, err := triage.Open(ctx, store.NewMemory(), cfg)
			if err != nil {
				b.Fatal(err)
			}
			const hosts = 10_000
			warm := benchAlerts(hosts, hosts, c.rules)
			for i := range warm {
				warm[i].ID = "warm:" + warm[i].ID
				if _, err := q.Push(ctx, warm[i], nil); err != nil {
					b.Fatal(err)
				}
			}
			if s := q.Stats(); s.OpenIncidents != hosts {
				b.Fatalf("%d open incidents", s.OpenIncidents)
			}
			tmpl := benchAlerts(hosts, hosts, 1) // host, user and process entities per host
			rules := make([]string, c.rules)
			for i := range rules {
				rules[i] = fmt.Sprintf("rule-%03d", i)
			}
			tags := benchAlerts(4, 1, 4)
			ids := make([]string, b.N)
			for i := range ids {
				ids[i] = "b" + strconv.Itoa(i)
			}
			b.ReportAllocs()
			b.ResetTimer()
			cpu0 := cpuTime()
			for i := 0; i < b.N; i++ {
				h := &tmpl[i%hosts]
				r := i % c.rules
				a := mdr.Alert{ID: ids[i], RuleID: rules[r], RuleTitle: "Rule", Severity: mdr.Severity(1 + r%5),
					Tags: tags[r%4].Tags, Time: t0.Add(time.Hour + time.Duration(i)*50*time.Millisecond),
					EventIDs: ids[i : i+1], Host: h.Host, Entities: h.Entities}
				if _, err := q.Push(ctx, a, nil); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			// CPU time per push: on a shared machine the wall clock
			// also counts other processes
			b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N), "cpu-ns/op")
			s := q.Stats()
			b.ReportMetric(float64(s.OpenIncidents), "open-incidents")
		})
	}
}

// cpuTime is the user and system CPU time of the process.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
