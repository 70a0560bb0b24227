package hunt

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"iter"
	"slices"
	"strings"

	"github.com/mdrkit/mdr"
	"github.com/mdrkit/mdr/detect"
	"github.com/mdrkit/mdr/engine"
	"github.com/mdrkit/mdr/store"
)

// Retro configures a retro-hunt: a whole ruleset (native rules, Sigma
// rules, correlations) run over a stored range. It is a plain value.
type Retro struct {
	Range
	// Detector configures the engine.Detector the events go through
	// (correlation bounds, entities); the zero value means
	// engine.DefaultConfig().
	Detector *engine.Config
	// Alerts, when set, receives every alert raised (store.Alerts.PutAlert
	// with status new). Alert ids are deterministic, so running the same
	// retro-hunt twice stores each alert once: an alert already stored is
	// counted in RetroStats.Existing, not an error.
	Alerts store.Alerts
	// Progress, when set, receives progress reports.
	Progress ProgressFunc
	// Order is the order correlations see their events in (see Order).
	Order Order
	// MaxHeld bounds the events OrderIngest holds back for correlations
	// (about 64 bytes each); 0 means DefaultMaxHeld. A retro-hunt that
	// needs more stops with ErrBudget.
	MaxHeld int
}

// Order is the order in which a retro-hunt feeds events to correlations.
type Order uint8

const (
	// OrderIngest feeds correlations in the order the events were read
	// when they were stored: by origin (source name, then line), which for
	// events ingested from files is file order. It reproduces exactly what
	// mdr scan or a live detector raised over the same stream, including
	// the base events its correlations dropped as late. Events that feed
	// no correlation are processed as they are read.
	OrderIngest Order = iota
	// OrderTime feeds every event in event-time order: correlations see a
	// perfectly ordered stream, so they can find groups a live stream
	// missed because its events came out of order.
	OrderTime
)

// DefaultMaxHeld is the default bound of Retro.MaxHeld.
const DefaultMaxHeld = 2_000_000

// RetroStats counts what a retro-hunt did. It is a plain value.
type RetroStats struct {
	Progress
	Stored   int64        // alerts written into Retro.Alerts
	Existing int64        // alerts Retro.Alerts already held
	Detector engine.Stats // the detector's own counts
}

// RetroHunt runs rules over the events of cfg's range in src through one
// engine.Detector and streams its alerts: for each event the alerts of its
// rule matches, then those of the correlations it completes, and at the end
// those of the correlation windows still open. Events are read in the
// store's order (event time); with OrderIngest (the default) the events
// that feed a correlation are held back (their origin and id) and
// processed after the scan in the order they were ingested, read again by
// id, so that the alerts (ids, rules, events) are exactly those the
// detector (or mdr scan) raised over the ingested stream.
//
// stats, when not nil, is filled as the hunt goes and is final when the
// sequence ends.
func RetroHunt(ctx context.Context, src store.Events, rules *engine.Rules, cfg Retro, stats *RetroStats) iter.Seq2[mdr.Alert, error] {
	return func(yield func(mdr.Alert, error) bool) {
		if stats == nil {
			stats = &RetroStats{}
		}
		dcfg := engine.DefaultConfig()
		if cfg.Detector != nil {
			dcfg = *cfg.Detector
		}
		det, err := engine.NewDetector(rules, dcfg)
		if err != nil {
			yield(mdr.Alert{}, fmt.Errorf("%w: %v", ErrQuery, err))
			return
		}
		sc := newScanner(src, cfg.Range, nil, cfg.Progress)
		defer func() {
			stats.Progress = sc.p
			stats.Detector = det.Stats()
			sc.report(true)
		}()
		emit := func(alerts []mdr.Alert) bool {
			for _, a := range alerts {
				sc.p.Matched++
				if cfg.Alerts != nil {
					if _, err := cfg.Alerts.PutAlert(ctx, store.AlertRecord{Alert: a, Status: store.StatusNew}); err != nil {
						if !errors.Is(err, mdr.ErrConflict) {
							yield(mdr.Alert{}, fmt.Errorf("hunt: store alert %s: %w", a.ID, err))
							return false
						}
						stats.Existing++
					} else {
						stats.Stored++
					}
				}
				if !yield(a, nil) {
					return false
				}
			}
			return true
		}
		var fed map[string]bool
		if cfg.Order == OrderIngest {
			fed = feeding(rules, dcfg)
		}
		maxHeld := cfg.MaxHeld
		if maxHeld <= 0 {
			maxHeld = DefaultMaxHeld
		}
		var held []heldEvent
		var buf []detect.Match
		for ev, err := range sc.events(ctx) {
			if err != nil {
				yield(mdr.Alert{}, err)
				return
			}
			if len(fed) > 0 {
				// a first match here decides whether the event waits
				buf, _ = rules.Ruleset.AppendMatches(ctx, buf[:0], ev)
				if len(buf) == 0 {
					continue
				}
				if feeds(buf, fed) {
					if len(held) >= maxHeld {
						yield(mdr.Alert{}, fmt.Errorf("%w: more than %d events feed correlations (raise Retro.MaxHeld or use OrderTime)", ErrBudget, maxHeld))
						return
					}
					o := ev.Origin()
					held = append(held, heldEvent{source: o.Source, line: o.Line, id: ev.ID()})
					continue
				}
			}
			alerts, err := det.Process(ctx, ev)
			if err != nil {
				yield(mdr.Alert{}, err)
				return
			}
			if !emit(alerts) {
				return
			}
		}
		slices.SortStableFunc(held, func(a, b heldEvent) int {
			if c := strings.Compare(a.source, b.source); c != 0 {
				return c
			}
			return cmp.Compare(a.line, b.line)
		})
		for _, h := range held {
			ev, err := src.GetEvent(ctx, h.id)
			if err != nil {
				yield(mdr.Alert{}, fmt.Errorf("hunt: retro-hunt: read held event again: %w", err))
				return
			}
			alerts, err := det.Process(ctx, ev)
			if err != nil {
				yield(mdr.Alert{}, err)
				return
			}
			if !emit(alerts) {
				return
			}
		}
		alerts, err := det.Flush(ctx)
		if err != nil {
			yield(mdr.Alert{}, err)
			return
		}
		emit(alerts)
	}
}

// heldEvent is an event OrderIngest processes after the scan.
type heldEvent struct {
	source string
	line   int64
	id     string
}

// feeding returns the ids of the rules some correlation the detector runs
// counts (as engine.Detector finds them: through the correlator, which
// resolves rule names to ids).
func feeding(rules *engine.Rules, cfg engine.Config) map[string]bool {
	if len(rules.Ruleset.Correlations()) == 0 {
		return nil
	}
	c, _ := detect.NewCorrelator(rules.Ruleset, cfg.Correlator)
	if c == nil {
		return nil
	}
	fed := map[string]bool{}
	for _, r := range c.Rules() {
		for _, id := range r.Correlation.Rules {
			fed[id] = true
		}
	}
	return fed
}

func feeds(ms []detect.Match, fed map[string]bool) bool {
	for i := range ms {
		if fed[ms[i].Rule.ID] {
			return true
		}
	}
	return false
}
