package triage

import (
	"encoding/json"
	"fmt"
	"hash/fnv"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mdrkit/mdr"
)

// Baseline is prior knowledge of how common alerts are, which a host may
// load (for example counted over a month of its own history): RuleHosts
// maps a rule id to the number of distinct hosts it fired on, Patterns maps
// a pattern key (see PatternKey) to how often it occurred. A Baseline is
// read-only once handed to a queue and safe for concurrent reads.
type Baseline struct {
	RuleHosts map[string]int `json:"rule_hosts,omitempty"`
	Patterns  map[string]int `json:"patterns,omitempty"`
}

// PatternKey is the pattern of an alert for rarity and feedback: rule id,
// host and process image, lower-cased, separated by "|".
func PatternKey(a *mdr.Alert) string {
	return strings.ToLower(a.RuleID + "|" + a.Host + "|" + imageOf(a))
}

func imageOf(a *mdr.Alert) string {
	for i := range a.Entities {
		if a.Entities[i].Kind == mdr.EntityProcess {
			if im := a.Entities[i].Attrs["image"]; im != "" {
				return im
			}
			return a.Entities[i].Name
		}
	}
	if im := a.Fields["Image"]; im != "" {
		return im
	}
	return ""
}

func hostHash(h string) uint64 {
	f := fnv.New64a()
	f.Write([]byte(strings.ToLower(h)))
	return f.Sum64()
}

// maxHostsPerRule bounds the hosts remembered per rule; a rule seen on
// more is simply that common.
const maxHostsPerRule = 64

// rarity is NoDoze's idea on alerts: how many other hosts raised the same
// rule before (prevalence) and how often the same pattern occurred, from
// what the queue has seen plus a Baseline. It is bounded by max rules and
// max patterns; what does not fit is counted in dropped.
type rarity struct {
	RuleHosts map[string][]uint64 `json:"rule_hosts"`
	Patterns  map[string]uint32   `json:"patterns"`
	Dropped   int64               `json:"dropped"`

	max      int
	k, kp    float64
	baseline *Baseline

	lastID, lastKey string // the pattern key of the alert being pushed
	scored          scoredAlert
}

func newRarity(max int, k, kp float64, b *Baseline) *rarity {
	return &rarity{RuleHosts: map[string][]uint64{}, Patterns: map[string]uint32{}, max: max, k: k, kp: kp, baseline: b}
}

// ScoreAlert implements AlertScorer: the running total is multiplied by
// 1/(1 + k·ln(1+h)) · 1/(1 + kp·ln(1+n)), where h is the number of other
// hosts the rule fired on and n the earlier occurrences of the pattern.
func (r *rarity) ScoreAlert(a *Alert, sofar float64, dst []Part) []Part {
	hh := hostHash(a.Host)
	hs, hsOK := r.RuleHosts[a.RuleID]
	h := 0
	for _, x := range hs {
		if x != hh {
			h++
		}
	}
	key := r.lastKey
	if a.ID != r.lastID {
		key = PatternKey(&a.Alert)
		r.lastID, r.lastKey = a.ID, key
	}
	c, cOK := r.Patterns[key]
	// observe, which follows for the same alert, reuses these lookups
	r.scored = scoredAlert{id: a.ID, hh: hh, hosts: hs, hostsOK: hsOK, n: c, nOK: cOK}
	n := int(c)
	if r.baseline != nil {
		h += r.baseline.RuleHosts[a.RuleID]
		n += r.baseline.Patterns[key]
	}
	f := 1 / (1 + r.k*math.Log1p(float64(h))) / (1 + r.kp*math.Log1p(float64(n)))
	if f < 0.999 {
		// factorPart's detail, built in one allocation
		b := make([]byte, 0, 96)
		b = append(b, "×"...)
		b = strconv.AppendFloat(b, f, 'f', 2, 64)
		b = append(b, ": rule seen on "...)
		b = strconv.AppendInt(b, int64(h), 10)
		b = append(b, " other hosts, pattern "...)
		b = strconv.AppendInt(b, int64(n), 10)
		b = append(b, " times before"...)
		dst = append(dst, Part{Name: "rarity", Value: round2(sofar * (f - 1)), Detail: string(b)})
	}
	return dst
}

// scoredAlert is what rarity.ScoreAlert looked up for the alert being
// pushed.
type scoredAlert struct {
	id           string
	hh           uint64
	hosts        []uint64
	hostsOK, nOK bool
	n            uint32
}

// observe records one occurrence of a's pattern.
func (r *rarity) observe(a *mdr.Alert) {
	var hh uint64
	var hs []uint64
	var ok bool
	var c uint32
	var cOK bool
	key := r.lastKey
	if a.ID != r.lastID {
		key = PatternKey(a)
	}
	if sc := &r.scored; sc.id != "" && sc.id == a.ID {
		hh, hs, ok, c, cOK = sc.hh, sc.hosts, sc.hostsOK, sc.n, sc.nOK
	} else {
		hh = hostHash(a.Host)
		hs, ok = r.RuleHosts[a.RuleID]
		c, cOK = r.Patterns[key]
	}
	r.scored = scoredAlert{}
	if !ok && len(r.RuleHosts) >= r.max {
		r.Dropped++
	} else if len(hs) < maxHostsPerRule && !containsU64(hs, hh) {
		r.RuleHosts[a.RuleID] = append(hs, hh)
	}
	if cOK {
		if c < math.MaxUint32 {
			r.Patterns[key] = c + 1
		}
	} else if len(r.Patterns) >= r.max {
		r.Dropped++
	} else {
		r.Patterns[key] = 1
	}
}

func containsU64(s []uint64, v uint64) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// Verdict is an analyst's judgement on an alert or an incident.
type Verdict struct {
	// Malicious is true for a true positive, false for benign.
	Malicious bool   `json:"malicious"`
	Reason    string `json:"reason"`
	Author    string `json:"author"`
	// Suppress, when set, also creates a suppression of the same pattern
	// (rule and host) that expires at this event time.
	Suppress *SuppressFor `json:"suppress,omitempty"`
}

// SuppressFor asks a verdict to create a suppression.
type SuppressFor struct {
	// Expires is the event time from which the suppression no longer
	// applies (zero: never).
	Expires string `json:"expires,omitempty"`
}

// Feedback is what analysts' verdicts taught: per rule and host, and per
// rule alone, how many benign and malicious verdicts were given. It scales
// the score of later alerts of the same pattern (see Factor). It is bounded
// (max keys; more are counted in Dropped) and safe for concurrent use, so
// one Feedback can serve several queues.
type Feedback struct {
	n       atomic.Int64 // keys held, read without the lock
	mu      sync.Mutex
	keys    map[string]*verdictCount
	max     int
	dropped int64
}

type verdictCount struct {
	Benign    int `json:"benign"`
	Malicious int `json:"malicious"`
}

// NewFeedback returns an empty Feedback holding at most max keys.
func NewFeedback(max int) *Feedback {
	if max < 1 {
		max = 1
	}
	return &Feedback{keys: map[string]*verdictCount{}, max: max}
}

func ruleHostKey(rule, host string) string { return strings.ToLower(rule + "|" + host) }

// Record counts one verdict on an alert of rule on host.
func (f *Feedback) Record(rule, host string, malicious bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, k := range [...]string{ruleHostKey(rule, host), strings.ToLower(rule)} {
		c := f.keys[k]
		if c == nil {
			if len(f.keys) >= f.max {
				f.dropped++
				continue
			}
			c = &verdictCount{}
			f.keys[k] = c
			f.n.Add(1)
		}
		if malicious {
			c.Malicious++
		} else {
			c.Benign++
		}
	}
}

// Factor returns the factor verdicts put on a new alert of rule on host:
// 0.2^b · 1.5^m for the b benign and m malicious verdicts on the rule on
// that host (kept within 0.05–2), times 0.8^b · 1.2^m for those on the rule
// anywhere (kept within 0.3–1.5); and a description.
func (f *Feedback) Factor(rule, host string) (float64, string) {
	if f.n.Load() == 0 {
		return 1, ""
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	fac, detail := 1.0, ""
	if c := f.keys[ruleHostKey(rule, host)]; c != nil {
		fac *= bound(math.Pow(0.2, float64(c.Benign))*math.Pow(1.5, float64(c.Malicious)), 0.05, 2)
		detail = fmt.Sprintf("on this host %d benign, %d malicious", c.Benign, c.Malicious)
	}
	if c := f.keys[strings.ToLower(rule)]; c != nil {
		fac *= bound(math.Pow(0.8, float64(c.Benign))*math.Pow(1.2, float64(c.Malicious)), 0.3, 1.5)
		if detail != "" {
			detail += "; "
		}
		detail += fmt.Sprintf("on any host %d benign, %d malicious", c.Benign, c.Malicious)
	}
	return fac, detail
}

// Dropped counts verdict keys not kept because Feedback was full.
func (f *Feedback) Dropped() int64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.dropped
}

func bound(v, lo, hi float64) float64 { return math.Min(math.Max(v, lo), hi) }

// MarshalJSON implements json.Marshaler.
func (f *Feedback) MarshalJSON() ([]byte, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return json.Marshal(struct {
		Keys    map[string]*verdictCount `json:"keys"`
		Dropped int64                    `json:"dropped"`
	}{f.keys, f.dropped})
}

// UnmarshalJSON implements json.Unmarshaler; it keeps f's bound.
func (f *Feedback) UnmarshalJSON(b []byte) error {
	var v struct {
		Keys    map[string]*verdictCount `json:"keys"`
		Dropped int64                    `json:"dropped"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if v.Keys == nil {
		v.Keys = map[string]*verdictCount{}
	}
	f.keys, f.dropped = v.Keys, v.Dropped
	f.n.Store(int64(len(f.keys)))
	if f.max == 0 {
		f.max = max(len(f.keys), 1)
	}
	return nil
}

// feedbackScorer applies a Feedback to alert scores.
type feedbackScorer struct{ f *Feedback }

func (s feedbackScorer) ScoreAlert(a *Alert, sofar float64, dst []Part) []Part {
	fac, detail := s.f.Factor(a.RuleID, a.Host)
	if fac == 1 {
		return dst
	}
	return append(dst, factorPart("feedback", sofar, fac, detail))
}

// riskPoint is the highest score of one rule on one entity and when it
// was last seen.
type riskPoint struct {
	Rule string    `json:"rule"`
	Best float64   `json:"best"`
	Last time.Time `json:"last"`
}

// entityRisk is Elastic's entity risk on event time: per host and user,
// the best score of each rule seen within Window, combined as the sum of
// the sorted scores weighted 1/i^1.5. It holds at most max entities
// (further ones are counted in Dropped) and at most maxRulesPerEntity rules
// per entity.
type entityRisk struct {
	Entities map[string]*[]riskPoint `json:"entities"` // a pointer, so observe changes it with one lookup
	Dropped  int64                   `json:"dropped"`
	max      int
	window   time.Duration
}

const maxRulesPerEntity = 256

func newEntityRisk(max int, window time.Duration) *entityRisk {
	return &entityRisk{Entities: map[string]*[]riskPoint{}, max: max, window: window}
}

func (e *entityRisk) observe(key, rule string, score float64, t time.Time) {
	rp, ok := e.Entities[key]
	if rp == nil {
		if !ok && len(e.Entities) >= e.max {
			e.Dropped++
			return
		}
		rs := make([]riskPoint, 0, 4)
		rp = &rs
		e.Entities[key] = rp
	}
	rs := *rp
	i := 0
	for i < len(rs) && rs[i].Rule != rule {
		i++
	}
	if i == len(rs) {
		if len(rs) >= maxRulesPerEntity {
			e.Dropped++
			return
		}
		*rp = append(rs, riskPoint{Rule: rule, Best: score, Last: t})
		return
	}
	p := &rs[i]
	switch {
	case absDur(t.Sub(p.Last)) > e.window:
		if t.After(p.Last) {
			p.Best, p.Last = score, t
		}
	default:
		p.Best = math.Max(p.Best, score)
		if t.After(p.Last) {
			p.Last = t
		}
	}
}

// forget removes what rule added to an entity's risk (after a benign
// verdict).
func (e *entityRisk) forget(key, rule string) {
	rp := e.Entities[key]
	if rp == nil {
		return
	}
	for i := range *rp {
		if (*rp)[i].Rule == rule {
			*rp = slices.Delete(*rp, i, i+1)
			return
		}
	}
}

// risk is the entity's risk at event time t: the rules last seen within
// the window before t.
func (e *entityRisk) risk(key string, t time.Time) (float64, int) {
	var rs []riskPoint
	if rp := e.Entities[key]; rp != nil {
		rs = *rp
	}
	vs := make([]float64, 0, len(rs))
	for _, p := range rs {
		if d := t.Sub(p.Last); d >= 0 && d <= e.window {
			vs = append(vs, p.Best)
		}
	}
	return zetaSum(vs), len(vs)
}

// zetaSum sorts vs from highest and sums them weighted 1/i^1.5.
func zetaSum(vs []float64) float64 {
	slices.SortFunc(vs, func(a, b float64) int { return cmpF(b, a) })
	var s float64
	for i, v := range vs {
		s += v / math.Pow(float64(i+1), 1.5)
	}
	return s
}

func cmpF(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
