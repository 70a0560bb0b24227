package triage

import (
	"fmt"
	"math"
	"path"
	"strings"
	"sync"

	"github.com/mdrkit/mdr"
)

// AlertScorer adds the parts of one scoring signal to an alert's score.
// sofar is the total of the parts already added (the scorers run in
// order); the scorer appends its parts to dst and returns it. A scorer that
// has nothing to say appends nothing.
//
// The queue calls its scorers under its own lock, one alert at a time, so
// an AlertScorer needs no locking of its own unless the host shares it
// between queues.
type AlertScorer interface {
	ScoreAlert(a *Alert, sofar float64, dst []Part) []Part
}

// IncidentScorer adds parts to an incident's score after the built-in
// parts (risk and tactics). It is called under the queue's lock.
type IncidentScorer interface {
	ScoreIncident(in *mdr.Incident, sofar float64, dst []Part) []Part
}

// RuleInfo is what the queue may know of a rule beyond its alert.
type RuleInfo struct {
	// Status is the rule's maturity as Sigma names it: stable, test,
	// experimental, deprecated, unsupported ("" when unknown).
	Status string
	// KnownFalsePositive says the rule is known to fire on benign activity
	// (for example it is listed in SigmaHQ's known-FPs.csv).
	KnownFalsePositive bool
	// NoKnownFalsePositives says the rule's authors know of no benign
	// activity that triggers it (Sigma falsepositives: only "Unknown").
	NoKnownFalsePositives bool
	// BuildingBlock says the rule is a hunting or building-block rule whose
	// alerts inform rather than alarm (Sigma's detection.threat-hunting).
	BuildingBlock bool
}

// RuleCatalog tells the queue what it knows about rules. Implementations
// must be safe for concurrent reads.
type RuleCatalog interface {
	RuleInfo(ruleID string) (RuleInfo, bool)
}

// RuleBase is the first part of every alert score: the rule's severity
// (Weights.Levels), scaled by its status (Weights.Status), the alert's own
// confidence, and the no-known-FP, known-false-positive and building-block
// factors. It remembers the parts of up to 100,000 rules and is safe for
// concurrent use.
type RuleBase struct {
	Weights Weights
	Catalog RuleCatalog // may be nil

	mu    sync.Mutex
	cache map[ruleLevel][]Part
}

type ruleLevel struct {
	rule  string
	level mdr.Severity
}

const maxRuleCache = 100_000

// ScoreAlert implements AlertScorer.
func (r *RuleBase) ScoreAlert(a *Alert, sofar float64, dst []Part) []Part {
	if a.Confidence > 0 {
		return r.parts(a, dst)
	}
	k := ruleLevel{a.RuleID, a.Severity}
	r.mu.Lock()
	ps, ok := r.cache[k]
	r.mu.Unlock()
	if !ok {
		ps = r.parts(a, nil)
		r.mu.Lock()
		if r.cache == nil {
			r.cache = map[ruleLevel][]Part{}
		}
		if len(r.cache) < maxRuleCache {
			r.cache[k] = ps
		}
		r.mu.Unlock()
	}
	return append(dst, ps...)
}

func (r *RuleBase) parts(a *Alert, dst []Part) []Part {
	w := &r.Weights
	lv := a.Severity.String()
	base, ok := w.Levels[lv]
	if !ok {
		base = w.Levels["low"]
	}
	dst = append(dst, Part{Name: "rule", Value: base, Detail: "level " + lv})
	s := base
	var info RuleInfo
	if r.Catalog != nil {
		info, _ = r.Catalog.RuleInfo(a.RuleID)
	}
	if info.Status != "" {
		if f, ok := w.Status[info.Status]; ok && f != 1 {
			p := factorPart("rule_status", s, f, "status "+info.Status)
			dst, s = append(dst, p), s+p.Value
		}
	}
	if a.Confidence > 0 {
		f := 0.5 + a.Confidence
		p := factorPart("confidence", s, f, fmt.Sprintf("rule confidence %.2f", a.Confidence))
		dst, s = append(dst, p), s+p.Value
	}
	if info.NoKnownFalsePositives && !info.KnownFalsePositive && w.NoKnownFP != 1 {
		p := factorPart("no_known_fp", s, w.NoKnownFP, "the rule names no benign cause")
		dst, s = append(dst, p), s+p.Value
	}
	if info.KnownFalsePositive && w.KnownFP != 1 {
		p := factorPart("known_fp", s, w.KnownFP, "rule is known to fire on benign activity")
		dst, s = append(dst, p), s+p.Value
	}
	if (info.BuildingBlock || isBuildingBlock(a.Tags)) && w.BuildingBlock != 1 {
		p := factorPart("building_block", s, w.BuildingBlock, "hunting or building-block rule")
		dst = append(dst, p)
	}
	return dst
}

func isBuildingBlock(tags []string) bool {
	for _, t := range tags {
		if strings.EqualFold(t, "detection.threat-hunting") {
			return true
		}
	}
	return false
}

// CriticalityRule gives entities a criticality level: entities named in
// Names (exact, case-insensitive), matching one of Patterns (path.Match
// globs, case-insensitive) or carrying one of Tags (in the entity's "tags"
// attribute, comma-separated). Kind limits it to one entity kind ("host",
// "user", …; empty for any).
type CriticalityRule struct {
	Kind     string   `yaml:"kind" json:"kind,omitempty"`
	Names    []string `yaml:"names" json:"names,omitempty"`
	Patterns []string `yaml:"patterns" json:"patterns,omitempty"`
	Tags     []string `yaml:"tags" json:"tags,omitempty"`
	// Level is low, normal, high or critical (multipliers 0.5, 1, 1.5, 2).
	Level string `yaml:"level" json:"level"`
}

var criticalityMultiplier = map[string]float64{"low": 0.5, "normal": 1, "high": 1.5, "critical": 2}

func (c *CriticalityRule) validate() error {
	if _, ok := criticalityMultiplier[c.Level]; !ok {
		return fmt.Errorf("level %q: want low, normal, high or critical", c.Level)
	}
	if c.Kind != "" {
		if _, err := mdr.ParseEntityKind(c.Kind); err != nil {
			return err
		}
	}
	for _, p := range c.Patterns {
		if _, err := path.Match(strings.ToLower(p), ""); err != nil {
			return fmt.Errorf("pattern %q: %v", p, err)
		}
	}
	if len(c.Names)+len(c.Patterns)+len(c.Tags) == 0 {
		return fmt.Errorf("a criticality rule needs names, patterns or tags")
	}
	return nil
}

func (c *CriticalityRule) matches(kind mdr.EntityKind, name, tags string) bool {
	if c.Kind != "" && !strings.EqualFold(c.Kind, kind.String()) {
		return false
	}
	ln := strings.ToLower(name)
	for _, n := range c.Names {
		if strings.EqualFold(n, name) {
			return true
		}
	}
	for _, p := range c.Patterns {
		if ok, _ := path.Match(strings.ToLower(p), ln); ok {
			return true
		}
	}
	if tags != "" {
		for _, t := range c.Tags {
			for tg := range strings.SplitSeq(tags, ",") {
				if strings.EqualFold(strings.TrimSpace(tg), t) {
					return true
				}
			}
		}
	}
	return false
}

// Criticality scores the asset and user criticality of an alert as a
// Bayesian odds update: with p = sofar/100, the odds p/(1−p) are multiplied
// by the highest multiplier among the alert's host and entities (low 0.5,
// normal 1, high 1.5, critical 2) and turned back into a probability; the
// part is the difference, times 100.
type Criticality struct {
	Rules []CriticalityRule
}

// ScoreAlert implements AlertScorer.
func (c *Criticality) ScoreAlert(a *Alert, sofar float64, dst []Part) []Part {
	if len(c.Rules) == 0 {
		return dst
	}
	best, which := 0.0, ""
	check := func(kind mdr.EntityKind, name, tags string) {
		for i := range c.Rules {
			r := &c.Rules[i]
			if m := criticalityMultiplier[r.Level]; r.matches(kind, name, tags) && (best == 0 || math.Abs(m-1) > math.Abs(best-1)) {
				best, which = m, kind.String()+" "+name+" is "+r.Level
			}
		}
	}
	if a.Host != "" {
		check(mdr.EntityHost, a.Host, "")
	}
	for i := range a.Entities {
		e := &a.Entities[i]
		if e.Kind == mdr.EntityHost || e.Kind == mdr.EntityUser || e.Kind == mdr.EntityAccount {
			check(e.Kind, e.Name, e.Attrs["tags"])
		}
	}
	if best == 0 || best == 1 {
		return dst
	}
	p := math.Min(math.Max(sofar/100, 0.001), 0.999)
	odds := p / (1 - p) * best
	np := odds / (1 + odds)
	return append(dst, Part{Name: "criticality", Value: round2(100 * (np - p)), Detail: fmt.Sprintf("odds ×%.1f: %s", best, which)})
}
