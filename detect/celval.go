package detect

import (
	"fmt"
	"reflect"
	"strconv"

	"cel.dev/cel-go/common/types"
	"cel.dev/cel-go/common/types/ref"
	"cel.dev/cel-go/common/types/traits"

	"github.com/mdrkit/mdr"
)

// This file binds an *mdr.Event to the CEL variable e without converting the
// event to a map: selections resolve through mdr.Event.Get, and a missing
// field yields the absent value.

var (
	absentCELType = types.NewOpaqueType("detect.absent")
)

// eventVal is the CEL value of e (prefix == "") or of an object inside it
// (prefix is its dotted path).
type eventVal struct {
	ev     *mdr.Event
	prefix string
}

func (v eventVal) path(idx ref.Val) (string, bool) {
	s, ok := idx.(types.String)
	if !ok {
		return "", false
	}
	if v.prefix == "" {
		return string(s), true
	}
	return v.prefix + "." + string(s), true
}

// Get implements traits.Indexer: a field value, an object prefix, or absent.
func (v eventVal) Get(idx ref.Val) ref.Val {
	p, ok := v.path(idx)
	if !ok {
		return absent
	}
	if x, ok := v.ev.Get(p); ok {
		return valueToCEL(x)
	}
	if v.ev.HasPrefix(p) {
		return eventVal{ev: v.ev, prefix: p}
	}
	return absent
}

// IsSet implements traits.FieldTester (has(e.X)).
func (v eventVal) IsSet(idx ref.Val) ref.Val {
	p, ok := v.path(idx)
	if !ok {
		return types.False
	}
	return types.Bool(v.ev.Has(p) || v.ev.HasPrefix(p))
}

// Contains implements traits.Container ("X" in e).
func (v eventVal) Contains(idx ref.Val) ref.Val { return v.IsSet(idx) }

func (v eventVal) ConvertToNative(t reflect.Type) (any, error) {
	return nil, fmt.Errorf("detect: the event cannot be converted to %v", t)
}

func (v eventVal) ConvertToType(t ref.Type) ref.Val {
	if t == types.TypeType {
		return types.MapType
	}
	return types.NewErr("detect: the event cannot be converted to %v", t)
}

func (v eventVal) Equal(o ref.Val) ref.Val {
	w, ok := o.(eventVal)
	return types.Bool(ok && w.ev == v.ev && w.prefix == v.prefix)
}

func (v eventVal) Type() ref.Type { return types.MapType } // e is declared map(string, dyn)
func (v eventVal) Value() any     { return v.ev }

var (
	_ traits.Indexer     = eventVal{}
	_ traits.FieldTester = eventVal{}
	_ traits.Container   = eventVal{}
)

// absentVal is the value of a missing field. Every detection function is
// false on it, == with it is false, and selecting through it stays absent.
type absentVal struct{}

var absent ref.Val = absentVal{}

func (absentVal) Get(ref.Val) ref.Val      { return absent }
func (absentVal) IsSet(ref.Val) ref.Val    { return types.False }
func (absentVal) Contains(ref.Val) ref.Val { return types.False }
func (absentVal) ConvertToNative(t reflect.Type) (any, error) {
	return nil, fmt.Errorf("detect: an absent field cannot be converted to %v", t)
}
func (absentVal) ConvertToType(t ref.Type) ref.Val {
	if t == types.TypeType {
		return absentCELType
	}
	return types.NewErr("detect: an absent field cannot be converted to %v", t)
}
func (absentVal) Equal(ref.Val) ref.Val { return types.False }
func (absentVal) Type() ref.Type        { return absentCELType }
func (absentVal) Value() any            { return nil }

// valueToCEL converts an event value to its CEL value.
func valueToCEL(x mdr.Value) ref.Val {
	switch x.Kind() {
	case mdr.KindString:
		s, _ := x.Str()
		return types.String(s)
	case mdr.KindInt:
		i, _ := x.Int()
		return types.Int(i)
	case mdr.KindFloat:
		f, _ := x.Float()
		return types.Double(f)
	case mdr.KindBool:
		b, _ := x.Bool()
		return types.Bool(b)
	case mdr.KindList:
		l, _ := x.List()
		vals := make([]ref.Val, len(l))
		for i := range l {
			vals[i] = valueToCEL(l[i])
		}
		return types.NewRefValList(types.DefaultTypeAdapter, vals)
	case mdr.KindObject:
		return types.DefaultTypeAdapter.NativeToValue(x.Any())
	}
	return types.NullValue
}

// celText renders a scalar CEL value the way mdr.Value.Text renders the
// event value it came from.
func celText(v ref.Val) (string, bool) {
	switch x := v.(type) {
	case types.String:
		return string(x), true
	case types.Int:
		return strconv.FormatInt(int64(x), 10), true
	case types.Uint:
		return strconv.FormatUint(uint64(x), 10), true
	case types.Double:
		return strconv.FormatFloat(float64(x), 'g', -1, 64), true
	case types.Bool:
		if x {
			return "true", true
		}
		return "false", true
	}
	return "", false
}

// anyText calls f on the text of v, or of each element when v is a list,
// and reports whether f held for any of them. Absent, null, maps and the
// event itself yield false.
func anyText(v ref.Val, f func(string) bool) bool {
	if s, ok := celText(v); ok {
		return f(s)
	}
	if l, ok := v.(traits.Lister); ok {
		if _, isEvent := v.(eventVal); isEvent {
			return false
		}
		it := l.Iterator()
		for it.HasNext() == types.True {
			if anyText(it.Next(), f) {
				return true
			}
		}
	}
	return false
}

// argStrings returns the string or list of strings of a function argument.
func argStrings(v ref.Val) ([]string, error) {
	switch x := v.(type) {
	case types.String:
		return []string{string(x)}, nil
	case traits.Lister:
		n, _ := x.Size().(types.Int)
		out := make([]string, 0, int(n))
		it := x.Iterator()
		for it.HasNext() == types.True {
			s, ok := it.Next().(types.String)
			if !ok {
				return nil, fmt.Errorf("argument list holds a non-string")
			}
			out = append(out, string(s))
		}
		return out, nil
	}
	return nil, fmt.Errorf("argument is %s, want a string or a list of strings", v.Type().TypeName())
}
