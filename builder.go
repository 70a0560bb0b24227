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
	// index maps keys to field positions once an event has more fields than
	// indexFrom and a bucket collision needs a search: without it, the
	// duplicate check of a wide event would rescan every field on every
	// Add (quadratic). It is kept, cleared, for the next wide event.
	index   map[string]int32
	indexed bool
}

// indexFrom is the number of fields above which a bucket collision builds
// the key index instead of scanning the fields (below it, a scan of a few
// cache lines beats hashing into a map).
const indexFrom = 64

// NewBuilder returns a builder with room for n fields.
func NewBuilder(n int) *Builder { return &Builder{fields: make([]Field, 0, n)} }

// Reset clears the builder for a new event.
func (b *Builder) Reset() {
	b.fields = b.fields[:0]
	b.seen = [4]uint64{}
	b.dup = false
	if b.indexed {
		clear(b.index)
		b.indexed = false
	}
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
//
// The duplicate check costs nothing for most keys of a small event (a bit
// per key-hash bucket) and is linear in the number of fields overall: past
// indexFrom fields it uses a map from key to position.
func (b *Builder) Add(key string, v Value) {
	if b.indexed {
		if i, ok := b.index[key]; ok {
			b.fields[i].Value = v
			b.dup = true
			return
		}
		b.index[key] = int32(len(b.fields))
		b.fields = append(b.fields, Field{Key: key, Value: v})
		return
	}
	bk := keyBucket(key)
	word, bit := bk>>6, uint64(1)<<(bk&63)
	if b.seen[word]&bit != 0 {
		if len(b.fields) > indexFrom {
			b.buildIndex()
			b.Add(key, v)
			return
		}
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

// buildIndex indexes the fields added so far (their keys are distinct).
func (b *Builder) buildIndex() {
	if b.index == nil {
		b.index = make(map[string]int32, 2*len(b.fields))
	}
	for i := range b.fields {
		b.index[b.fields[i].Key] = int32(i)
	}
	b.indexed = true
}

// Len returns the number of fields added so far.
func (b *Builder) Len() int { return len(b.fields) }

// Finish returns the event. Its time is taken from the first of TimeFields
// that parses; its id from the first of IDFields that is present, else from
// a Windows record's number, computer and channel (WindowsRecordFields),
// else a content hash of raw (or of the fields when raw is nil). The builder keeps
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

// IDFields are the fields that hold a source's own identifier of one event
// (one record), in order of preference. Only fields whose values identify
// one event and never something else may serve; the first present with a
// string or number value becomes the id:
//
//   - "_id": the document id of an exporter or index (Elasticsearch,
//     OpenSearch, the shared data sets);
//   - "event.id": ECS, "unique ID to describe the event";
//   - "metadata.uid": OCSF, "the logging system-assigned unique identifier
//     of an event instance".
//
// Windows records (Windows Security, Sysmon, and Sysmon for Linux, flat or
// as written by Winlogbeat under winlog.*) are identified by EventRecordID
// together with Computer and Channel (a record number counts per channel
// and per machine); see WindowsRecordFields. auditd has no per-record id: its
// serial (audit_serial, msg=audit(…:serial)) is shared by every record of one
// audit event (SYSCALL, EXECVE, CWD, PATH …), so auditd records take the
// content hash. Fields such as "id", "uid" (on auditd the Unix user id),
// "EventId" or "EventID" (the event type) are never ids.
//
// An id from a string field is the string itself; from a number it is
// marked with its kind ("n:" integer, "f:" other number), and a string id
// that begins with one of the prefixes reserved for derived ids ("h:", "n:",
// "f:", "s:", "w:") is written "s:" + the string; so a string, an integer and
// a float never share an id, and neither do a source's id and a derived one.
// Without an id field the id is "h:" and a hash of the event's content.
var IDFields = []string{"_id", "event.id", "metadata.uid"}

// WindowsRecordFields are the field triples (record number, computer,
// channel) that identify a Windows event record when no IDFields is present,
// flat as in EVTX exports and under winlog.* as Winlogbeat writes them. The
// id is "w:" + the computer's length + ":" + computer + "/" + channel + "/"
// + record number, the computer name and channel as they appear (so it
// cannot be forged by a computer name holding a slash), the record number as
// a decimal integer whether it arrived as a number or a numeric string.
var WindowsRecordFields = [][3]string{
	{"EventRecordID", "Computer", "Channel"},
	{"winlog.record_id", "winlog.computer_name", "winlog.channel"},
}

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
			if id, ok := idOf(v); ok {
				return id
			}
		}
	}
	for _, w := range WindowsRecordFields {
		if id, ok := windowsRecordID(e, w); ok {
			return id
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

// idOf renders an id field's value (see IDFields); other kinds (null,
// booleans, lists, objects) and empty strings are not ids.
func idOf(v Value) (string, bool) {
	switch v.Kind() {
	case KindString:
		s, _ := v.Str()
		if s == "" {
			return "", false
		}
		if len(s) >= 2 && s[1] == ':' {
			switch s[0] {
			case 'h', 'n', 'f', 's', 'w':
				return "s:" + s, true
			}
		}
		return s, true
	case KindInt:
		i, _ := v.Int()
		return "n:" + strconv.FormatInt(i, 10), true
	case KindFloat:
		f, _ := v.Float()
		return "f:" + strconv.FormatFloat(f, 'g', -1, 64), true
	}
	return "", false
}

// windowsRecordID is the id of a Windows record from its record number,
// computer and channel, when all three are present.
func windowsRecordID(e *Event, w [3]string) (string, bool) {
	rv, ok := e.Get(w[0])
	if !ok {
		return "", false
	}
	var rec int64
	switch rv.Kind() {
	case KindInt, KindString:
		if rec, ok = rv.Int(); !ok {
			return "", false
		}
	default:
		return "", false
	}
	computer, ok1 := e.String(w[1])
	channel, ok2 := e.String(w[2])
	if !ok1 || !ok2 || computer == "" || channel == "" {
		return "", false
	}
	return "w:" + strconv.Itoa(len(computer)) + ":" + computer + "/" + channel + "/" + strconv.FormatInt(rec, 10), true
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
