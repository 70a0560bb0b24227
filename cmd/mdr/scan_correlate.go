package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/mdrkit/mdr/detect"
)

// scanCorrelation runs the ruleset's correlation rules inside mdr scan. The
// correlator is fed in input order (by the sequential loop, or by the
// writer of the parallel one), so --workers N gives the same output.
type scanCorrelation struct {
	c       *detect.Correlator
	fed     map[string]bool // rules some correlation references
	matches int64
	last    scanItem
}

// correlationLine is one correlation match in mdr scan's output: the keys
// of a rule match, the event being the one that completed the correlation,
// plus the group, the window and the base events.
type correlationLine struct {
	RuleID      string                 `json:"rule_id"`
	RuleTitle   string                 `json:"rule_title"`
	Level       string                 `json:"level"`
	Tags        []string               `json:"tags"`
	Correlation bool                   `json:"correlation"`
	File        string                 `json:"file"`
	EventIndex  int64                  `json:"event_index"`
	EventTime   string                 `json:"event_time"`
	Group       map[string]string      `json:"group"`
	WindowStart string                 `json:"window_start"`
	WindowEnd   string                 `json:"window_end"`
	EventIDs    []string               `json:"event_ids"`
	Events      int                    `json:"events"`
	Explanation correlationExplanation `json:"explanation"`
	Explained   string                 `json:"explained"`
}

type correlationExplanation struct {
	Type      string   `json:"type"`
	Rules     []string `json:"rules"`
	Condition string   `json:"condition"`
	Field     string   `json:"field,omitempty"`
	Value     float64  `json:"value"`
	Timespan  string   `json:"timespan"`
}

// newScanCorrelation returns nil when rs has no correlation rules. The
// rejected correlations are reported like rejected rules.
func newScanCorrelation(rs *detect.Ruleset, lateness time.Duration) (*scanCorrelation, []detect.RuleError, error) {
	if rs == nil || len(rs.Correlations()) == 0 {
		return nil, nil, nil
	}
	cfg := detect.DefaultCorrelatorConfig()
	cfg.Lateness = lateness
	c, err := detect.NewCorrelator(rs, cfg)
	rejected := detect.Rejections(err)
	if c == nil {
		return nil, nil, err
	}
	sc := &scanCorrelation{c: c, fed: map[string]bool{}}
	for _, r := range c.Rules() {
		for _, id := range r.Correlation.Rules {
			sc.fed[id] = true
		}
	}
	return sc, rejected, nil
}

// keep copies the matches that feed a correlation (workers reuse ms).
func (sc *scanCorrelation) keep(ms []detect.Match) []detect.Match {
	var out []detect.Match
	for i := range ms {
		if sc.fed[ms[i].Rule.ID] {
			out = append(out, ms[i])
		}
	}
	return out
}

// observe feeds one event's matches and writes the correlation matches.
func (sc *scanCorrelation) observe(ctx context.Context, w io.Writer, it scanItem, ms []detect.Match) error {
	sc.last = it
	cms, err := sc.c.Observe(ctx, it.ev, ms)
	if err != nil {
		return err
	}
	return sc.write(w, it, cms)
}

// writeBatch writes a parallel batch's rule matches item by item, each
// followed by the correlation matches its event completes.
func (sc *scanCorrelation) writeBatch(ctx context.Context, w io.Writer, b *scanBatch) error {
	from := 0
	for k, it := range b.items {
		if k >= len(b.ends) {
			break // the batch stopped on an error
		}
		if _, err := w.Write(b.out[from:b.ends[k]]); err != nil {
			return err
		}
		from = b.ends[k]
		if err := sc.observe(ctx, w, it, b.ms[k]); err != nil {
			return err
		}
	}
	return nil
}

// finish ends the stream: the windows still open are decided.
func (sc *scanCorrelation) finish(ctx context.Context, w io.Writer) error {
	cms, err := sc.c.Flush(ctx)
	if err != nil {
		return err
	}
	return sc.write(w, sc.last, cms)
}

func (sc *scanCorrelation) write(w io.Writer, it scanItem, cms []detect.CorrelationMatch) error {
	for i := range cms {
		m := &cms[i]
		if m.Hidden {
			continue
		}
		r := m.Rule
		cl := correlationLine{
			RuleID: r.ID, RuleTitle: r.Title, Level: r.Severity.String(), Tags: r.Tags, Correlation: true,
			File: it.file, EventIndex: it.index, EventTime: m.End.UTC().Format(time.RFC3339Nano),
			Group: map[string]string{}, WindowStart: m.Start.UTC().Format(time.RFC3339Nano), WindowEnd: m.End.UTC().Format(time.RFC3339Nano),
			EventIDs: m.EventIDs, Events: m.Events, Explained: m.Explain(),
			Explanation: correlationExplanation{Type: string(r.Correlation.Type), Rules: m.Rules, Field: r.Correlation.Condition.Field,
				Value: m.Value, Timespan: r.Correlation.Timespan.String(), Condition: conditionText(r.Correlation)},
		}
		if cl.Tags == nil {
			cl.Tags = []string{}
		}
		for _, g := range m.Group {
			cl.Group[g.Field] = g.Value
		}
		b, err := json.Marshal(cl)
		if err != nil {
			return err
		}
		if _, err := w.Write(append(b, '\n')); err != nil {
			return err
		}
		sc.matches++
	}
	return nil
}

func conditionText(c *detect.Correlation) string {
	cc := c.Condition
	s := ""
	add := func(op string, p *float64) {
		if p != nil {
			if s != "" {
				s += " and "
			}
			s += fmt.Sprintf("%s %g", op, *p)
		}
	}
	add("gt", cc.GT)
	add("gte", cc.GTE)
	add("lt", cc.LT)
	add("lte", cc.LTE)
	add("eq", cc.EQ)
	add("neq", cc.NEQ)
	if s == "" {
		return "all rules"
	}
	return s
}

// summary is the correlation part of the summary line.
func (sc *scanCorrelation) summary() string {
	st := sc.c.Stats()
	s := fmt.Sprintf(", %d correlation matches from %d base matches", sc.matches, st.Observed)
	if st.Late > 0 {
		s += fmt.Sprintf(", %d base matches too late for correlation (see --lateness)", st.Late)
	}
	if st.ForcedReleases > 0 {
		s += fmt.Sprintf(", %d held-back base matches processed early (MaxPending)", st.ForcedReleases)
	}
	if st.NoTime > 0 {
		s += fmt.Sprintf(", %d base matches without event time not correlated", st.NoTime)
	}
	if st.GroupsEvicted > 0 || st.EventsDropped > 0 {
		s += fmt.Sprintf(", correlation state bounds hit (%d groups evicted, %d events dropped)", st.GroupsEvicted, st.EventsDropped)
	}
	return s
}
