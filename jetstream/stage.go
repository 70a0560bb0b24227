package jetstream

import (
	"context"
	"sync"

	"github.com/mdrkit/mdr"
	"github.com/mdrkit/mdr/investigate"
	"github.com/mdrkit/mdr/triage"
)

// Flusher is an optional capability of a Stage: Flush makes what the stage
// did durable, and the worker calls it after each message's events and
// before the acknowledgement.
type Flusher interface {
	Flush(ctx context.Context) error
}

// TriageStage is the Stage that gives a worker the rest of the single-process
// pipeline: every event goes into a provenance graph (investigate) and every
// alert into a triage queue whose incidents are linked causally through that
// graph. The queue persists in the worker's store at each Flush. Because
// partitions hold whole hosts, the graph and the incidents of a host stay in
// one worker; an attack that crosses hosts of two partitions becomes one
// incident per partition (the alerts stream still carries every alert).
//
// The graph lives in memory and is rebuilt from the events a worker
// processes after it claims a partition; it is bounded by its own
// configuration. TriageStage is safe for concurrent use by a worker's
// partitions.
type TriageStage struct {
	mu    sync.Mutex // the graph takes one writer at a time
	graph *investigate.Graph
	queue *triage.Queue
}

// NewTriageStage opens a triage queue on st with cfg, linked through a new
// provenance graph.
func NewTriageStage(ctx context.Context, st triage.Store, cfg triage.Config, gcfg investigate.Config, opts ...triage.Option) (*TriageStage, error) {
	g, err := investigate.New(gcfg)
	if err != nil {
		return nil, err
	}
	q, err := triage.Open(ctx, st, cfg, append([]triage.Option{triage.WithLinker(g)}, opts...)...)
	if err != nil {
		return nil, err
	}
	return &TriageStage{graph: g, queue: q}, nil
}

// Queue returns the triage queue (to read incidents, set statuses).
func (s *TriageStage) Queue() *triage.Queue { return s.queue }

// Graph returns the provenance graph.
func (s *TriageStage) Graph() *investigate.Graph { return s.graph }

// Process adds the event to the graph and pushes its alerts.
func (s *TriageStage) Process(ctx context.Context, _ int, ev *mdr.Event, alerts []mdr.Alert) error {
	if ev != nil {
		s.mu.Lock()
		err := s.graph.Add(ev)
		s.mu.Unlock()
		if err != nil {
			return err
		}
	}
	for _, a := range alerts {
		if _, err := s.queue.Push(ctx, a, ev); err != nil {
			return err
		}
	}
	return nil
}

// Flush writes the queue's changes to its store.
func (s *TriageStage) Flush(ctx context.Context) error { return s.queue.Flush(ctx) }

// StoresAlerts reports that the stage writes the alerts to the store
// itself (the triage queue keeps them with their scores), so the worker
// does not write them a second time.
func (s *TriageStage) StoresAlerts() bool { return true }
