package hunt

import (
	"context"
	"iter"
	"strings"
	"time"

	"github.com/mdrkit/mdr"
	"github.com/mdrkit/mdr/engine"
	"github.com/mdrkit/mdr/store"
)

// Summarized is an optional capability of a store.Events (discover it with
// a type assertion; store/badger has it): a scan that reads the summaries
// of the stored segments first and skips the segments keep rules out.
// Without it a hunt reads every event of its range, with the same results.
type Summarized interface {
	ScanSummarized(ctx context.Context, q store.EventQuery, keep func(*store.Summary) bool) iter.Seq2[*mdr.Event, error]
}

// Range selects the stored events a hunt reads: [From, To) of event time
// (a zero bound is open) and, when Hosts is not empty, only events of these
// hosts (engine.HostOf, compared case-insensitively). It is a plain value.
type Range struct {
	From, To time.Time
	Hosts    []string
}

// Progress is what a running hunt has done so far. It is a plain value.
type Progress struct {
	Scanned  int64         `json:"scanned"`  // events read and evaluated
	Matched  int64         `json:"matched"`  // results yielded
	Segments int64         `json:"segments"` // stored segments considered (Summarized stores only)
	Skipped  int64         `json:"skipped"`  // segments ruled out by their summary
	Errors   int64         `json:"errors"`   // evaluations that failed (cost limit): no match
	Elapsed  time.Duration `json:"elapsed"`
	Done     bool          `json:"done"` // the last report of the run
}

// ProgressFunc receives progress reports: every ProgressEvery events and
// once at the end (Done set). It runs on the hunting goroutine and must
// return quickly.
type ProgressFunc func(Progress)

// ProgressEvery is how many events a hunt reads between two progress
// reports.
const ProgressEvery = 100_000

// scanner reads a range of stored events, with the summary skip when the
// store has it, and keeps the progress counters.
type scanner struct {
	src      store.Events
	rng      Range
	keep     func(*store.Summary) bool // nil: no skipping
	progress ProgressFunc
	start    time.Time
	p        Progress
}

func newScanner(src store.Events, rng Range, keep func(*store.Summary) bool, progress ProgressFunc) *scanner {
	return &scanner{src: src, rng: rng, keep: keep, progress: progress, start: time.Now()}
}

// events yields the events of the range on the host filter.
func (s *scanner) events(ctx context.Context) iter.Seq2[*mdr.Event, error] {
	q := store.EventQuery{From: s.rng.From, To: s.rng.To}
	hosts := s.rng.Hosts
	var hostNorm []string
	for _, h := range hosts {
		hostNorm = append(hostNorm, store.Normalize(h))
	}
	keep := s.keep
	if len(hostNorm) > 0 {
		hostReq := make(requirement, 0, 4*len(hostNorm))
		for _, h := range hostNorm {
			if !isASCII(h) {
				hostReq = nil
				break
			}
			for _, f := range hostFields {
				hostReq = append(hostReq, atom{field: f, value: h})
			}
		}
		if hostReq != nil {
			inner := keep
			keep = func(sum *store.Summary) bool {
				return hostReq.mayHold(sum) && (inner == nil || inner(sum))
			}
		}
	}
	var seq iter.Seq2[*mdr.Event, error]
	if sc, ok := s.src.(Summarized); ok && keep != nil {
		seq = sc.ScanSummarized(ctx, q, func(sum *store.Summary) bool {
			s.p.Segments++
			if !keep(sum) {
				s.p.Skipped++
				return false
			}
			return true
		})
	} else {
		seq = s.src.ScanEvents(ctx, q)
	}
	return func(yield func(*mdr.Event, error) bool) {
		for ev, err := range seq {
			if err != nil {
				yield(nil, err)
				return
			}
			s.p.Scanned++
			if s.p.Scanned%ProgressEvery == 0 {
				s.report(false)
			}
			if len(hosts) > 0 && !hostIn(ev, hosts) {
				continue
			}
			if !yield(ev, nil) {
				return
			}
		}
	}
}

// hostFields are the fields engine.HostOf reads a host name from.
var hostFields = []string{"Computer", "host.name", "host.hostname", "hostname", "node", "device.hostname", "device.name", "dst_endpoint.hostname"}

func hostIn(ev *mdr.Event, hosts []string) bool {
	h := engine.HostOf(ev)
	for _, x := range hosts {
		if strings.EqualFold(h, x) {
			return true
		}
	}
	return false
}

func (s *scanner) report(done bool) {
	s.p.Elapsed = time.Since(s.start)
	s.p.Done = done
	if s.progress != nil {
		s.progress(s.p)
	}
}
