package jetstream

import (
	"context"
	"fmt"
	"sync/atomic"

	"github.com/nats-io/nats.go"
	js "github.com/nats-io/nats.go/jetstream"
)

// conn is a NATS connection with its JetStream context.
type conn struct {
	nc  *nats.Conn
	js  js.JetStream
	cfg Config
	// asyncErr holds the first error of an asynchronous publish.
	asyncErr atomic.Pointer[error]
}

func connect(url string, cfg Config, name string) (*conn, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	nc, err := nats.Connect(url, nats.Name(name), nats.MaxReconnects(-1))
	if err != nil {
		return nil, fmt.Errorf("jetstream: connecting to %s: %w", url, err)
	}
	c := &conn{nc: nc, cfg: cfg}
	j, err := js.New(nc, js.WithPublishAsyncMaxPending(4096), js.WithPublishAsyncErrHandler(func(_ js.JetStream, m *nats.Msg, err error) {
		e := fmt.Errorf("jetstream: publishing to %s: %w", m.Subject, err)
		c.asyncErr.CompareAndSwap(nil, &e)
	}))
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("jetstream: %w", err)
	}
	c.js = j
	return c, nil
}

func (c *conn) close() { c.nc.Close() }

// Setup creates or updates the event, alert and dead-letter streams, the
// durable consumer of every partition and the claim bucket. Producers and
// workers call it on start; it is idempotent.
func Setup(ctx context.Context, url string, cfg Config) error {
	c, err := connect(url, cfg, "mdr-setup")
	if err != nil {
		return err
	}
	defer c.close()
	return c.setup(ctx)
}

func (c *conn) setup(ctx context.Context) error {
	cfg := c.cfg
	streams := []js.StreamConfig{
		{Name: cfg.EventStream, Subjects: []string{cfg.EventSubject + ".*"}},
		{Name: cfg.AlertStream, Subjects: []string{cfg.AlertSubject}},
		{Name: cfg.DeadStream, Subjects: []string{cfg.DeadSubject}},
	}
	for _, s := range streams {
		s.Storage = js.FileStorage
		s.Duplicates = cfg.DuplicateWindow
		s.Replicas = cfg.Replicas
		if _, err := c.js.CreateOrUpdateStream(ctx, s); err != nil {
			return fmt.Errorf("jetstream: stream %s: %w", s.Name, err)
		}
	}
	for p := range cfg.Partitions {
		_, err := c.js.CreateOrUpdateConsumer(ctx, cfg.EventStream, js.ConsumerConfig{
			Durable:       cfg.consumerName(p),
			FilterSubject: cfg.Subject(p),
			AckPolicy:     js.AckAllPolicy,
			AckWait:       cfg.AckWait,
			MaxAckPending: 1, // see Config.AckWait
			DeliverPolicy: js.DeliverAllPolicy,
		})
		if err != nil {
			return fmt.Errorf("jetstream: consumer of partition %d: %w", p, err)
		}
	}
	_, err := c.js.CreateOrUpdateKeyValue(ctx, js.KeyValueConfig{Bucket: cfg.ClaimBucket, TTL: cfg.LeaseTTL, Storage: js.FileStorage, Replicas: cfg.Replicas})
	if err != nil {
		return fmt.Errorf("jetstream: claim bucket %s: %w", cfg.ClaimBucket, err)
	}
	_, err = c.js.CreateOrUpdateKeyValue(ctx, js.KeyValueConfig{Bucket: cfg.StateBucket, History: 1, Storage: js.FileStorage, Replicas: cfg.Replicas})
	if err != nil {
		return fmt.Errorf("jetstream: state bucket %s: %w", cfg.StateBucket, err)
	}
	return nil
}
