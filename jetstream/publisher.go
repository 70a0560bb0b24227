package jetstream

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/klauspost/compress/s2"
	"github.com/nats-io/nats.go"
	js "github.com/nats-io/nats.go/jetstream"

	"github.com/mdrkit/mdr"
	"github.com/mdrkit/mdr/reader"
)

// HostOf names the host an event belongs to, for partitioning. The
// publisher's default reads Computer, host.name, hostname and
// device.hostname, in that order.
type HostOf func(ev *mdr.Event) string

func defaultHostOf(ev *mdr.Event) string {
	for _, k := range [...]string{"Computer", "host.name", "hostname", "device.hostname"} {
		if s, ok := ev.Text(k); ok && s != "" {
			return s
		}
	}
	return ""
}

// Publisher publishes events to their partitions, packed into bundles of
// JSON lines (Config.BundleEvents, Config.BundleBytes). It is safe for
// concurrent use.
type Publisher struct {
	c         *conn
	hostOf    HostOf
	published atomic.Int64
	mu        sync.Mutex
	bundles   []bundle
	// inflight are the sent bundles' buffers, oldest first, each kept
	// until the stream acknowledged its message (the client holds the
	// data until then, to retry); free are buffers acknowledged and ready
	// to be filled again, so a steady publisher allocates no bundles.
	inflight []sentBuf
	free     [][]byte
}

// sentBuf is a bundle buffer waiting for its acknowledgement.
type sentBuf struct {
	ack js.PubAckFuture
	buf []byte
}

// bundle is the events of one partition waiting to be sent.
type bundle struct {
	data        []byte
	n           int
	first, last string
}

// NewPublisher connects to url and makes sure the streams exist (Setup).
func NewPublisher(ctx context.Context, url string, cfg Config) (*Publisher, error) {
	c, err := connect(url, cfg, "mdr-publisher")
	if err != nil {
		return nil, err
	}
	if err := c.setup(ctx); err != nil {
		c.close()
		return nil, err
	}
	p := &Publisher{c: c, hostOf: defaultHostOf, bundles: make([]bundle, cfg.Partitions)}
	return p, nil
}

// SetHostOf replaces the function that names an event's host.
func (p *Publisher) SetHostOf(f HostOf) { p.hostOf = f }

// Close sends what is bundled, waits for outstanding acknowledgements and
// closes the connection.
func (p *Publisher) Close() error {
	err := p.Flush(context.Background())
	p.c.close()
	return err
}

// Published returns how many events were published.
func (p *Publisher) Published() int64 { return p.published.Load() }

// PublishRaw adds one event's JSON text to the bundle of host's
// partition (id is its event id), sending the bundle when it is full. Flush
// sends the rest and waits for the stream's acknowledgements.
func (p *Publisher) PublishRaw(host, id string, raw []byte) error {
	part := Partition(host, p.c.cfg.Partitions)
	p.mu.Lock()
	defer p.mu.Unlock()
	b := &p.bundles[part]
	if b.n > 0 && len(b.data)+len(raw)+1 > p.c.cfg.BundleBytes {
		if err := p.send(part); err != nil {
			return err
		}
	}
	if b.n == 0 {
		b.first = id
		if b.data == nil {
			b.data = make([]byte, 0, p.c.cfg.BundleBytes)
		}
	}
	b.last = id
	if bytes.IndexByte(raw, '\n') >= 0 {
		// a pretty-printed array element: one line per event in a bundle
		var buf bytes.Buffer
		if err := json.Compact(&buf, raw); err != nil {
			return fmt.Errorf("jetstream: event %s: %w", id, err)
		}
		raw = buf.Bytes()
	}
	b.data = append(b.data, raw...)
	b.data = append(b.data, '\n')
	b.n++
	p.published.Add(1)
	if b.n >= p.c.cfg.BundleEvents || len(b.data) >= p.c.cfg.BundleBytes {
		return p.send(part)
	}
	return nil
}

// send publishes the bundle of a partition; p.mu is held. The message id
// names the bundle's first and last event and its size, so the same input
// published twice is stored once.
func (p *Publisher) send(part int) error {
	b := &p.bundles[part]
	if b.n == 0 {
		return nil
	}
	m := nats.NewMsg(p.c.cfg.Subject(part))
	var sent []byte // the buffer the client holds until the acknowledgement
	if p.c.cfg.CompressBundles {
		out := p.buffer(s2.MaxEncodedLen(len(b.data)))
		sent = s2.Encode(out[:cap(out)], b.data)
		m.Header.Set(EncodingHeader, "s2")
	} else {
		sent = b.data
	}
	m.Data = sent
	id := fmt.Sprintf("%d:%s:%s:%d", part, b.first, b.last, b.n)
	var f js.PubAckFuture
	for {
		var err error
		f, err = p.c.js.PublishMsgAsync(m, js.WithMsgID(id))
		if errors.Is(err, js.ErrTooManyStalledMsgs) {
			<-p.c.js.PublishAsyncComplete() // the server is behind: wait, then go on
			continue
		}
		if err != nil {
			return fmt.Errorf("jetstream: publishing %d events to partition %d: %w", b.n, part, err)
		}
		break
	}
	p.inflight = append(p.inflight, sentBuf{ack: f, buf: sent})
	if p.c.cfg.CompressBundles {
		*b = bundle{data: b.data[:0]} // the compressed copy was sent
	} else {
		*b = bundle{data: p.buffer(p.c.cfg.BundleBytes)}
	}
	return nil
}

// buffer returns an empty buffer of at least capacity n: one whose message
// the stream acknowledged, or a new one. A buffer whose publication failed is left
// to the garbage collector, since the client may still hold it.
func (p *Publisher) buffer(n int) []byte {
	k := 0
	for ; k < len(p.inflight); k++ {
		s := p.inflight[k]
		select {
		case <-s.ack.Ok():
			p.free = append(p.free, s.buf[:0])
		case <-s.ack.Err():
		default:
			goto pending
		}
		p.inflight[k] = sentBuf{}
	}
pending:
	if k > 0 {
		n := copy(p.inflight, p.inflight[k:])
		clear(p.inflight[n:])
		p.inflight = p.inflight[:n]
	}
	for len(p.free) > 0 {
		k := len(p.free) - 1
		buf := p.free[k]
		p.free[k] = nil
		p.free = p.free[:k]
		if cap(buf) >= n {
			return buf
		}
	}
	return make([]byte, 0, max(n, p.c.cfg.BundleBytes))
}

// Flush sends every bundle and waits until the stream acknowledged every
// message, or ctx ends.
func (p *Publisher) Flush(ctx context.Context) error {
	p.mu.Lock()
	for part := range p.bundles {
		if err := p.send(part); err != nil {
			p.mu.Unlock()
			return err
		}
	}
	p.mu.Unlock()
	select {
	case <-p.c.js.PublishAsyncComplete():
		if e := p.c.asyncErr.Load(); e != nil {
			return *e
		}
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// PublishFiles reads event files (NDJSON, JSON arrays, gzip; "-" is
// standard input) and publishes every event as it arrived, with its event
// id as message id, then waits for the acknowledgements. progress, when
// set, is called every 100,000 events with the count so far.
func (p *Publisher) PublishFiles(ctx context.Context, files []string, opts reader.Options, progress func(int64)) (int64, error) {
	var n int64
	for _, f := range files {
		r, err := reader.Open(f, opts)
		if err != nil {
			return n, err
		}
		for r.Next() {
			if n%1024 == 0 {
				if err := ctx.Err(); err != nil {
					r.Close()
					return n, err
				}
			}
			ev := r.Event()
			if err := p.PublishRaw(p.hostOf(ev), ev.ID(), r.Raw()); err != nil {
				r.Close()
				return n, err
			}
			n++
			if progress != nil && n%100_000 == 0 {
				progress(n)
			}
		}
		err = r.Err()
		r.Close()
		if err != nil {
			return n, err
		}
	}
	return n, p.Flush(ctx)
}
