package jetstream

import (
	"fmt"
	"hash/fnv"
	"strings"
	"time"
)

// Config names the streams and subjects and sets the partitioning. It is a
// plain value; start from DefaultConfig and check it with Validate.
type Config struct {
	// Partitions is the number of event partitions (subjects and durable
	// consumers). Every producer and worker must agree on it.
	Partitions int `json:"partitions" yaml:"partitions"`
	// EventSubject is the prefix of the event subjects: events of
	// partition p go to EventSubject + "." + p.
	EventSubject string `json:"event_subject" yaml:"event_subject"`
	// EventStream, AlertStream and DeadStream name the streams.
	EventStream string `json:"event_stream" yaml:"event_stream"`
	AlertStream string `json:"alert_stream" yaml:"alert_stream"`
	DeadStream  string `json:"dead_stream" yaml:"dead_stream"`
	// AlertSubject and DeadSubject are where alerts and undecodable
	// messages go.
	AlertSubject string `json:"alert_subject" yaml:"alert_subject"`
	DeadSubject  string `json:"dead_subject" yaml:"dead_subject"`
	// ClaimBucket is the key-value bucket of partition leases;
	// StateBucket the one that keeps each partition's position and
	// detector state, so that whichever worker claims a partition next
	// resumes from it.
	ClaimBucket string `json:"claim_bucket" yaml:"claim_bucket"`
	StateBucket string `json:"state_bucket" yaml:"state_bucket"`
	// LeaseTTL is how long a partition stays claimed without renewal.
	LeaseTTL time.Duration `json:"lease_ttl" yaml:"lease_ttl"`
	// AckWait is how long the server waits for a message's
	// acknowledgement before redelivering it. Each partition's consumer
	// has at most one message unacknowledged, so a worker that takes a
	// partition over receives a dead worker's message again before
	// anything after it: the order of a host's events is kept, and an
	// acknowledgement never covers a message nobody processed.
	AckWait time.Duration `json:"ack_wait" yaml:"ack_wait"`
	// BundleEvents and BundleBytes bound the events a publisher packs into
	// one message (as JSON lines) for one partition: per-message costs of
	// the server dominate for single events.
	BundleEvents int `json:"bundle_events" yaml:"bundle_events"`
	BundleBytes  int `json:"bundle_bytes" yaml:"bundle_bytes"`
	// CompressBundles makes the publisher compress each bundle with S2
	// (header Mdr-Encoding: s2): JSON event logs shrink several times,
	// and the server copies, stores and sends that many fewer bytes.
	// Workers read both forms, whatever their own setting.
	CompressBundles bool `json:"compress_bundles" yaml:"compress_bundles"`
	// DuplicateWindow is how long the streams remember message ids.
	DuplicateWindow time.Duration `json:"duplicate_window" yaml:"duplicate_window"`
	// Replicas of each stream (1 on a single server).
	Replicas int `json:"replicas" yaml:"replicas"`
}

// DefaultConfig returns 16 partitions on "mdr.events.<p>", alerts on
// "mdr.alerts", dead letters on "mdr.dead", 10 s leases, bundles of up to
// 512 events or 512 KiB compressed with S2, a 30 s ack wait and a
// 10 min duplicate window.
func DefaultConfig() Config {
	return Config{
		Partitions:      16,
		EventSubject:    "mdr.events",
		EventStream:     "MDR_EVENTS",
		AlertStream:     "MDR_ALERTS",
		DeadStream:      "MDR_DEAD",
		AlertSubject:    "mdr.alerts",
		DeadSubject:     "mdr.dead",
		ClaimBucket:     "MDR_CLAIMS",
		StateBucket:     "MDR_STATE",
		LeaseTTL:        10 * time.Second,
		BundleEvents:    512,
		BundleBytes:     512 << 10,
		CompressBundles: true,
		AckWait:         30 * time.Second,
		DuplicateWindow: 10 * time.Minute,
		Replicas:        1,
	}
}

// Validate reports the first field that is out of range.
func (c Config) Validate() error {
	switch {
	case c.Partitions < 1 || c.Partitions > 4096:
		return fmt.Errorf("%w: partitions must be 1..4096, got %d", ErrConfig, c.Partitions)
	case c.EventSubject == "" || strings.ContainsAny(c.EventSubject, "*> "):
		return fmt.Errorf("%w: event_subject %q", ErrConfig, c.EventSubject)
	case c.EventStream == "" || c.AlertStream == "" || c.DeadStream == "" || c.ClaimBucket == "" || c.StateBucket == "":
		return fmt.Errorf("%w: stream and bucket names must be set", ErrConfig)
	case c.AlertSubject == "" || c.DeadSubject == "":
		return fmt.Errorf("%w: alert_subject and dead_subject must be set", ErrConfig)
	case c.LeaseTTL < 500*time.Millisecond:
		return fmt.Errorf("%w: lease_ttl must be at least 500ms, got %s", ErrConfig, c.LeaseTTL)
	case c.BundleEvents < 1 || c.BundleBytes < 1024 || c.BundleBytes > 900<<10:
		return fmt.Errorf("%w: bundle_events must be at least 1 and bundle_bytes 1 KiB..900 KiB, got %d and %d", ErrConfig, c.BundleEvents, c.BundleBytes)
	case c.AckWait < time.Second:
		return fmt.Errorf("%w: ack_wait must be at least 1s, got %s", ErrConfig, c.AckWait)
	case c.DuplicateWindow <= 0:
		return fmt.Errorf("%w: duplicate_window must be positive", ErrConfig)
	case c.Replicas < 1 || c.Replicas > 5:
		return fmt.Errorf("%w: replicas must be 1..5, got %d", ErrConfig, c.Replicas)
	}
	return nil
}

// Partition returns the partition of a host: FNV-1a of the lower-cased
// name modulo n. Events without a host go to partition 0.
func Partition(host string, n int) int {
	if n <= 1 || host == "" {
		return 0
	}
	// FNV-1a inline, lower-casing ASCII on the fly: no allocation per
	// event. Other names go through strings.ToLower, as before.
	const offset, prime = 2166136261, 16777619
	h := uint32(offset)
	for i := 0; i < len(host); i++ {
		c := host[i]
		if c >= 0x80 {
			return int(fnv32a(strings.ToLower(host)) % uint32(n))
		}
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		h = (h ^ uint32(c)) * prime
	}
	return int(h % uint32(n))
}

func fnv32a(s string) uint32 {
	h := fnv.New32a()
	h.Write([]byte(s))
	return h.Sum32()
}

// Subject returns the event subject of partition p.
func (c Config) Subject(p int) string { return fmt.Sprintf("%s.%d", c.EventSubject, p) }

// consumerName returns the durable consumer name of partition p.
func (c Config) consumerName(p int) string { return fmt.Sprintf("%s-p%d", c.EventStream, p) }

// EncodingHeader is the message header that names how an event bundle is
// compressed ("s2"); a bundle without it is plain JSON lines.
const EncodingHeader = "Mdr-Encoding"
