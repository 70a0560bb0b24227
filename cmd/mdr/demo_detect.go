package main

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/mdrkit/mdr"
	"github.com/mdrkit/mdr/detect"
	"github.com/mdrkit/mdr/detect/sigma"
	"github.com/mdrkit/mdr/loop"
	"github.com/mdrkit/mdr/schema"
)

// demoRulesYAML holds the native rules of the demo: CEL conditions for the
// techniques of the generated scenario, and correlations over them.
//

var demoRulesYAML = loop.NativeRulesYAML

// demoRulesName names the embedded rule file in errors and explanations.
const demoRulesName = "demo_rules.yaml"

// defaultSigmaDir is where `mdr demo` looks for the SigmaHQ Windows rules
// when --sigma is not given: the team's shared data beside the checkout.
const defaultSigmaDir = "../shared/data/sigma/rules/windows"

// hit is one stateless rule that matched one event of the demo.
type hit struct {
	index int // position of the event in the generated file
	m     detect.Match
	sigma bool
}

// detection is what the detect step found.
type detection struct {
	native       int // native stateless rules compiled
	nativeCorr   int // native correlation rules compiled
	sigmaDir     string
	sigmaNote    string // why Sigma rules were not run, when they were not
	sigmaFiles   int
	sigmaRules   int // Sigma rules compiled (correlations included)
	sigmaReject  int
	sigmaFired   map[string]int // Sigma rule id → matches
	compileTime  time.Duration
	hits         []hit
	correlations []detect.CorrelationMatch
	corrStats    detect.CorrelatorStats
	stats        detect.Stats
	sigmaIDs     map[string]bool
}

// nativeRules parses the embedded rule file.
func nativeRules() ([]detect.Rule, error) {
	rules, err := detect.ParseRules(demoRulesYAML, demoRulesName)
	if err != nil {
		return nil, fmt.Errorf("demo: embedded rules: %w", err)
	}
	return rules, nil
}

// sigmaRules compiles the Sigma rules under dir with the built-in Windows
// pipeline. It returns the rules, the number of files and of rejected
// rules.
func sigmaRules(dir string) ([]detect.Rule, int, int, error) {
	var srcs []sigma.Source
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() || !isRuleFile(d.Name()) {
			return nil
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		srcs = append(srcs, sigma.Source{Name: path, Data: data})
		return nil
	})
	if err != nil {
		return nil, 0, 0, fmt.Errorf("demo: sigma rules: %w", err)
	}
	if len(srcs) == 0 {
		return nil, 0, 0, fmt.Errorf("demo: sigma rules: no .yml or .yaml file under %s", dir)
	}
	c, err := sigma.New(sigma.WithPipeline(sigma.WindowsPipeline()))
	if err != nil {
		return nil, 0, 0, fmt.Errorf("demo: %w", err)
	}
	rules, err := c.Compile(srcs...)
	rejected := 0
	if err != nil {
		var le *sigma.LoadError
		if !errors.As(err, &le) {
			return nil, 0, 0, fmt.Errorf("demo: sigma rules: %w", err)
		}
		rejected = len(le.Problems)
	}
	return rules, len(srcs), rejected, nil
}

// detect compiles the native rules (and the Sigma rules when a directory is
// given), runs them over the events in file order, and feeds the matches to
// a correlator.
func (d *demo) detect(ctx context.Context) error {
	x := &d.det
	t0 := time.Now()
	rules, err := nativeRules()
	if err != nil {
		return err
	}
	for _, r := range rules {
		if r.Correlation != nil {
			x.nativeCorr++
		} else {
			x.native++
		}
	}
	x.sigmaDir = d.sigmaDir
	x.sigmaIDs = map[string]bool{}
	x.sigmaFired = map[string]int{}
	if d.sigmaDir == "" {
		x.sigmaNote = "Sigma rules off (--sigma '')"
		if d.sigmaDefaultMissing {
			x.sigmaNote = "Sigma rules not run: " + defaultSigmaDir + " not found (give --sigma DIR)"
		}
	} else {
		srules, files, rejected, err := sigmaRules(d.sigmaDir)
		if err != nil {
			return err
		}
		x.sigmaFiles, x.sigmaRules, x.sigmaReject = files, len(srules), rejected
		for _, r := range srules {
			x.sigmaIDs[r.ID] = true
		}
		rules = append(rules, srules...)
	}
	// One ruleset for both kinds, routed by the built-in Windows logsource
	// mappings (they need no shared data).
	rs, err := detect.Compile(rules, detect.WithPipeline(sigma.WindowsPipeline().Routing()))
	if err != nil {
		rj := detect.Rejections(err)
		if rj == nil || rs == nil {
			return fmt.Errorf("demo: compiling rules: %w", err)
		}
		for _, r := range rj {
			if r.File == demoRulesName {
				return fmt.Errorf("demo: embedded rule rejected: %s:%d: rule %s: %s", r.File, r.Line, r.RuleID, r.Reason)
			}
			x.sigmaReject++
			x.sigmaRules--
		}
	}
	x.compileTime = time.Since(t0)
	x.stats = rs.Stats()
	cor, err := detect.NewCorrelator(rs, detect.DefaultCorrelatorConfig())
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	d.correlator = cor
	var buf []detect.Match
	for i, ev := range d.events {
		buf, err = rs.AppendMatches(ctx, buf[:0], ev)
		if err != nil {
			return fmt.Errorf("demo: event %d: %w", i, err)
		}
		for _, m := range buf {
			isSigma := x.sigmaIDs[m.Rule.ID]
			x.hits = append(x.hits, hit{index: i, m: m, sigma: isSigma})
			if isSigma && !m.Hidden {
				x.sigmaFired[m.Rule.ID]++
			}
		}
		cms, err := cor.Observe(ctx, ev, buf)
		if err != nil {
			return fmt.Errorf("demo: correlating event %d: %w", i, err)
		}
		x.correlations = append(x.correlations, cms...)
	}
	cms, err := cor.Flush(ctx)
	if err != nil {
		return fmt.Errorf("demo: correlation flush: %w", err)
	}
	x.correlations = append(x.correlations, cms...)
	x.corrStats = cor.Stats()
	return nil
}

// hostOf returns the short host name of an event.
func hostOfEvent(ev *mdr.Event) string {
	if ev == nil {
		return ""
	}
	h, _ := ev.Text("Computer")
	return h
}

// alerts turns the matches and correlation matches into alerts: one per
// (rule, event) for stateless rules, one per correlation match. Hidden
// matches raise none.
func (d *demo) alerts() []mdr.Alert {
	x := &d.det
	var out []mdr.Alert
	for _, h := range x.hits {
		if h.m.Hidden {
			continue
		}
		r, ev := h.m.Rule, h.m.Event
		src := "native"
		if h.sigma {
			src = "sigma"
		}
		a := mdr.Alert{
			ID:          fmt.Sprintf("%s:%s:%s", src, r.ID, ev.ID()),
			RuleID:      r.ID,
			RuleTitle:   r.Title,
			Severity:    r.Severity,
			Tags:        r.Tags,
			Time:        ev.Time(),
			EventIDs:    []string{ev.ID()},
			Host:        hostOfEvent(ev),
			Entities:    entitiesOf(ev),
			Explanation: explainText(h.m.Explanation),
		}
		for _, f := range r.Fields {
			if v, ok := ev.Text(f); ok {
				if a.Fields == nil {
					a.Fields = map[string]string{}
				}
				a.Fields[f] = v
			}
		}
		out = append(out, a)
	}
	byID := map[string]*mdr.Event{}
	for _, ev := range d.events {
		byID[ev.ID()] = ev
	}
	for _, cm := range x.correlations {
		if cm.Hidden {
			continue
		}
		var grp []string
		for _, g := range cm.Group {
			grp = append(grp, g.Field+"="+g.Value)
		}
		a := mdr.Alert{
			ID:          fmt.Sprintf("correlation:%s:%s:%s", cm.Rule.ID, strings.Join(grp, ","), firstOf(cm.EventIDs)),
			RuleID:      cm.Rule.ID,
			RuleTitle:   cm.Rule.Title,
			Severity:    cm.Rule.Severity,
			Tags:        cm.Rule.Tags,
			Time:        cm.End,
			EventIDs:    cm.EventIDs,
			Explanation: cm.Explain(),
			Fields:      map[string]string{"group": strings.Join(grp, ", "), "rules": strings.Join(cm.Rules, ", ")},
		}
		// The host is the group's Computer when grouped by host, else the
		// host of the last base event.
		for _, g := range cm.Group {
			if g.Field == "Computer" {
				a.Host = g.Value
			}
		}
		if a.Host == "" && len(cm.EventIDs) > 0 {
			a.Host = hostOfEvent(byID[cm.EventIDs[len(cm.EventIDs)-1]])
		}
		seen := map[string]bool{}
		for _, id := range cm.EventIDs {
			for _, e := range entitiesOf(byID[id]) {
				if !seen[e.ID] {
					seen[e.ID] = true
					a.Entities = append(a.Entities, e)
				}
			}
		}
		out = append(out, a)
	}
	return out
}

// firstOf returns the first id, or "" for none.
func firstOf(ids []string) string {
	if len(ids) == 0 {
		return ""
	}
	return ids[0]
}

// entitiesOf returns the entities an event names (host, user, processes,
// files, …) for an alert, through schema's stateless mapping. An event the
// mapper does not know yields none.
func entitiesOf(ev *mdr.Event) []mdr.Entity {
	if ev == nil {
		return nil
	}
	res, err := schema.Extract(ev)
	if err != nil {
		return nil
	}
	return res.Entities
}

// sortAlerts orders alerts by severity (highest first), then event time,
// then rule id.
func sortAlerts(as []mdr.Alert) {
	sort.SliceStable(as, func(i, j int) bool {
		if as[i].Severity != as[j].Severity {
			return as[i].Severity > as[j].Severity
		}
		if !as[i].Time.Equal(as[j].Time) {
			return as[i].Time.Before(as[j].Time)
		}
		return as[i].ID < as[j].ID
	})
}

// maxExplainedValue bounds a field value quoted in an alert's explanation.
const maxExplainedValue = 100

// explainText renders an explanation one condition a line, as
// detect.Condition.String does, with each value on one line (runs of
// white space folded) and long values shortened around what matched, so
// that a task's XML or a script block does not take a screen. When more
// than maxNegated conditions held by being false (a Sigma rule's filters),
// they are summed up in one line naming their fields.
func explainText(x detect.Explanation) string {
	var lines, negFields []string
	neg := 0
	for _, c := range x.Conditions {
		if c.Negated {
			neg++
		}
	}
	for _, c := range x.Conditions {
		if c.Negated && neg > maxNegated {
			if !slices.Contains(negFields, c.Field) {
				negFields = append(negFields, c.Field)
			}
			continue
		}
		c.Value = clipAround(c.Value, c.Operator, c.Argument, maxExplainedValue)
		c.Argument = clip(c.Argument, maxExplainedValue+20)
		lines = append(lines, c.String())
	}
	if neg > maxNegated {
		lines = append(lines, fmt.Sprintf("and none of %d exclusions held (on %s)", neg, strings.Join(negFields, ", ")))
	}
	return strings.Join(lines, "\n")
}

// maxNegated is how many negated conditions an explanation lists one by one.
const maxNegated = 3

// quotedRe finds the quoted strings of a rendered argument.
var quotedRe = regexp.MustCompile(`"(?:[^"\\]|\\.)*"`)

// clipAround shortens a long value so that the part the operator matched
// stays visible: the end for endsWith, the first literal found for
// contains and keyword searches, the start otherwise.
func clipAround(value, op, arg string, n int) string {
	value = strings.Join(strings.Fields(value), " ")
	if len(value) <= n {
		return value
	}
	lop := strings.ToLower(op)
	if strings.HasPrefix(lop, "endswith") {
		i := len(value) - n
		for i < len(value) && !utf8.RuneStart(value[i]) {
			i++
		}
		return "…" + value[i:]
	}
	if strings.HasPrefix(lop, "contains") || strings.HasPrefix(lop, "keyword") {
		low := strings.ToLower(value)
		for _, q := range quotedRe.FindAllString(arg, -1) {
			lit, err := strconv.Unquote(q)
			if err != nil {
				continue
			}
			lit = strings.ToLower(strings.Trim(lit, "*"))
			if lit == "" {
				continue
			}
			at := strings.Index(low, lit)
			if at < 0 || at+len(lit) <= n {
				continue
			}
			start := at - (n-len(lit))/2
			start = max(0, min(start, len(value)-n))
			for start > 0 && !utf8.RuneStart(value[start]) {
				start--
			}
			end := min(len(value), start+n)
			for end < len(value) && !utf8.RuneStart(value[end]) {
				end++
			}
			s := value[start:end]
			if start > 0 {
				s = "…" + s
			}
			if end < len(value) {
				s += "…"
			}
			return s
		}
	}
	return clip(value, n)
}
