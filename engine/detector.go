package engine

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/mdrkit/mdr"
	"github.com/mdrkit/mdr/detect"
	"github.com/mdrkit/mdr/reader"
	"github.com/mdrkit/mdr/schema"
)

// Config configures a Detector. The zero value is not valid; start from
// DefaultConfig.
type Config struct {
	// Correlator configures the correlation state (bounds, lateness).
	Correlator detect.CorrelatorConfig
	// Entities fills each alert's entities through the schema mapping of
	// its event (host, user, processes, files, …).
	Entities bool
	// MaxRemembered bounds how many events the Detector remembers (host
	// and entities) for the alerts of correlation rules, whose base events
	// came earlier. Oldest first out; Stats counts what was forgotten.
	MaxRemembered int
	// OnEvalError, when set, is called with every rule that failed to
	// evaluate on an event. Detection goes on either way; Stats counts
	// them.
	OnEvalError func(*EvalError)
}

// DefaultConfig returns the configuration NewDetector is meant to start
// from: the detect package's default correlator, entities on, 100,000
// remembered events.
func DefaultConfig() Config {
	return Config{Correlator: detect.DefaultCorrelatorConfig(), Entities: true, MaxRemembered: 100_000}
}

// Stats counts what a Detector did.
type Stats struct {
	Events       int64 `json:"events"`
	Matches      int64 `json:"matches"`      // rule matches, hidden ones included
	Correlations int64 `json:"correlations"` // correlation matches, hidden ones included
	Alerts       int64 `json:"alerts"`
	EvalErrors   int64 `json:"eval_errors"` // rule evaluations that failed on an event
	Forgotten    int64 `json:"forgotten"`   // remembered events evicted by MaxRemembered
	Correlator   detect.CorrelatorStats
}

// Detector runs a Rules over events in order and returns alerts. It is not
// safe for concurrent use.
type Detector struct {
	rules *Rules
	cfg   Config
	corr  *detect.Correlator
	fed   map[string]bool
	buf   []detect.Match
	// events remembered for correlation alerts, oldest first in order
	mem   map[string]memo
	order []string
	head  int
	stats Stats
	// Rejects are the correlation rules the correlator refused.
	Rejects []Reject
}

type memo struct {
	host     string
	entities []mdr.Entity
}

// NewDetector returns a Detector for r. Correlation rules the correlator
// cannot run are listed in Detector.Rejects, not fatal.
func NewDetector(r *Rules, cfg Config) (*Detector, error) {
	if r == nil || r.Ruleset == nil {
		return nil, errors.New("engine: no rules")
	}
	if cfg.MaxRemembered <= 0 {
		return nil, fmt.Errorf("engine: MaxRemembered must be positive, got %d", cfg.MaxRemembered)
	}
	d := &Detector{rules: r, cfg: cfg, fed: map[string]bool{}, mem: map[string]memo{}}
	if len(r.Ruleset.Correlations()) > 0 {
		c, err := detect.NewCorrelator(r.Ruleset, cfg.Correlator)
		if c == nil {
			return nil, err
		}
		d.Rejects = rejectsOf(detect.Rejections(err))
		d.corr = c
		for _, cr := range c.Rules() {
			for _, id := range cr.Correlation.Rules {
				d.fed[id] = true
			}
		}
	}
	return d, nil
}

// Stats returns the counts so far.
func (d *Detector) Stats() Stats {
	s := d.stats
	if d.corr != nil {
		s.Correlator = d.corr.Stats()
	}
	return s
}

// Process runs the rules on ev and returns the alerts it raises: one per
// visible rule match, then one per visible correlation match the event
// completed. A rule that fails to evaluate is counted and reported through
// Config.OnEvalError; the error returned is only for ctx ending or a
// correlator failure.
func (d *Detector) Process(ctx context.Context, ev *mdr.Event) ([]mdr.Alert, error) {
	d.stats.Events++
	var err error
	d.buf, err = d.rules.Ruleset.AppendMatches(ctx, d.buf[:0], ev)
	if err != nil {
		if cerr := ctx.Err(); cerr != nil {
			return nil, cerr
		}
		if !d.evalErrors(ev, err) {
			return nil, err
		}
	}
	var out []mdr.Alert
	var ents []mdr.Entity
	entsDone := false
	entities := func() []mdr.Entity {
		if !entsDone && d.cfg.Entities {
			ents, entsDone = entitiesOf(ev), true
		}
		return ents
	}
	feeds := false
	for i := range d.buf {
		m := &d.buf[i]
		d.stats.Matches++
		if d.fed[m.Rule.ID] {
			feeds = true
		}
		if m.Hidden {
			continue
		}
		out = append(out, d.matchAlert(m, ev, entities()))
	}
	if d.corr == nil {
		d.stats.Alerts += int64(len(out))
		return out, nil
	}
	if feeds {
		d.remember(ev, entities())
	}
	cms, err := d.corr.Observe(ctx, ev, d.buf)
	if err != nil {
		return out, err
	}
	out = d.appendCorrelations(out, cms)
	d.stats.Alerts += int64(len(out))
	return out, nil
}

// Flush ends the stream: correlation windows still open are decided and
// their alerts returned.
func (d *Detector) Flush(ctx context.Context) ([]mdr.Alert, error) {
	if d.corr == nil {
		return nil, nil
	}
	cms, err := d.corr.Flush(ctx)
	out := d.appendCorrelations(nil, cms)
	d.stats.Alerts += int64(len(out))
	return out, err
}

// evalErrors reports every *detect.EvalError in err and says whether err
// held nothing else.
func (d *Detector) evalErrors(ev *mdr.Event, err error) bool {
	var list []error
	if u, ok := err.(interface{ Unwrap() []error }); ok {
		list = u.Unwrap()
	} else {
		list = []error{err}
	}
	for _, e := range list {
		var ee *detect.EvalError
		if !errors.As(e, &ee) {
			return false
		}
		d.stats.EvalErrors++
		if d.cfg.OnEvalError != nil {
			d.cfg.OnEvalError(&EvalError{RuleID: ee.RuleID, EventID: ev.ID(), Origin: ev.Origin(), Err: ee.Err})
		}
	}
	return true
}

func (d *Detector) matchAlert(m *detect.Match, ev *mdr.Event, ents []mdr.Entity) mdr.Alert {
	r := m.Rule
	a := mdr.Alert{
		ID:          r.ID + ":" + ev.ID(),
		RuleID:      r.ID,
		RuleTitle:   r.Title,
		Severity:    r.Severity,
		Tags:        r.Tags,
		Time:        ev.Time(),
		EventIDs:    []string{ev.ID()},
		Host:        HostOf(ev),
		Entities:    ents,
		Explanation: m.Explanation.String(),
	}
	for _, f := range r.Fields {
		if v, ok := ev.Get(f); ok {
			if a.Fields == nil {
				a.Fields = map[string]string{}
			}
			a.Fields[f] = textOf(v)
		}
	}
	return a
}

// textOf renders a field value for an alert; numbers that JSON cannot hold
// (an overflowing 1e400 decodes as +Inf) are written as text.
func textOf(v mdr.Value) string {
	if f, ok := v.Float(); ok && (math.IsInf(f, 0) || math.IsNaN(f)) {
		return strconv.FormatFloat(f, 'g', -1, 64)
	}
	return v.Text()
}

func (d *Detector) appendCorrelations(out []mdr.Alert, cms []detect.CorrelationMatch) []mdr.Alert {
	for i := range cms {
		cm := &cms[i]
		d.stats.Correlations++
		if cm.Hidden {
			continue
		}
		out = append(out, d.correlationAlert(cm))
	}
	return out
}

func (d *Detector) correlationAlert(cm *detect.CorrelationMatch) mdr.Alert {
	grp := make([]string, len(cm.Group))
	for i, g := range cm.Group {
		grp[i] = g.Field + "=" + g.Value
	}
	first := ""
	if len(cm.EventIDs) > 0 {
		first = cm.EventIDs[0]
	}
	a := mdr.Alert{
		ID:          "correlation:" + cm.Rule.ID + ":" + strings.Join(grp, ",") + ":" + first,
		RuleID:      cm.Rule.ID,
		RuleTitle:   cm.Rule.Title,
		Severity:    cm.Rule.Severity,
		Tags:        cm.Rule.Tags,
		Time:        cm.End,
		EventIDs:    append([]string(nil), cm.EventIDs...),
		Explanation: cm.Explain(),
		Fields:      map[string]string{"group": strings.Join(grp, ", "), "rules": strings.Join(cm.Rules, ", ")},
	}
	for _, g := range cm.Group {
		if strings.EqualFold(g.Field, "Computer") || g.Field == "host.name" {
			a.Host = g.Value
		}
	}
	seen := map[string]bool{}
	for _, id := range cm.EventIDs {
		m, ok := d.mem[id]
		if !ok {
			continue
		}
		if a.Host == "" {
			a.Host = m.host
		}
		for _, e := range m.entities {
			if !seen[e.ID] {
				seen[e.ID] = true
				a.Entities = append(a.Entities, e)
			}
		}
	}
	return a
}

// remember keeps an event's host and entities for the correlation alerts
// it may feed, in a ring of Config.MaxRemembered.
func (d *Detector) remember(ev *mdr.Event, ents []mdr.Entity) {
	id := ev.ID()
	if _, ok := d.mem[id]; ok {
		return
	}
	if len(d.order) < d.cfg.MaxRemembered {
		d.order = append(d.order, id)
	} else {
		delete(d.mem, d.order[d.head])
		d.stats.Forgotten++
		d.order[d.head] = id
		d.head = (d.head + 1) % len(d.order)
	}
	d.mem[id] = memo{host: HostOf(ev), entities: ents}
}

// HostOf returns the name of the host an event is about, whatever its
// dialect (Computer, host.name, device.hostname, …), or "".
func HostOf(ev *mdr.Event) string {
	if ev == nil {
		return ""
	}
	if v, ok := schema.Lookup(ev, "host.name"); ok {
		return v.Text()
	}
	for _, k := range [...]string{"Computer", "host.name", "hostname", "device.hostname"} {
		if s, ok := ev.Text(k); ok && s != "" {
			return s
		}
	}
	return ""
}

// entitiesOf returns the entities an event names, through schema's
// stateless mapping.
func entitiesOf(ev *mdr.Event) []mdr.Entity {
	res, err := schema.Extract(ev)
	if err != nil && len(res.Entities) == 0 {
		return nil
	}
	return res.Entities
}

// FileStats counts what DetectFiles read.
type FileStats struct {
	Events  int64 // events read
	Skipped int64 // malformed lines skipped
}

// DetectFiles reads event files in order (see package reader; "-" is
// standard input) and runs d over them, calling emit with every event and
// the alerts it raised (often none), then once with a nil event and the
// alerts of the correlation windows still open at the end. It stops at the
// first error of emit, of reading (under opts.OnError) or of ctx.
func DetectFiles(ctx context.Context, d *Detector, files []string, opts reader.Options, emit func(ev *mdr.Event, alerts []mdr.Alert) error) (FileStats, error) {
	var fs FileStats
	for _, f := range files {
		r, err := reader.OpenContext(ctx, f, opts)
		if err != nil {
			return fs, err
		}
		for ev, err := range r.All() {
			if err != nil {
				r.Close()
				return fs, err
			}
			if err := ctx.Err(); err != nil {
				r.Close()
				return fs, err
			}
			fs.Events++
			as, err := d.Process(ctx, ev)
			if err != nil {
				r.Close()
				return fs, err
			}
			if err := emit(ev, as); err != nil {
				r.Close()
				return fs, err
			}
		}
		fs.Skipped += r.Skipped()
		if err := r.Close(); err != nil {
			return fs, err
		}
	}
	as, err := d.Flush(ctx)
	if err != nil {
		return fs, err
	}
	return fs, emit(nil, as)
}
