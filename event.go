package mdr

import (
	"iter"
	"strings"
	"time"
)

// Field is one named value of an event. Key is the full dotted path for
// values that arrived inside nested objects.
type Field struct {
	Key   string
	Value Value
}

// Origin says where an event came from: the source name (a file path, "-"
// for standard input, or whatever the host product names its transport) and
// the 1-based line number, or for JSON arrays the 1-based element number.
type Origin struct {
	Source string `json:"source,omitempty"`
	Line   int64  `json:"line,omitempty"`
}

// Event is one decoded event with the field names it arrived with.
//
// An Event is immutable after Builder.Finish and safe for concurrent reads.
type Event struct {
	fields []Field
	time   time.Time
	id     string
	origin Origin
	dup    bool
}

// Get returns the value at path. A path is either a flat field name
// ("Image") or a dotted path into nested objects ("process.parent.executable");
// both resolve whether the source nested the objects or wrote dotted keys.
func (e *Event) Get(path string) (Value, bool) {
	if e == nil {
		return Value{}, false
	}
	for i := range e.fields {
		if e.fields[i].Key == path {
			return e.fields[i].Value, true
		}
	}
	return Value{}, false
}

// Has reports whether the event has a field at path (null counts as present).
func (e *Event) Has(path string) bool {
	_, ok := e.Get(path)
	return ok
}

// HasPrefix reports whether any field lies under the dotted path prefix,
// that is whether prefix names an object of the event.
func (e *Event) HasPrefix(prefix string) bool {
	if e == nil {
		return false
	}
	for i := range e.fields {
		k := e.fields[i].Key
		if len(k) > len(prefix) && k[len(prefix)] == '.' && strings.HasPrefix(k, prefix) {
			return true
		}
	}
	return false
}

// String returns the field at path when it is a string.
func (e *Event) String(path string) (string, bool) {
	v, ok := e.Get(path)
	if !ok {
		return "", false
	}
	return v.Str()
}

// Text returns the field at path rendered as text (see Value.Text), and
// whether the field exists.
func (e *Event) Text(path string) (string, bool) {
	v, ok := e.Get(path)
	if !ok {
		return "", false
	}
	return v.Text(), true
}

// Int returns the field at path as an integer; numeric strings in decimal or
// 0x hex are accepted.
func (e *Event) Int(path string) (int64, bool) {
	v, ok := e.Get(path)
	if !ok {
		return 0, false
	}
	return v.Int()
}

// Float returns the field at path as a float64.
func (e *Event) Float(path string) (float64, bool) {
	v, ok := e.Get(path)
	if !ok {
		return 0, false
	}
	return v.Float()
}

// Bool returns the field at path as a bool.
func (e *Event) Bool(path string) (bool, bool) {
	v, ok := e.Get(path)
	if !ok {
		return false, false
	}
	return v.Bool()
}

// Len returns the number of fields.
func (e *Event) Len() int {
	if e == nil {
		return 0
	}
	return len(e.fields)
}

// Field returns the i-th field in arrival order (0 <= i < Len()).
func (e *Event) Field(i int) Field { return e.fields[i] }

// Fields iterates over the fields in arrival order.
func (e *Event) Fields() iter.Seq2[string, Value] {
	return func(yield func(string, Value) bool) {
		if e == nil {
			return
		}
		for _, f := range e.fields {
			if !yield(f.Key, f.Value) {
				return
			}
		}
	}
}

// Time returns the event's own time (zero when none was found).
func (e *Event) Time() time.Time { return e.time }

// ID returns the event's stable id: the source's own id of the event when
// it has one (see IDFields and WindowsRecordFields), else a hash of its
// content.
func (e *Event) ID() string { return e.id }

// Origin returns where the event was read from.
func (e *Event) Origin() Origin { return e.origin }

// DuplicateKeys reports whether the source held a key more than once; the
// last occurrence is the one every access path sees.
func (e *Event) DuplicateKeys() bool { return e.dup }
