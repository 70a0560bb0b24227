package main

import (
	"context"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/mdrkit/mdr"
	"github.com/mdrkit/mdr/internal/scenario"
	"github.com/mdrkit/mdr/investigate"
)

// detectSummary prints the header lines of the detect and store steps.
func (p *printer) detectSummary() {
	x, st := &p.d.det, &p.d.st
	w := p.w
	fmt.Fprintf(w, "detect: %d native rules and %d correlations (embedded %s)", x.native, x.nativeCorr, demoRulesName)
	if x.sigmaDir != "" {
		fmt.Fprintf(w, "; Sigma: %d rules loaded from %d files in %s, %d rejected, %d fired", x.sigmaRules, x.sigmaFiles, x.sigmaDir, x.sigmaReject, len(x.sigmaFired))
	}
	fmt.Fprintln(w)
	if x.sigmaNote != "" {
		fmt.Fprintf(w, "        %s\n", x.sigmaNote)
	}
	base, hidden := 0, 0
	for _, h := range x.hits {
		if h.m.Hidden {
			hidden++
		} else {
			base++
		}
	}
	fmt.Fprintf(w, "        %d rule matches (%d hidden), %d correlation matches\n", base+hidden, hidden, len(x.correlations))
	where := "a temporary badger store"
	if !st.temp {
		where = "badger store " + st.dir
	}
	fmt.Fprintf(w, "store: %s: %d events (%d duplicates), %d alerts", where, st.events.Added, st.events.Duplicates, st.alertsPut)
	if st.alertsOld > 0 {
		fmt.Fprintf(w, " (%d already stored)", st.alertsOld)
	}
	fmt.Fprintf(w, ", %d relations, correlation state saved; %d alerts read back\n", st.edges, len(st.alerts))
}

// detections prints the alerts read back from the store, most severe first,
// then which attack steps the native rules detected.
func (p *printer) detections() {
	p.section("Detections")
	as := p.d.st.alerts
	if len(as) == 0 {
		fmt.Fprintln(p.w, "  no alerts")
		return
	}
	bySev := map[mdr.Severity]int{}
	for _, a := range as {
		bySev[a.Severity]++
	}
	var counts []string
	for s := mdr.SeverityCritical; s > mdr.SeverityUnknown; s-- {
		if n := bySev[s]; n > 0 {
			counts = append(counts, fmt.Sprintf("%d %s", n, s))
		}
	}
	fmt.Fprintf(p.w, "  %d alerts: %s\n", len(as), strings.Join(counts, ", "))
	for _, a := range as {
		p.alert(a)
	}
	p.coverage()
}

// alert prints one alert: severity, rule, techniques, host, time, and why.
func (p *printer) alert(a mdr.Alert) {
	kind, _, _ := strings.Cut(a.ID, ":")
	fmt.Fprintf(p.w, "\n  %-8s %s  [%s %s]\n", strings.ToUpper(a.Severity.String()), a.RuleTitle, kind, a.RuleID)
	var meta []string
	if ts := mdr.TechniquesOf(a.Tags); len(ts) > 0 {
		meta = append(meta, strings.Join(ts, " "))
	}
	if a.Host != "" {
		meta = append(meta, shortHost(a.Host))
	}
	const ind = "           "
	if kind == "correlation" {
		meta = append(meta, "group "+a.Fields["group"])
		fmt.Fprintf(p.w, "%s%s\n", ind, strings.Join(meta, " · "))
		fmt.Fprintf(p.w, "%s%s\n", ind, a.Explanation)
		fmt.Fprintf(p.w, "%sbase events:\n", ind)
		for _, id := range a.EventIDs {
			fmt.Fprintf(p.w, "%s  %s\n", ind, p.baseEvent(id))
		}
		return
	}
	meta = append(meta, a.Time.UTC().Format("15:04:05.000"))
	if len(a.EventIDs) == 1 {
		meta = append(meta, "event "+a.EventIDs[0])
	}
	fmt.Fprintf(p.w, "%s%s\n", ind, strings.Join(meta, " · "))
	for i, l := range strings.Split(a.Explanation, "\n") {
		lead := "why: "
		if i > 0 {
			lead = "     "
		}
		fmt.Fprintf(p.w, "%s%s%s\n", ind, lead, l)
	}
}

// baseEvent describes one base event of a correlation: its time, host,
// what it is and the rules it matched.
func (p *printer) baseEvent(id string) string {
	idx, ok := p.eventIndex[id]
	if !ok {
		return id + " (not read back)"
	}
	ev := p.d.events[idx]
	var rules []string
	for _, h := range p.d.det.hits {
		if h.index == idx && !h.sigma {
			rules = append(rules, h.m.Rule.ID)
		}
	}
	return fmt.Sprintf("%s %s %s  %s  ← %s", ev.Time().UTC().Format("15:04:05.000"), shortHost(hostOfEvent(ev)), id, briefEvent(ev), strings.Join(rules, ", "))
}

// briefEvent says in a few words what an event is.
func briefEvent(ev interface {
	Text(string) (string, bool)
}) string {
	ch, _ := ev.Text("Channel")
	switch {
	case strings.HasPrefix(ch, "Microsoft-Windows-Sysmon"):
		ch = "Sysmon"
	case strings.HasPrefix(ch, "Microsoft-Windows-PowerShell"):
		ch = "PowerShell"
	}
	id, _ := ev.Text("EventID")
	s := ch + " " + id
	for _, f := range []string{"Image", "SourceImage", "ProcessName", "TargetUserName", "ServiceName"} {
		if v, ok := ev.Text(f); ok && v != "" && v != "-" {
			s += " " + baseName(v)
			break
		}
	}
	for _, f := range []string{"TargetImage", "ShareName", "TargetServerName"} {
		if v, ok := ev.Text(f); ok && v != "" {
			s += " → " + baseName(v)
			break
		}
	}
	return s
}

// coverage prints, from the generator's ground truth, which native rules
// detected each attack step and how many benign events they alerted on.
func (p *printer) coverage() {
	sc := p.d.sc
	rulesOf := map[scenario.Step][]string{}
	benign := map[string]bool{}
	for _, h := range p.d.det.hits {
		if h.sigma {
			continue
		}
		st := sc.StepOf(h.index)
		if st == scenario.NoStep {
			benign[h.m.Rule.ID] = true
			continue
		}
		if !contains(rulesOf[st], h.m.Rule.ID) {
			rulesOf[st] = append(rulesOf[st], h.m.Rule.ID)
		}
	}
	fmt.Fprintf(p.w, "\n  attack steps (ground truth of the generator) and the native rules that detected them:\n")
	for _, st := range scenario.Steps {
		rs := rulesOf[st]
		sort.Strings(rs)
		mark := "detected  "
		if len(rs) == 0 {
			mark = "MISSED    "
		}
		fmt.Fprintf(p.w, "    %-18s %s%s\n", st, mark, strings.Join(rs, ", "))
	}
	if len(benign) == 0 {
		fmt.Fprintf(p.w, "  native rules on the %d benign events: no match\n", sc.Facts.NoiseEvents)
	} else {
		fmt.Fprintf(p.w, "  native rules on the %d benign events: %s matched (false positives)\n", sc.Facts.NoiseEvents, strings.Join(sortedKeys(benign), ", "))
	}
}

// trees prints each host's process trees, as investigate.Graph.ProcessTree
// builds them.
func (p *printer) trees() {
	p.section("Process trees")
	for _, h := range p.ofKind(mdr.EntityHost) {
		roots, err := p.d.graph.ProcessTree(context.Background(), h.ID, time.Time{}, time.Time{})
		if err != nil || len(roots) == 0 {
			continue
		}
		fmt.Fprintf(p.w, "  %s\n", h.Name)
		for i, r := range roots {
			p.tree(r, "  ", i == len(roots)-1)
		}
	}
}

var encRe = regexp.MustCompile(`(?i)\s-(?:e|ec|enc|encodedcommand)\s+([A-Za-z0-9+/=]{16,})`)

func (p *printer) tree(n *investigate.TreeNode, indent string, last bool) {
	branch, next := "├─ ", "│  "
	if last {
		branch, next = "└─ ", "   "
	}
	line := n.Label
	cl := n.Process.Attrs["command_line"]
	if cl != "" {
		line += "  " + clip(cl, 110)
	}
	if n.User != "" {
		line += "  [" + n.User + "]"
	}
	fmt.Fprintf(p.w, "%s%s%s\n", indent, branch, line)
	if m := encRe.FindStringSubmatch(cl); m != nil {
		if dec, err := scenario.DecodePowerShell(m[1]); err == nil {
			fmt.Fprintf(p.w, "%s%s   decoded -enc: %s\n", indent, next, clip(dec, 160))
		}
	}
	for i, c := range n.Children {
		p.tree(c, indent+next, i == len(n.Children)-1)
	}
}

// timeline prints the graph's edges in event time as sentences (see
// investigate.Graph.TimelineOf), repeated lines once.
func (p *printer) timeline() {
	p.section("Timeline (UTC)")
	g := p.d.graph
	last := ""
	for _, t := range g.TimelineOf(g.EdgesBetween(time.Time{}, time.Time{})) {
		line := t.Time.UTC().Format("15:04:05.000") + "  " + t.Text
		if line == last {
			continue
		}
		last = line
		fmt.Fprintf(p.w, "  %s\n", clip(line, 200))
	}
}
