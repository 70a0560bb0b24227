// Package codec decodes one JSON object into an mdr.Event through a
// streaming (SAX-style) walk, without building an intermediate map. The
// default build walks with bytedance/sonic; building with the tag
// mdrstdjson swaps in encoding/json. Both produce identical events (a test
// checks this on the real logs).
package codec

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"unsafe"

	"github.com/mdrkit/mdr"
)

// ErrNotObject reports a JSON value that is not an object where an event was expected.
var ErrNotObject = errors.New("event is not a JSON object")

// Decode decodes one JSON object into an event with the given origin.
// b is a reusable builder (nil allocates one).
func Decode(line []byte, origin mdr.Origin, b *mdr.Builder) (*mdr.Event, error) {
	if b == nil {
		b = mdr.NewBuilder(32)
	}
	b.Reset()
	if flatPath && decodeFlat(line, b) {
		return b.Finish(origin, line), nil
	}
	b.Reset()
	s := string(line) // one copy: every string of the event points into it
	v := visitor{b: b}
	if err := walk(s, &v); err != nil {
		b.Reset()
		return nil, err
	}
	if !v.done {
		b.Reset()
		return nil, ErrNotObject
	}
	return b.Finish(origin, line), nil
}

// flatPath enables the fast path for flat objects (tests turn it off to
// compare the paths).
var flatPath = true

// container is one open object or array below the top-level object.
type container struct {
	isObj  bool
	prefix string      // for flattened objects: the dotted path of the object
	flat   bool        // object flattened into the event (not inside a list)
	items  []mdr.Value // list elements, or object members as key,value pairs
	key    string      // pending member key for non-flat objects
	empty  bool        // flattened object has seen no member yet
}

type visitor struct {
	b     *mdr.Builder
	stack []container
	key   string // pending key at flat level (full dotted path)
	depth int
	done  bool
}

const maxDepth = 128

func (v *visitor) emit(val mdr.Value) error {
	if len(v.stack) == 0 {
		return ErrNotObject
	}
	top := &v.stack[len(v.stack)-1]
	switch {
	case top.flat:
		top.empty = false
		v.b.Add(v.key, val)
	case top.isObj:
		top.items = append(top.items, mdr.String(top.key), val)
	default:
		top.items = append(top.items, val)
	}
	return nil
}

func (v *visitor) OnNull() error       { return v.emit(mdr.Null()) }
func (v *visitor) OnBool(x bool) error { return v.emit(mdr.Bool(x)) }
func (v *visitor) OnString(x string) error {
	return v.emit(mdr.String(x))
}
func (v *visitor) OnInt64(x int64, _ numberish) error { return v.emit(mdr.Int(x)) }
func (v *visitor) OnFloat64(x float64, n numberish) error {
	return v.emit(mdr.Float(x))
}

func (v *visitor) OnObjectBegin(int) error {
	v.depth++
	if v.depth > maxDepth {
		return fmt.Errorf("nesting deeper than %d", maxDepth)
	}
	if len(v.stack) == 0 {
		if v.done {
			return ErrNotObject
		}
		v.stack = append(v.stack, container{isObj: true, flat: true})
		return nil
	}
	top := &v.stack[len(v.stack)-1]
	if top.flat {
		top.empty = false
		v.stack = append(v.stack, container{isObj: true, flat: true, prefix: v.key, empty: true})
		return nil
	}
	v.stack = append(v.stack, container{isObj: true})
	return nil
}

func (v *visitor) OnObjectKey(k string) error {
	top := &v.stack[len(v.stack)-1]
	if top.flat {
		if top.prefix == "" {
			v.key = k
		} else {
			v.key = top.prefix + "." + k
		}
		return nil
	}
	top.key = k
	return nil
}

func (v *visitor) OnObjectEnd() error {
	v.depth--
	top := v.stack[len(v.stack)-1]
	v.stack = v.stack[:len(v.stack)-1]
	if top.flat {
		if len(v.stack) == 0 {
			v.done = true
			return nil
		}
		if top.empty {
			v.key = top.prefix
			return v.emit(mdr.EmptyObjectValue())
		}
		return nil
	}
	fields := make([]mdr.Field, 0, len(top.items)/2)
	for i := 0; i+1 < len(top.items); i += 2 {
		k, _ := top.items[i].Str()
		fields = append(fields, mdr.Field{Key: k, Value: top.items[i+1]})
	}
	return v.emit(mdr.Object(fields))
}

func (v *visitor) OnArrayBegin(int) error {
	v.depth++
	if v.depth > maxDepth {
		return fmt.Errorf("nesting deeper than %d", maxDepth)
	}
	if len(v.stack) == 0 {
		return ErrNotObject
	}
	v.stack = append(v.stack, container{})
	return nil
}

func (v *visitor) OnArrayEnd() error {
	v.depth--
	top := v.stack[len(v.stack)-1]
	v.stack = v.stack[:len(v.stack)-1]
	items := top.items
	if items == nil {
		items = []mdr.Value{}
	}
	return v.emit(mdr.List(items))
}

// numberFrom classifies a JSON number literal the way sonic does: an integer
// literal that fits int64 is an int, anything else a float.
func numberFrom(lit string) (mdr.Value, error) {
	isInt := true
	for i := 0; i < len(lit); i++ {
		if c := lit[i]; c == '.' || c == 'e' || c == 'E' {
			isInt = false
			break
		}
	}
	if isInt {
		if i, err := strconv.ParseInt(lit, 10, 64); err == nil {
			return mdr.Int(i), nil
		}
	}
	f, err := strconv.ParseFloat(lit, 64)
	if err != nil {
		var ne *strconv.NumError
		if errors.As(err, &ne) && errors.Is(ne.Err, strconv.ErrRange) {
			return mdr.Float(f), nil
		}
		return mdr.Value{}, fmt.Errorf("bad number %q", lit)
	}
	return mdr.Float(f), nil
}

// mayHaveControl reports whether s may hold a byte below 0x20 (it may say
// yes when there is none: the byte-wise borrow of the test can flag a
// byte above a real one, and 0x80 bytes and above are masked out exactly).
// It tests eight bytes at a time.
func mayHaveControl(s string) bool {
	const hi, ctl = 0x8080808080808080, 0x2020202020202020
	if len(s) == 0 {
		return false
	}
	b := unsafe.Slice(unsafe.StringData(s), len(s)) // read only
	i := 0
	for ; i+32 <= len(b); i += 32 {
		x0 := binary.LittleEndian.Uint64(b[i:])
		x1 := binary.LittleEndian.Uint64(b[i+8:])
		x2 := binary.LittleEndian.Uint64(b[i+16:])
		x3 := binary.LittleEndian.Uint64(b[i+24:])
		if ((x0-ctl)&^x0|(x1-ctl)&^x1|(x2-ctl)&^x2|(x3-ctl)&^x3)&hi != 0 {
			return true
		}
	}
	for ; i+8 <= len(b); i += 8 {
		x := binary.LittleEndian.Uint64(b[i:])
		if (x-ctl)&^x&hi != 0 {
			return true
		}
	}
	for ; i < len(b); i++ {
		if b[i] < 0x20 {
			return true
		}
	}
	return false
}

// controlInString returns an error for the first raw control character
// (below 0x20) inside a string of the JSON text s, which RFC 8259 and
// encoding/json reject and sonic accepts: both builds must decode the same
// lines. Outside strings such bytes are white space or a syntax error the
// parser has reported already.
func controlInString(s string) error {
	in, esc := false, false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case !in:
			if c == '"' {
				in = true
			}
		case esc:
			esc = false
		case c == '\\':
			esc = true
		case c == '"':
			in = false
		case c < 0x20:
			return fmt.Errorf("invalid character %q in string literal", c)
		}
	}
	return nil
}
