package jetstream

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"

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

// Publisher publishes events to their partitions. It is safe for
// concurrent use.
type Publisher struct {
	c         *conn
	hostOf    HostOf
	published atomic.Int64
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
	return &Publisher{c: c, hostOf: defaultHostOf}, nil
}

// SetHostOf replaces the function that names an event's host.
func (p *Publisher) SetHostOf(f HostOf) { p.hostOf = f }

// Close waits for outstanding acknowledgements and closes the connection.
func (p *Publisher) Close() error {
	<-p.c.js.PublishAsyncComplete()
	p.c.close()
	return nil
}

// Published returns how many events were published.
func (p *Publisher) Published() int64 { return p.published.Load() }

// PublishRaw publishes one event's JSON text to the partition of host,
// with id as its message id. It returns once the message is handed to the
// connection; Flush waits for the stream's acknowledgements.
func (p *Publisher) PublishRaw(host, id string, raw []byte) error {
	m := nats.NewMsg(p.c.cfg.Subject(Partition(host, p.c.cfg.Partitions)))
	m.Data = raw
	var opts []js.PublishOpt
	if id != "" {
		opts = append(opts, js.WithMsgID(id))
	}
	for {
		_, err := p.c.js.PublishMsgAsync(m, opts...)
		if errors.Is(err, js.ErrTooManyStalledMsgs) {
			<-p.c.js.PublishAsyncComplete() // the server is behind: wait, then go on
			continue
		}
		if err != nil {
			return fmt.Errorf("jetstream: publishing event %s: %w", id, err)
		}
		break
	}
	p.published.Add(1)
	return nil
}

// Flush waits until the stream acknowledged every published event, or ctx
// ends.
func (p *Publisher) Flush(ctx context.Context) error {
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
			raw := append([]byte(nil), r.Raw()...)
			if err := p.PublishRaw(p.hostOf(ev), ev.ID(), raw); err != nil {
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
