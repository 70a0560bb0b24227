package sim

import (
	"strconv"
	"unicode/utf8"
)

// Field is one key and value of an emitted event; a value is a string or
// an int, as the EVTX-to-JSON exports write them (EventID and the System
// counters are integers, every EventData value is a string).
type Field struct {
	Key   string
	Value any // string or int
}

// Record is one emitted event, its fields in the order a real export
// writes them. A Record is not modified after it is emitted and is safe
// for concurrent reads.
type Record []Field

// Get returns the value of key.
func (r Record) Get(key string) (any, bool) {
	for _, f := range r {
		if f.Key == key {
			return f.Value, true
		}
	}
	return nil, false
}

// Str returns the value of key as text ("" when absent).
func (r Record) Str(key string) string {
	v, _ := r.Get(key)
	switch x := v.(type) {
	case string:
		return x
	case int:
		return strconv.Itoa(x)
	}
	return ""
}

// Int returns the integer value of key (0 when absent or not an integer).
func (r Record) Int(key string) int {
	v, _ := r.Get(key)
	n, _ := v.(int)
	return n
}

// MarshalJSON writes the record as one flat, compact JSON object, fields
// in order, as the shared data's exports do.
func (r Record) MarshalJSON() ([]byte, error) {
	return r.AppendJSON(make([]byte, 0, 1024)), nil
}

// AppendJSON appends the record's JSON object to b.
func (r Record) AppendJSON(b []byte) []byte {
	b = append(b, '{')
	for i, f := range r {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSONString(b, f.Key)
		b = append(b, ':')
		switch v := f.Value.(type) {
		case int:
			b = strconv.AppendInt(b, int64(v), 10)
		case string:
			b = appendJSONString(b, v)
		default:
			b = append(b, "null"...)
		}
	}
	return append(b, '}')
}

const hexDigits = "0123456789abcdef"

// appendJSONString appends s as a JSON string: quotes, backslashes and
// control characters escaped, invalid UTF-8 replaced by U+FFFD, everything
// else (non-ASCII included) written as is.
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
