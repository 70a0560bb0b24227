package hunt

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/mdrkit/mdr"
	"github.com/mdrkit/mdr/detect"
	"github.com/mdrkit/mdr/engine"
	"github.com/mdrkit/mdr/store"
)

// Query is a search of stored events with a rule condition. It is a plain
// value that may be serialised (saved hunts keep it), except Progress.
type Query struct {
	// Condition is a CEL condition over the event e, in the language and
	// with the functions of detect rules (see package detect).
	Condition string `json:"condition,omitempty"`
	// Sigma is the YAML of a Sigma rule (or several, without correlations),
	// compiled through engine's Sigma path with the built-in Windows
	// pipeline; used when Condition is empty.
	Sigma string `json:"sigma,omitempty"`
	Range
	// Fields, when set, are the fields copied into each Result (a
	// projection); missing fields are left out.
	Fields []string `json:"fields,omitempty"`
	// Limit stops the query after this many results; 0 means no limit.
	Limit int `json:"limit,omitempty"`
	// Timeout stops the query (ErrTimeout) after this long; 0 means none.
	Timeout time.Duration `json:"timeout,omitempty"`
	// CostLimit bounds the CEL cost of evaluating the condition on one
	// event (detect.WithCostLimit); an event over it counts in
	// Progress-independent Stats as an evaluation error and does not
	// match. 0 keeps detect's default.
	CostLimit uint64 `json:"cost_limit,omitempty"`
	// MaxScanned is the budget of events read: the query stops with
	// ErrBudget once it has read this many. 0 means no budget.
	MaxScanned int64 `json:"max_scanned,omitempty"`
	// Progress, when set, receives progress reports.
	Progress ProgressFunc `json:"-"`
}

// Result is one event a query (or a retro-hunt) found. It is a plain value.
type Result struct {
	Event *mdr.Event
	// RuleID is the rule that matched: "query" for a CEL condition, the
	// Sigma rule's id otherwise.
	RuleID string
	// Values are the projected fields (Query.Fields) that the event has.
	Values []mdr.Field
}

// QueryRuleID is the rule id a CEL query runs under.
const QueryRuleID = "query"

// Prepared is a compiled query: immutable and safe for concurrent use; Run
// may be called many times.
type Prepared struct {
	q     Query
	rules *detect.Ruleset
	plan  plan
	rule  detect.Rule // the query as a rule (for a single-rule query)
}

// Compile checks and compiles q. A condition that does not compile is a
// *QueryError naming the line and column.
func Compile(ctx context.Context, q Query) (*Prepared, error) {
	var opts []detect.Option
	if q.CostLimit > 0 {
		opts = append(opts, detect.WithCostLimit(q.CostLimit))
	}
	if q.Limit < 0 || q.MaxScanned < 0 || q.Timeout < 0 {
		return nil, fmt.Errorf("%w: Limit, MaxScanned and Timeout must not be negative", ErrQuery)
	}
	if !q.From.IsZero() && !q.To.IsZero() && !q.From.Before(q.To) {
		return nil, fmt.Errorf("%w: the range is empty (from %s is not before to %s)", ErrQuery, q.From.Format(time.RFC3339), q.To.Format(time.RFC3339))
	}
	p := &Prepared{q: q}
	switch {
	case strings.TrimSpace(q.Condition) != "":
		p.rule = detect.Rule{ID: QueryRuleID, Title: "hunt query", Condition: q.Condition, Severity: mdr.SeverityMedium, Fields: q.Fields}
		rs, err := detect.Compile([]detect.Rule{p.rule}, opts...)
		if err != nil {
			return nil, queryError(err)
		}
		p.rules = rs
		p.plan = planCondition(q.Condition)
	case strings.TrimSpace(q.Sigma) != "":
		rules, err := engine.LoadSources(ctx, []engine.Source{{Name: "query", Data: []byte(q.Sigma)}}, engine.WithDetectOptions(opts...))
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrQuery, err)
		}
		if len(rules.Rejects) > 0 {
			r := rules.Rejects[0]
			return nil, &QueryError{Line: int(r.Line), Reason: r.Reason, RuleID: r.ID}
		}
		if rules.SigmaFiles == 0 {
			return nil, fmt.Errorf("%w: Sigma is not a Sigma rule (no detection)", ErrQuery)
		}
		if len(rules.Ruleset.Correlations()) > 0 {
			return nil, fmt.Errorf("%w: a query takes no correlation rule (run it as a retro-hunt)", ErrQuery)
		}
		p.rules = rules.Ruleset
		all := rules.Ruleset.Rules()
		if len(all) == 1 {
			p.rule = all[0]
			p.plan = planCondition(all[0].Condition)
		} else {
			var merged requirement
			for _, r := range all {
				sub := planCondition(r.Condition)
				if len(sub) == 0 {
					merged = nil
					break
				}
				merged = append(merged, best(sub)...)
			}
			if merged != nil {
				p.plan = plan{merged}
			}
		}
	default:
		return nil, fmt.Errorf("%w: no condition and no Sigma rule", ErrQuery)
	}
	return p, nil
}

var posRE = regexp.MustCompile(`^condition: (\d+):(\d+): (.*)$`)

// queryError turns detect's rejection of the query rule into a
// *QueryError with the position CEL reported.
func queryError(err error) error {
	rj := detect.Rejections(err)
	if len(rj) == 0 {
		return fmt.Errorf("%w: %v", ErrQuery, err)
	}
	qe := &QueryError{Reason: rj[0].Reason}
	if m := posRE.FindStringSubmatch(rj[0].Reason); m != nil {
		qe.Line, _ = strconv.Atoi(m[1])
		qe.Column, _ = strconv.Atoi(m[2])
		qe.Reason = m[3]
	}
	return qe
}

// Rule returns the query as a detect rule (the CEL condition under
// QueryRuleID, or the Sigma rule compiled), and false for a query of
// several Sigma rules.
func (p *Prepared) Rule() (detect.Rule, bool) { return p.rule, p.rule.Condition != "" }

// Plan says whether the query's condition gave requirements that segment
// summaries can rule out (for tests and progress lines).
func (p *Prepared) Plan() string {
	var parts []string
	for _, r := range p.plan {
		var as []string
		for _, a := range r {
			if a.field == "" {
				as = append(as, "token "+strconv.Quote(a.value))
			} else {
				as = append(as, a.field+"="+strconv.Quote(a.value))
			}
		}
		parts = append(parts, "("+strings.Join(as, " or ")+")")
	}
	return strings.Join(parts, " and ")
}

// Run streams the results of the query over src, in time order. The
// sequence ends with an error wrapping ErrTimeout when Query.Timeout ran out,
// ErrBudget when MaxScanned events were read, or ctx's error.
func (p *Prepared) Run(ctx context.Context, src store.Events) iter.Seq2[Result, error] {
	return func(yield func(Result, error) bool) {
		q := p.q
		if q.Timeout > 0 {
			var cancel context.CancelFunc
			ctx, cancel = context.WithTimeoutCause(ctx, q.Timeout, ErrTimeout)
			defer cancel()
		}
		var keep func(*store.Summary) bool
		if len(p.plan) > 0 {
			keep = p.plan.keep
		}
		sc := newScanner(src, q.Range, keep, q.Progress)
		defer func() { sc.report(true) }()
		var buf []detect.Match
		for ev, err := range sc.events(ctx) {
			if err != nil {
				yield(Result{}, stopErr(ctx, err))
				return
			}
			if q.MaxScanned > 0 && sc.p.Scanned > q.MaxScanned {
				yield(Result{}, fmt.Errorf("%w: %d events read", ErrBudget, q.MaxScanned))
				return
			}
			buf, err = p.rules.AppendMatches(ctx, buf[:0], ev)
			if err != nil {
				if ctx.Err() != nil {
					yield(Result{}, stopErr(ctx, ctx.Err()))
					return
				}
				sc.p.Errors++ // an evaluation error (cost limit): no match
			}
			for i := range buf {
				if buf[i].Hidden {
					continue
				}
				sc.p.Matched++
				if !yield(Result{Event: ev, RuleID: buf[i].Rule.ID, Values: project(ev, q.Fields)}, nil) {
					return
				}
				if q.Limit > 0 && sc.p.Matched >= int64(q.Limit) {
					return
				}
			}
		}
	}
}

// stopErr names why a hunt stopped when ctx ended.
func stopErr(ctx context.Context, err error) error {
	if c := context.Cause(ctx); c != nil && errors.Is(c, ErrTimeout) {
		return fmt.Errorf("%w (%v)", ErrTimeout, err)
	}
	return err
}

// project copies the fields of ev named in fields.
func project(ev *mdr.Event, fields []string) []mdr.Field {
	if len(fields) == 0 {
		return nil
	}
	out := make([]mdr.Field, 0, len(fields))
	for _, f := range fields {
		if v, ok := ev.Get(f); ok {
			out = append(out, mdr.Field{Key: f, Value: v})
		}
	}
	return out
}
