package mdr

import (
	"encoding/json"
	"math"
	"strconv"
	"strings"
)

// Kind is the type of a Value.
type Kind uint8

// The kinds of value an event field can hold.
const (
	KindNull Kind = iota
	KindBool
	KindInt
	KindFloat
	KindString
	KindList   // a JSON array; elements are Values
	KindObject // a JSON object inside a list, or an empty object (objects at field level are flattened)
)

var kindNames = [...]string{"null", "bool", "int", "float", "string", "list", "object"}

func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "kind(" + strconv.Itoa(int(k)) + ")"
}

// Value is one field value of an Event. The zero Value is null. Values are
// small, comparable by Equal, and never panic on any accessor.
type Value struct {
	kind Kind
	s    string
	n    uint64   // int64 or float64 bits; 1/0 for bool
	list *[]Value // list elements, or object members as key,value pairs (a pointer keeps Value small)
}

// Null returns the null value.
func Null() Value { return Value{} }

// String returns a string value.
func String(s string) Value { return Value{kind: KindString, s: s} }

// Int returns an integer value.
func Int(i int64) Value { return Value{kind: KindInt, n: uint64(i)} }

// Float returns a floating-point value.
func Float(f float64) Value { return Value{kind: KindFloat, n: math.Float64bits(f)} }

// Bool returns a boolean value.
func Bool(b bool) Value {
	if b {
		return Value{kind: KindBool, n: 1}
	}
	return Value{kind: KindBool}
}

// List returns a list value holding vs.
func List(vs []Value) Value { return Value{kind: KindList, list: &vs} }

// Object returns an object value with the given members in order. Objects
// only appear as list elements or as empty objects: at field level an event
// flattens objects into dotted paths.
func Object(members []Field) Value {
	l := make([]Value, 0, 2*len(members))
	for _, m := range members {
		l = append(l, String(m.Key), m.Value)
	}
	return Value{kind: KindObject, list: &l}
}

// EmptyObjectValue returns the value of an empty JSON object.
func EmptyObjectValue() Value { return Value{kind: KindObject} }

// Members returns the members of an object value in order.
func (v Value) Members() ([]Field, bool) {
	if v.kind != KindObject {
		return nil, false
	}
	out := make([]Field, 0, len(v.items())/2)
	for i := 0; i+1 < len(v.items()); i += 2 {
		out = append(out, Field{Key: v.items()[i].s, Value: v.items()[i+1]})
	}
	return out, true
}

func (v Value) items() []Value {
	if v.list == nil {
		return nil
	}
	return *v.list
}

// Kind returns the value's kind.
func (v Value) Kind() Kind { return v.kind }

// IsNull reports whether the value is JSON null.
func (v Value) IsNull() bool { return v.kind == KindNull }

// Str returns the value as a string when it is a string.
func (v Value) Str() (string, bool) { return v.s, v.kind == KindString }

// List returns the elements of a list value.
func (v Value) List() ([]Value, bool) { return v.items(), v.kind == KindList }

// Bool returns the value as a bool when it is a bool, or the strings
// "true"/"false" in any case.
func (v Value) Bool() (bool, bool) {
	switch v.kind {
	case KindBool:
		return v.n == 1, true
	case KindString:
		switch {
		case strings.EqualFold(v.s, "true"):
			return true, true
		case strings.EqualFold(v.s, "false"):
			return false, true
		}
	}
	return false, false
}

// Int returns the value as an integer. Numbers written as strings are
// accepted in decimal or as 0x-prefixed hex, the way Windows renders them
// ("4688", "0x1010"), with surrounding spaces ignored. Floats convert only when
// integral.
func (v Value) Int() (int64, bool) {
	switch v.kind {
	case KindInt:
		return int64(v.n), true
	case KindFloat:
		f := math.Float64frombits(v.n)
		if f == math.Trunc(f) && f >= math.MinInt64 && f <= math.MaxInt64 {
			return int64(f), true
		}
	case KindString:
		return ParseInt(v.s)
	}
	return 0, false
}

// Float returns the value as a float64; numeric strings (decimal, float or
// 0x hex) are accepted.
func (v Value) Float() (float64, bool) {
	switch v.kind {
	case KindInt:
		return float64(int64(v.n)), true
	case KindFloat:
		return math.Float64frombits(v.n), true
	case KindString:
		if i, ok := ParseInt(v.s); ok {
			return float64(i), true
		}
		s := strings.TrimSpace(v.s)
		if s == "" {
			return 0, false
		}
		f, err := strconv.ParseFloat(s, 64)
		if err != nil || math.IsNaN(f) {
			return 0, false
		}
		return f, true
	}
	return 0, false
}

// ParseInt parses a decimal or 0x-prefixed hexadecimal integer with optional
// sign and surrounding white space, as Windows renders numbers in event data.
// Hexadecimal may wrap, as Windows masks do (0xFFFFFFFFFFFFFFFF is -1). It
// does not allocate, so matching code may call it on every event.
func ParseInt(s string) (int64, bool) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, false
	}
	neg := false
	if s[0] == '-' || s[0] == '+' {
		neg = s[0] == '-'
		s = s[1:]
	}
	if s == "" {
		return 0, false
	}
	var u uint64
	if len(s) > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X') {
		s = s[2:]
		digits := strings.TrimLeft(s, "0")
		if len(digits) > 16 {
			return 0, false
		}
		for i := 0; i < len(s); i++ {
			c := s[i]
			var d byte
			switch {
			case '0' <= c && c <= '9':
				d = c - '0'
			case 'a' <= c && c <= 'f':
				d = c - 'a' + 10
			case 'A' <= c && c <= 'F':
				d = c - 'A' + 10
			default:
				return 0, false
			}
			u = u<<4 | uint64(d)
		}
		if neg {
			if u > 1<<63 {
				return 0, false
			}
			return -int64(u), true
		}
		return int64(u), true
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		if u > (math.MaxUint64-9)/10 {
			return 0, false // beyond any int64, and near uint64 overflow
		}
		u = u*10 + uint64(c-'0')
	}
	if neg {
		if u > 1<<63 {
			return 0, false
		}
		return -int64(u), true
	}
	if u > math.MaxInt64 {
		return 0, false
	}
	return int64(u), true
}

// Text renders the value as text: strings as they are, numbers in decimal,
// booleans as true/false, null as "", lists as their elements joined by ", ".
func (v Value) Text() string {
	switch v.kind {
	case KindString:
		return v.s
	case KindInt:
		return strconv.FormatInt(int64(v.n), 10)
	case KindFloat:
		return strconv.FormatFloat(math.Float64frombits(v.n), 'g', -1, 64)
	case KindBool:
		if v.n == 1 {
			return "true"
		}
		return "false"
	case KindList:
		parts := make([]string, len(v.items()))
		for i, e := range v.items() {
			parts[i] = e.Text()
		}
		return strings.Join(parts, ", ")
	case KindObject:
		var b strings.Builder
		b.WriteByte('{')
		for i := 0; i+1 < len(v.items()); i += 2 {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(v.items()[i].s)
			b.WriteString(": ")
			b.WriteString(v.items()[i+1].Text())
		}
		b.WriteByte('}')
		return b.String()
	}
	return ""
}

// Equal reports whether two values are the same kind and content.
func (v Value) Equal(o Value) bool {
	if v.kind != o.kind || v.s != o.s || v.n != o.n || len(v.items()) != len(o.items()) {
		return false
	}
	for i := range v.items() {
		if !v.items()[i].Equal(o.items()[i]) {
			return false
		}
	}
	return true
}

// Any converts the value to plain Go: nil, bool, int64, float64, string,
// []any or map[string]any.
func (v Value) Any() any {
	switch v.kind {
	case KindBool:
		return v.n == 1
	case KindInt:
		return int64(v.n)
	case KindFloat:
		return math.Float64frombits(v.n)
	case KindString:
		return v.s
	case KindList:
		out := make([]any, len(v.items()))
		for i, e := range v.items() {
			out[i] = e.Any()
		}
		return out
	case KindObject:
		m := make(map[string]any, len(v.items())/2)
		for i := 0; i+1 < len(v.items()); i += 2 {
			m[v.items()[i].s] = v.items()[i+1].Any()
		}
		return m
	}
	return nil
}

// MarshalJSON encodes the value as encoding/json encodes Any(), except that
// a float that JSON cannot hold (+Inf, -Inf and NaN, which a decoder yields
// for a number such as 1e400 that overflows float64) is written as the
// string "+Inf", "-Inf" or "NaN" instead of failing the whole document.
func (v Value) MarshalJSON() ([]byte, error) { return json.Marshal(v.jsonAny()) }

func (v Value) jsonAny() any {
	switch v.kind {
	case KindFloat:
		if f := math.Float64frombits(v.n); math.IsInf(f, 0) || math.IsNaN(f) {
			return v.Text()
		}
	case KindList:
		out := make([]any, len(v.items()))
		for i, e := range v.items() {
			out[i] = e.jsonAny()
		}
		return out
	case KindObject:
		m := make(map[string]any, len(v.items())/2)
		for i := 0; i+1 < len(v.items()); i += 2 {
			m[v.items()[i].s] = v.items()[i+1].jsonAny()
		}
		return m
	}
	return v.Any()
}
