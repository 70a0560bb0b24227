package mdr

import (
	"encoding/binary"
	"math/bits"
	"strconv"
	"time"
)

// Builder assembles an Event field by field. Readers and codecs use it; so can
// a host product that receives events in its own format. A Builder is not
// safe for concurrent use; after Finish it may be reused for the next event.
type Builder struct {
	fields []Field
	seen   [4]uint64 // one bit per key-hash bucket, for cheap duplicate detection
	dup    bool
}

// NewBuilder returns a builder with room for n fields.
func NewBuilder(n int) *Builder { return &Builder{fields: make([]Field, 0, n)} }

// Reset clears the builder for a new event.
func (b *Builder) Reset() {
	b.fields = b.fields[:0]
	b.seen = [4]uint64{}
	b.dup = false
}

// keyBucket hashes a key into one of 256 buckets from its length and a few
// of its bytes: cheap, and enough to make false collisions rare.
func keyBucket(k string) uint8 {
	n := len(k)
	if n == 0 {
		return 0
	}
	h := uint32(n)*0x9E3779B1 ^ uint32(k[0])<<8 ^ uint32(k[n-1])<<16 ^ uint32(k[n/2])<<24 ^ uint32(k[(n-1)/3])
	h *= 0x85EBCA6B
	return uint8(h >> 24)
}

// Add sets key to v. A key that was already added is replaced in place (the
// last occurrence wins) and the event is flagged as having duplicate keys.
func (b *Builder) Add(key string, v Value) {
	bk := keyBucket(key)
	word, bit := bk>>6, uint64(1)<<(bk&63)
	if b.seen[word]&bit != 0 {
		for i := range b.fields {
			if b.fields[i].Key == key {
				b.fields[i].Value = v
				b.dup = true
				return
			}
		}
	}
	b.seen[word] |= bit
	b.fields = append(b.fields, Field{Key: key, Value: v})
}

// Len returns the number of fields added so far.
func (b *Builder) Len() int { return len(b.fields) }

// Finish returns the event. Its time is taken from the first of TimeFields
// that parses; its id from the first of IDFields that is present, else a
// content hash of raw (or of the fields when raw is nil). The builder keeps
// no reference to the returned event's fields.
func (b *Builder) Finish(origin Origin, raw []byte) *Event {
	e := &Event{fields: b.take(), origin: origin, dup: b.dup}
	e.time = eventTime(e)
	e.id = eventID(e, raw)
	b.Reset()
	return e
}

// FinishAs returns the event with the given id and time instead of those
// derived from its fields: for stores and codecs that rebuild an event they
// already identified once.
func (b *Builder) FinishAs(origin Origin, id string, t time.Time) *Event {
	e := &Event{fields: b.take(), origin: origin, dup: b.dup, id: id, time: t}
	b.Reset()
	return e
}

// SetDuplicateKeys marks the event being built as having had duplicate keys
// (for codecs that rebuild an event flagged before).
func (b *Builder) SetDuplicateKeys() { b.dup = true }

// take hands the built fields to an event and starts a fresh slice sized
// for an event like this one (no copy of the fields).
func (b *Builder) take() []Field {
	fs := b.fields[:len(b.fields):len(b.fields)]
	b.fields = make([]Field, 0, len(fs)+2)
	return fs
}

// NewEvent builds an event from fields in order (a convenience for tests,
// generators and host products). Later duplicates replace earlier ones.
func NewEvent(origin Origin, fields ...Field) *Event {
	b := NewBuilder(len(fields))
	for _, f := range fields {
		b.Add(f.Key, f.Value)
	}
	return b.Finish(origin, nil)
}

// TimeFields are the fields an event's time is read from, in order of
// preference: ECS @timestamp, Sysmon UtcTime, Windows TimeCreated, OCSF time,
// and common others.
var TimeFields = []string{"@timestamp", "UtcTime", "TimeCreated", "time", "timestamp", "EventTime", "TimeGenerated", "event.created", "_time", "date"}

// IDFields are the fields holding a source's own event id, in order.
var IDFields = []string{"_id", "event.id", "metadata.uid", "EventId", "id", "uid"}

func eventTime(e *Event) (t time.Time) {
	for _, name := range TimeFields {
		v, ok := e.Get(name)
		if !ok {
			continue
		}
		if tt, err := TimeOf(v); err == nil {
			return tt
		}
	}
	return t
}

func eventID(e *Event, raw []byte) string {
	for _, name := range IDFields {
		if v, ok := e.Get(name); ok {
			if s := v.Text(); s != "" && !v.IsNull() {
				return s
			}
		}
	}
	var h uint64
	if raw != nil {
		h = ContentHash(raw, 0)
	} else {
		for _, f := range e.fields {
			h = ContentHash([]byte(f.Key), h)
			h = ContentHash([]byte(f.Value.Text()), h)
		}
	}
	return "h:" + strconv.FormatUint(h, 16)
}

// ContentHash is a fast, stable (process- and platform-independent) 64-bit
// hash used for content ids. It is not cryptographic.
func ContentHash(p []byte, seed uint64) uint64 {
	const m1, m2 = 0xa0761d6478bd642f, 0xe7037ed1a0b428db
	h := seed ^ m1 ^ uint64(len(p))*m2
	for len(p) >= 8 {
		x := binary.LittleEndian.Uint64(p)
		hi, lo := bits.Mul64(x^m1, h^m2)
		h = hi ^ lo
		p = p[8:]
	}
	var tail uint64
	for i := len(p) - 1; i >= 0; i-- {
		tail = tail<<8 | uint64(p[i])
	}
	hi, lo := bits.Mul64(tail^m2, h^m1)
	return hi ^ lo
}
