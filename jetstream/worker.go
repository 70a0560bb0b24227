package jetstream

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/klauspost/compress/s2"
	"github.com/nats-io/nats.go"
	js "github.com/nats-io/nats.go/jetstream"

	"github.com/mdrkit/mdr"
	"github.com/mdrkit/mdr/engine"
	"github.com/mdrkit/mdr/internal/codec"
	"github.com/mdrkit/mdr/store"
)

// Store is what a worker needs of a store: alerts to write and state to
// keep its position and correlation state in. store.Memory and
// store/badger satisfy it.
type Store interface {
	store.Alerts
	store.State
}

// Stage is an optional step after detection, run on every event of a
// partition with the alerts it raised (triage, the provenance graph). It
// is called from the partition's goroutine only; a Stage shared by several
// partitions must be safe for concurrent use. Its results must be durable
// when Process returns: the batch is acknowledged after it.
type Stage interface {
	Process(ctx context.Context, partition int, ev *mdr.Event, alerts []mdr.Alert) error
}

// WorkerConfig configures a Worker.
type WorkerConfig struct {
	Config
	// ID names the worker in the claim bucket; empty means host name,
	// process id and start time.
	ID string
	// Rules are the compiled rules every partition runs.
	Rules *engine.Rules
	// Detector configures each partition's detector.
	Detector engine.Config
	// Store receives the alerts and the partitions' state.
	Store Store
	// Stage, when set, runs after detection on every event.
	Stage Stage
	// IdleFlush decides the correlation windows still open in a partition
	// that received nothing for this long (its stream has ended for now);
	// 0 never flushes. Later events of the partition start new windows.
	IdleFlush time.Duration
	// Logger receives claims, releases and errors; nil discards them.
	Logger *slog.Logger
}

// WorkerStats counts what a worker did.
type WorkerStats struct {
	Events     int64 `json:"events"`
	Alerts     int64 `json:"alerts"`
	Dead       int64 `json:"dead"`        // messages dead-lettered
	Skipped    int64 `json:"skipped"`     // redelivered events already processed
	Batches    int64 `json:"batches"`     // messages (bundles of events) acknowledged
	EvalErrors int64 `json:"eval_errors"` // rule evaluations that failed (counted by the detectors)
	Claims     int64 `json:"claims"`      // partitions claimed
}

// Worker consumes partitions and runs detection on them. Create it with
// NewWorker and run it with Run.
type Worker struct {
	cfg   WorkerConfig
	c     *conn
	kv    js.KeyValue
	state js.KeyValue
	log   *slog.Logger
	stats struct {
		events, alerts, dead, skipped, batches, evalErrors, claims atomic.Int64
	}
	mu    sync.Mutex
	owned map[int]*claim
}

type claim struct {
	rev  uint64
	stop chan struct{} // closed to stop the partition after its batch
	lost atomic.Bool   // the lease was lost: give the batch in hand back
	done chan struct{}
}

// NewWorker connects to url and makes sure the streams, consumers and the
// claim bucket exist.
func NewWorker(ctx context.Context, url string, cfg WorkerConfig) (*Worker, error) {
	if cfg.Rules == nil || cfg.Store == nil {
		return nil, fmt.Errorf("%w: a worker needs rules and a store", ErrConfig)
	}
	if cfg.Detector.MaxRemembered == 0 {
		cfg.Detector = engine.DefaultConfig()
	}
	if cfg.ID == "" {
		h, _ := os.Hostname()
		cfg.ID = fmt.Sprintf("%s-%d-%d", h, os.Getpid(), time.Now().UnixNano())
	}
	c, err := connect(url, cfg.Config, "mdr-worker-"+cfg.ID)
	if err != nil {
		return nil, err
	}
	if err := c.setup(ctx); err != nil {
		c.close()
		return nil, err
	}
	kv, err := c.js.KeyValue(ctx, cfg.ClaimBucket)
	if err != nil {
		c.close()
		return nil, fmt.Errorf("jetstream: claim bucket: %w", err)
	}
	state, err := c.js.KeyValue(ctx, cfg.StateBucket)
	if err != nil {
		c.close()
		return nil, fmt.Errorf("jetstream: state bucket: %w", err)
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Worker{cfg: cfg, c: c, kv: kv, state: state, log: log, owned: map[int]*claim{}}, nil
}

// Stats returns the counts so far.
func (w *Worker) Stats() WorkerStats {
	return WorkerStats{Events: w.stats.events.Load(), Alerts: w.stats.alerts.Load(), Dead: w.stats.dead.Load(),
		Skipped: w.stats.skipped.Load(), Batches: w.stats.batches.Load(), EvalErrors: w.stats.evalErrors.Load(), Claims: w.stats.claims.Load()}
}

// Owned returns the partitions the worker holds now, in order.
func (w *Worker) Owned() []int {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := make([]int, 0, len(w.owned))
	for p := range w.owned {
		out = append(out, p)
	}
	sort.Ints(out)
	return out
}

// Run claims partitions and processes them until ctx ends, then stops the
// partitions after their current batch, releases their claims and closes
// the connection. It returns the first error that stopped a partition, or
// nil after ctx ended.
func (w *Worker) Run(ctx context.Context) error {
	defer w.c.close()
	errc := make(chan error, w.cfg.Partitions)
	tick := time.NewTicker(w.cfg.LeaseTTL / 3)
	defer tick.Stop()
	var runErr error
	for {
		w.balance(ctx, errc)
		select {
		case <-ctx.Done():
		case err := <-errc:
			runErr = err
		case <-tick.C:
			continue
		}
		break
	}
	w.releaseAll()
	_ = w.kv.Delete(context.Background(), "w."+w.cfg.ID)
	return runErr
}

// balance renews the worker's lease and claims, drops claims above its
// share and claims free partitions up to it.
func (w *Worker) balance(ctx context.Context, errc chan<- error) {
	if ctx.Err() != nil {
		return
	}
	kctx, cancel := context.WithTimeout(ctx, w.cfg.LeaseTTL/2)
	defer cancel()
	if _, err := w.kv.Put(kctx, "w."+w.cfg.ID, []byte(time.Now().UTC().Format(time.RFC3339))); err != nil {
		w.log.Warn("worker heartbeat", "err", err)
	}
	// renew
	w.mu.Lock()
	for p, cl := range w.owned {
		rev, err := w.kv.Update(kctx, claimKey(p), []byte(w.cfg.ID), cl.rev)
		if err != nil {
			w.log.Warn("lost claim", "partition", p, "err", err)
			cl.lost.Store(true)
			close(cl.stop)
			delete(w.owned, p)
			continue
		}
		cl.rev = rev
	}
	owned := len(w.owned)
	w.mu.Unlock()
	share := w.share(kctx)
	for owned > share {
		w.releaseOne()
		owned--
	}
	if owned >= share {
		return
	}
	start := Partition(w.cfg.ID, w.cfg.Partitions)
	for i := 0; i < w.cfg.Partitions && owned < share; i++ {
		p := (start + i) % w.cfg.Partitions
		w.mu.Lock()
		_, mine := w.owned[p]
		w.mu.Unlock()
		if mine {
			continue
		}
		rev, err := w.kv.Create(kctx, claimKey(p), []byte(w.cfg.ID))
		if err != nil {
			continue // held by another worker
		}
		cl := &claim{rev: rev, stop: make(chan struct{}), done: make(chan struct{})}
		w.mu.Lock()
		w.owned[p] = cl
		w.mu.Unlock()
		w.stats.claims.Add(1)
		owned++
		w.log.Info("claimed partition", "partition", p, "worker", w.cfg.ID)
		go func() {
			defer close(cl.done)
			if err := w.runPartition(ctx, p, cl); err != nil && ctx.Err() == nil {
				errc <- fmt.Errorf("jetstream: partition %d: %w", p, err)
			}
		}()
	}
}

// share is ceil(partitions / live workers).
func (w *Worker) share(ctx context.Context) int {
	n := 0
	keys, err := w.kv.ListKeys(ctx)
	if err == nil {
		for k := range keys.Keys() {
			if len(k) > 2 && k[:2] == "w." {
				n++
			}
		}
	}
	if n < 1 {
		n = 1
	}
	return (w.cfg.Partitions + n - 1) / n
}

func claimKey(p int) string { return "p" + strconv.Itoa(p) }

// releaseOne stops the highest partition held and frees its claim.
func (w *Worker) releaseOne() {
	w.mu.Lock()
	hi := -1
	for p := range w.owned {
		hi = max(hi, p)
	}
	cl := w.owned[hi]
	delete(w.owned, hi)
	w.mu.Unlock()
	if cl != nil {
		w.stop(hi, cl)
	}
}

func (w *Worker) releaseAll() {
	w.mu.Lock()
	owned := w.owned
	w.owned = map[int]*claim{}
	w.mu.Unlock()
	for p, cl := range owned {
		w.stop(p, cl)
	}
}

func (w *Worker) stop(p int, cl *claim) {
	close(cl.stop)
	<-cl.done
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := w.kv.Delete(ctx, claimKey(p), js.LastRevision(cl.rev)); err != nil {
		w.log.Warn("releasing claim", "partition", p, "err", err)
	}
	w.log.Info("released partition", "partition", p, "worker", w.cfg.ID)
}

// partitionState is what a worker saves per partition with each batch.
type partitionState struct {
	Version  int             `json:"version"`
	Seq      uint64          `json:"seq"` // stream sequence of the last event processed
	Detector json.RawMessage `json:"detector"`
}

func stateKey(p int) string { return "p" + strconv.Itoa(p) }

// maxStateSize is below NATS's default 1 MB message limit.
const maxStateSize = 1000 << 10

// runPartition processes one partition until stop is closed (after the
// batch in hand) or ctx ends (the batch in hand is given back).
func (w *Worker) runPartition(ctx context.Context, p int, cl *claim) error {
	cons, err := w.c.js.Consumer(ctx, w.cfg.EventStream, w.cfg.consumerName(p))
	if err != nil {
		return err
	}
	dcfg := w.cfg.Detector
	userEval := dcfg.OnEvalError
	dcfg.OnEvalError = func(e *engine.EvalError) {
		w.stats.evalErrors.Add(1)
		w.log.Warn("rule evaluation failed", "partition", p, "err", e)
		if userEval != nil {
			userEval(e)
		}
	}
	det, err := engine.NewDetector(w.cfg.Rules, dcfg)
	if err != nil {
		return err
	}
	var last uint64
	entry, err := w.state.Get(ctx, stateKey(p))
	switch {
	case errors.Is(err, js.ErrKeyNotFound):
	case err != nil:
		return err
	default:
		var st partitionState
		if err := json.Unmarshal(entry.Value(), &st); err != nil {
			return fmt.Errorf("%w: saved state of partition %d: %v", mdr.ErrInvalid, p, err)
		}
		if err := det.Restore(ctx, st.Detector); err != nil {
			return err
		}
		last = st.Seq
	}
	b := mdr.NewBuilder(64)
	var scratch []byte // decompressed bundles, reused (codec.Decode copies what it keeps)
	idleSince := time.Now()
	dirty := last > 0 // events since the last flush (a restored state may hold open windows)
	for ctx.Err() == nil {
		select {
		case <-cl.stop:
			return nil
		default:
		}
		batch, err := cons.Fetch(1, js.FetchMaxWait(250*time.Millisecond))
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		var msgs []js.Msg
		for m := range batch.Messages() {
			msgs = append(msgs, m)
		}
		if err := batch.Error(); err != nil && !errors.Is(err, nats.ErrTimeout) && len(msgs) == 0 && ctx.Err() == nil {
			w.log.Warn("fetch", "partition", p, "err", err)
		}
		if len(msgs) == 0 {
			if dirty && w.cfg.IdleFlush > 0 && time.Since(idleSince) >= w.cfg.IdleFlush {
				as, err := det.Flush(ctx)
				if err != nil {
					return err
				}
				if w.cfg.Stage != nil && len(as) > 0 {
					if err := w.cfg.Stage.Process(ctx, p, nil, as); err != nil {
						return err
					}
					if f, ok := w.cfg.Stage.(Flusher); ok {
						if err := f.Flush(ctx); err != nil {
							return err
						}
					}
				}
				if err := w.emit(ctx, p, nil, as); err != nil {
					return err
				}
				if err := w.save(ctx, p, det, last); err != nil {
					return err
				}
				dirty = false
			}
			continue
		}
		idleSince = time.Now()
		if err := w.batch(ctx, p, det, b, &scratch, msgs, &last, &cl.lost); err != nil {
			if ctx.Err() != nil || errors.Is(err, errLost) {
				giveBack(msgs)
				return nil
			}
			return err
		}
		dirty = true
	}
	return nil
}

// errLost stops a batch whose partition's lease was lost.
var errLost = errors.New("jetstream: partition lease lost")

// giveBack asks for a batch to be redelivered at once (best effort; the
// ack wait does it otherwise).
func giveBack(msgs []js.Msg) {
	for _, m := range msgs {
		_ = m.Nak()
	}
}

// batch processes one fetched batch: detection, the stage, alerts stored
// and published, state saved, then the acknowledgement.
func (w *Worker) batch(ctx context.Context, p int, det *engine.Detector, b *mdr.Builder, scratch *[]byte, msgs []js.Msg, lastp *uint64, lost *atomic.Bool) error {
	last := *lastp
	var alerts []mdr.Alert
	for _, m := range msgs {
		md, err := m.Metadata()
		if err != nil {
			return err
		}
		seq := md.Sequence.Stream
		if seq <= last {
			w.stats.skipped.Add(1)
			continue
		}
		src := m.Subject() + "#" + strconv.FormatUint(seq, 10)
		data, derr := bundleData(m, scratch)
		if derr != nil {
			if err := w.dead(ctx, m, seq, 0, m.Data(), derr); err != nil {
				return err
			}
			last = seq
			continue
		}
		for line := int64(1); len(data) > 0; line++ {
			var raw []byte
			if i := bytes.IndexByte(data, '\n'); i >= 0 {
				raw, data = data[:i], data[i+1:]
			} else {
				raw, data = data, nil
			}
			if len(bytes.TrimSpace(raw)) == 0 {
				continue
			}
			ev, derr := codec.Decode(raw, mdr.Origin{Source: src, Line: line}, b)
			if derr != nil {
				if err := w.dead(ctx, m, seq, line, raw, derr); err != nil {
					return err
				}
				continue
			}
			as, err := det.Process(ctx, ev)
			if err != nil {
				return err
			}
			if w.cfg.Stage != nil {
				if err := w.cfg.Stage.Process(ctx, p, ev, as); err != nil {
					return err
				}
			}
			alerts = append(alerts, as...)
			w.stats.events.Add(1)
		}
		last = seq
	}
	if err := w.emit(ctx, p, nil, alerts); err != nil {
		return err
	}
	if f, ok := w.cfg.Stage.(Flusher); ok {
		if err := f.Flush(ctx); err != nil {
			return err
		}
	}
	if lost.Load() {
		// Another worker may own the partition now: neither the state
		// nor the acknowledgement of this batch may overwrite its own.
		return errLost
	}
	if err := w.save(ctx, p, det, last); err != nil {
		return err
	}
	if err := msgs[len(msgs)-1].Ack(); err != nil {
		return err
	}
	w.stats.batches.Add(1)
	*lastp = last
	return nil
}

// maxBundle bounds a decompressed bundle, whatever its header claims.
const maxBundle = 64 << 20

// bundleData returns a message's JSON lines, decompressing into *scratch
// (reused from message to message) when the publisher compressed it.
func bundleData(m js.Msg, scratch *[]byte) ([]byte, error) {
	enc := m.Headers().Get(EncodingHeader)
	if enc == "" {
		return m.Data(), nil
	}
	if enc != "s2" {
		return nil, fmt.Errorf("%w: unknown %s %q", ErrBundle, EncodingHeader, enc)
	}
	n, err := s2.DecodedLen(m.Data())
	if err != nil {
		return nil, fmt.Errorf("%w: s2: %v", ErrBundle, err)
	}
	if n > maxBundle {
		return nil, fmt.Errorf("%w: s2: %d bytes decompressed, more than %d", ErrBundle, n, maxBundle)
	}
	if cap(*scratch) < n {
		*scratch = make([]byte, n)
	}
	out, err := s2.Decode((*scratch)[:cap(*scratch)], m.Data())
	if err != nil {
		return nil, fmt.Errorf("%w: s2: %v", ErrBundle, err)
	}
	return out, nil
}

// emit writes alerts to the store and publishes them, waiting until the
// alert stream confirmed every one.
func (w *Worker) emit(ctx context.Context, _ int, _ *mdr.Event, alerts []mdr.Alert) error {
	if len(alerts) == 0 {
		return nil
	}
	futs := make([]js.PubAckFuture, 0, len(alerts))
	stageStores := false
	if s, ok := w.cfg.Stage.(interface{ StoresAlerts() bool }); ok {
		stageStores = s.StoresAlerts()
	}
	for i := range alerts {
		a := &alerts[i]
		if !stageStores {
			_, err := w.cfg.Store.PutAlert(ctx, store.AlertRecord{Alert: *a, Status: store.StatusNew, Updated: a.Time})
			if err != nil && !errors.Is(err, mdr.ErrConflict) {
				return fmt.Errorf("storing alert %s: %w", a.ID, err)
			}
		}
		data, err := json.Marshal(a)
		if err != nil {
			return fmt.Errorf("alert %s: %w", a.ID, err)
		}
		f, err := w.c.js.PublishAsync(w.cfg.AlertSubject, data, js.WithMsgID(a.ID))
		if err != nil {
			return fmt.Errorf("publishing alert %s: %w", a.ID, err)
		}
		futs = append(futs, f)
	}
	for _, f := range futs {
		select {
		case <-f.Ok():
		case err := <-f.Err():
			return fmt.Errorf("publishing alert: %w", err)
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	w.stats.alerts.Add(int64(len(alerts)))
	return nil
}

func (w *Worker) save(ctx context.Context, p int, det *engine.Detector, last uint64) error {
	snap, err := det.Snapshot(ctx)
	if err != nil {
		return err
	}
	data, err := json.Marshal(partitionState{Version: 1, Seq: last, Detector: snap})
	if err != nil {
		return err
	}
	if len(data) > maxStateSize {
		return fmt.Errorf("partition %d: detector state is %d bytes, above the %d a state bucket value may hold", p, len(data), maxStateSize)
	}
	_, err = w.state.Put(ctx, stateKey(p), data)
	return err
}

// dead publishes an undecodable line of a message to the dead-letter
// subject with its reason, the message's subject, stream sequence and the
// line's number in it.
func (w *Worker) dead(ctx context.Context, m js.Msg, seq uint64, line int64, raw []byte, reason error) error {
	dm := nats.NewMsg(w.cfg.DeadSubject)
	dm.Data = append([]byte(nil), raw...)
	dm.Header.Set("Mdr-Reason", reason.Error())
	dm.Header.Set("Mdr-Subject", m.Subject())
	dm.Header.Set("Mdr-Stream-Seq", strconv.FormatUint(seq, 10))
	dm.Header.Set("Mdr-Line", strconv.FormatInt(line, 10))
	if _, err := w.c.js.PublishMsg(ctx, dm, js.WithMsgID(fmt.Sprintf("dead-%s-%d-%d", w.cfg.EventStream, seq, line))); err != nil {
		return fmt.Errorf("dead-lettering message %d: %w", seq, err)
	}
	w.stats.dead.Add(1)
	w.log.Warn("dead-lettered", "subject", m.Subject(), "seq", seq, "reason", reason)
	return nil
}
