package badger

import (
	"encoding/binary"
	"errors"
	"math"
	"slices"
	"time"

	"github.com/mdrkit/mdr"
)

// Event values (layout version 1):
//
//	uvarint len(id) | id
//	flags byte: 1 = duplicate keys, 2 = has time
//	[varint unix seconds | uvarint nanoseconds]      when flags&2
//	uvarint len(source) | source | varint line
//	uvarint number of fields | (uvarint len(key) | key | value)...
//
// A value is a tag byte and its payload: tagNull, tagFalse, tagTrue;
// tagInt + zig-zag varint; tagFloat + 8 bytes little-endian IEEE bits;
// tagString + uvarint len + bytes; tagList + uvarint n + n values;
// tagObject + uvarint n + n (key, value) pairs.
const (
	tagNull byte = iota
	tagFalse
	tagTrue
	tagInt
	tagFloat
	tagString
	tagList
	tagObject
)

const (
	flagDup  = 1
	flagTime = 2
)

// maxDepth bounds nesting on decode so a damaged value cannot recurse
// without end.
const maxDepth = 256

var errShort = errors.New("value ends early")

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func appendTime(b []byte, t time.Time) []byte {
	b = binary.AppendVarint(b, t.Unix())
	return binary.AppendUvarint(b, uint64(t.Nanosecond()))
}

// appendEvent appends the encoding of e to b.
func appendEvent(b []byte, e *mdr.Event) []byte {
	b = appendString(b, e.ID())
	var flags byte
	if e.DuplicateKeys() {
		flags |= flagDup
	}
	t := e.Time()
	if !t.IsZero() {
		flags |= flagTime
	}
	b = append(b, flags)
	if !t.IsZero() {
		b = appendTime(b, t)
	}
	o := e.Origin()
	b = appendString(b, o.Source)
	b = binary.AppendVarint(b, o.Line)
	n := e.Len()
	b = binary.AppendUvarint(b, uint64(n))
	for i := range n {
		f := e.Field(i)
		b = appendString(b, f.Key)
		b = appendValue(b, f.Value)
	}
	return b
}

func appendValue(b []byte, v mdr.Value) []byte {
	switch v.Kind() {
	case mdr.KindBool:
		if x, _ := v.Bool(); x {
			return append(b, tagTrue)
		}
		return append(b, tagFalse)
	case mdr.KindInt:
		i, _ := v.Int()
		return binary.AppendVarint(append(b, tagInt), i)
	case mdr.KindFloat:
		f, _ := v.Float()
		return binary.LittleEndian.AppendUint64(append(b, tagFloat), math.Float64bits(f))
	case mdr.KindString:
		s, _ := v.Str()
		return appendString(append(b, tagString), s)
	case mdr.KindList:
		l, _ := v.List()
		b = binary.AppendUvarint(append(b, tagList), uint64(len(l)))
		for _, e := range l {
			b = appendValue(b, e)
		}
		return b
	case mdr.KindObject:
		ms, _ := v.Members()
		b = binary.AppendUvarint(append(b, tagObject), uint64(len(ms)))
		for _, m := range ms {
			b = appendString(b, m.Key)
			b = appendValue(b, m.Value)
		}
		return b
	}
	return append(b, tagNull)
}

// decoder reads an encoded value held in one string, so every decoded
// string is a substring of it (one allocation per event for all strings).
type decoder struct {
	s   string
	pos int
	err error
}

func (d *decoder) fail(err error) {
	if d.err == nil {
		d.err = err
	}
}

func (d *decoder) uvarint() uint64 {
	if d.pos < len(d.s) && d.s[d.pos] < 0x80 && d.err == nil {
		c := d.s[d.pos] // one byte: most lengths and counts
		d.pos++
		return uint64(c)
	}
	return d.uvarintSlow()
}

func (d *decoder) uvarintSlow() uint64 {
	if d.err != nil {
		return 0
	}
	var x uint64
	var shift uint
	for i := 0; i < binary.MaxVarintLen64; i++ {
		if d.pos >= len(d.s) {
			d.fail(errShort)
			return 0
		}
		c := d.s[d.pos]
		d.pos++
		if c < 0x80 {
			if i == binary.MaxVarintLen64-1 && c > 1 {
				break
			}
			return x | uint64(c)<<shift
		}
		x |= uint64(c&0x7f) << shift
		shift += 7
	}
	d.fail(errors.New("varint overflows 64 bits"))
	return 0
}

func (d *decoder) varint() int64 {
	ux := d.uvarint()
	x := int64(ux >> 1)
	if ux&1 != 0 {
		x = ^x
	}
	return x
}

func (d *decoder) byte1() byte {
	if d.err != nil {
		return 0
	}
	if d.pos >= len(d.s) {
		d.fail(errShort)
		return 0
	}
	c := d.s[d.pos]
	d.pos++
	return c
}

func (d *decoder) str() string {
	if p := d.pos; p < len(d.s) && d.s[p] < 0x80 && d.err == nil {
		// one-byte length
		if n := int(d.s[p]); n <= len(d.s)-p-1 {
			d.pos = p + 1 + n
			return d.s[p+1 : p+1+n]
		}
	}
	n := d.uvarint()
	if d.err != nil {
		return ""
	}
	if n > uint64(len(d.s)-d.pos) {
		d.fail(errShort)
		return ""
	}
	s := d.s[d.pos : d.pos+int(n)]
	d.pos += int(n)
	return s
}

// count reads an element count and checks it against the bytes left (each
// element takes at least one byte), so a damaged count cannot allocate much.
func (d *decoder) count() int {
	n := d.uvarint()
	if d.err == nil && n > uint64(len(d.s)-d.pos) {
		d.fail(errors.New("element count larger than the value"))
		return 0
	}
	return int(n)
}

func (d *decoder) time() time.Time {
	sec := d.varint()
	nsec := d.uvarint()
	if d.err == nil && nsec >= 1e9 {
		d.fail(errors.New("nanoseconds out of range"))
	}
	return time.Unix(sec, int64(nsec)).UTC()
}

func (d *decoder) value(depth int) mdr.Value {
	if depth > maxDepth {
		d.fail(errors.New("nesting too deep"))
		return mdr.Null()
	}
	switch tag := d.byte1(); tag {
	case tagNull:
		return mdr.Null()
	case tagFalse:
		return mdr.Bool(false)
	case tagTrue:
		return mdr.Bool(true)
	case tagInt:
		return mdr.Int(d.varint())
	case tagFloat:
		if d.err == nil && len(d.s)-d.pos < 8 {
			d.fail(errShort)
		}
		if d.err != nil {
			return mdr.Null()
		}
		bits := uint64(d.s[d.pos]) | uint64(d.s[d.pos+1])<<8 | uint64(d.s[d.pos+2])<<16 | uint64(d.s[d.pos+3])<<24 |
			uint64(d.s[d.pos+4])<<32 | uint64(d.s[d.pos+5])<<40 | uint64(d.s[d.pos+6])<<48 | uint64(d.s[d.pos+7])<<56
		d.pos += 8
		return mdr.Float(math.Float64frombits(bits))
	case tagString:
		return mdr.String(d.str())
	case tagList:
		n := d.count()
		l := make([]mdr.Value, 0, n)
		for range n {
			l = append(l, d.value(depth+1))
		}
		return mdr.List(l)
	case tagObject:
		n := d.count()
		if n == 0 {
			return mdr.EmptyObjectValue()
		}
		ms := make([]mdr.Field, 0, n)
		for range n {
			k := d.str()
			ms = append(ms, mdr.Field{Key: k, Value: d.value(depth + 1)})
		}
		return mdr.Object(ms)
	default:
		if d.err == nil {
			d.fail(errors.New("unknown value tag"))
		}
		return mdr.Null()
	}
}

// decodeEvent rebuilds an event from its encoding; b is a reusable builder.
func decodeEvent(val []byte, b *mdr.Builder) (*mdr.Event, error) {
	return decodeEventString(string(val), b)
}

// decodeEventString is decodeEvent over an encoding the event may keep
// (every string of the event points into it).
func decodeEventString(val string, b *mdr.Builder) (*mdr.Event, error) {
	d := decoder{s: val}
	id := d.str()
	flags := d.byte1()
	var t time.Time
	if flags&flagTime != 0 {
		t = d.time()
	}
	var o mdr.Origin
	o.Source = d.str()
	o.Line = d.varint()
	n := d.count()
	if d.err != nil {
		return nil, d.err
	}
	b.Reset()
	for range n {
		k := d.str()
		v := d.value(0)
		if d.err != nil {
			b.Reset()
			return nil, d.err
		}
		b.Add(k, v)
	}
	if d.pos != len(d.s) {
		b.Reset()
		return nil, errors.New("trailing bytes after the event")
	}
	if flags&flagDup != 0 {
		b.SetDuplicateKeys()
	}
	return b.FinishAs(o, id, t), nil
}

// eventID reads only the id at the start of an encoded event.
func eventID(val []byte) (string, error) {
	n, k := binary.Uvarint(val)
	if k <= 0 || n > uint64(len(val)-k) {
		return "", errShort
	}
	return string(val[k : k+int(n)]), nil
}

// Relation values: kind byte | from | to | flags (2 = has time) | [time] |
// event id | uvarint n | n (key, value) attributes in key order.
func appendRelation(b []byte, r *mdr.Relation) []byte {
	b = append(b, byte(r.Kind))
	b = appendString(b, r.From)
	b = appendString(b, r.To)
	if r.Time.IsZero() {
		b = append(b, 0)
	} else {
		b = appendTime(append(b, flagTime), r.Time)
	}
	b = appendString(b, r.EventID)
	b = binary.AppendUvarint(b, uint64(len(r.Attrs)))
	keys := make([]string, 0, len(r.Attrs))
	for k := range r.Attrs {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		b = appendString(b, k)
		b = appendString(b, r.Attrs[k])
	}
	return b
}

func decodeRelation(val []byte) (mdr.Relation, error) {
	d := decoder{s: string(val)}
	var r mdr.Relation
	r.Kind = mdr.RelationKind(d.byte1())
	r.From = d.str()
	r.To = d.str()
	if d.byte1()&flagTime != 0 {
		r.Time = d.time()
	}
	r.EventID = d.str()
	if n := d.count(); n > 0 {
		r.Attrs = make(map[string]string, n)
		for range n {
			k := d.str()
			r.Attrs[k] = d.str()
		}
	}
	if d.err == nil && d.pos != len(d.s) {
		d.fail(errors.New("trailing bytes after the relation"))
	}
	return r, d.err
}
