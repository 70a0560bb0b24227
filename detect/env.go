package detect

import (
	"strings"
	"sync"

	"cel.dev/cel-go/cel"
	"cel.dev/cel-go/common/types"
	"cel.dev/cel-go/common/types/ref"

	"github.com/mdrkit/mdr"
)

// matcherCache holds the matchers the CEL bindings build from constant
// arguments, keyed by operator and arguments. Compile fills it for every call
// site it recognises, so evaluation normally only reads it.
type matcherCache struct{ m sync.Map }

func matcherKey(op opKind, args []string) string {
	return op.String() + "\x00" + strings.Join(args, "\x00")
}

func (c *matcherCache) get(op opKind, args []string) (*matcher, error) {
	m, _, err := c.getKey(op, args)
	return m, err
}

func (c *matcherCache) getKey(op opKind, args []string) (*matcher, string, error) {
	k := matcherKey(op, args)
	if m, ok := c.m.Load(k); ok {
		return m.(*matcher), k, nil
	}
	m, err := newMatcher(op, args)
	if err != nil {
		return nil, k, err
	}
	c.m.Store(k, m)
	return m, k, nil
}

// keep empties the cache except for keys, the matchers that CEL programs
// still look up (directly evaluated rules hold their matchers themselves).
func (c *matcherCache) keep(keys map[string]bool) {
	c.m.Range(func(k, _ any) bool {
		if !keys[k.(string)] {
			c.m.Delete(k)
		}
		return true
	})
}

func (c *matcherCache) fromVal(op opKind, arg ref.Val) (*matcher, error) {
	var args []string
	if op.numeric() {
		switch x := arg.(type) {
		case types.Int, types.Uint, types.Double, types.String:
			s, _ := celText(x)
			args = []string{s}
		default:
			l, err := argStrings(arg)
			if err != nil {
				return nil, err
			}
			args = l
		}
	} else {
		l, err := argStrings(arg)
		if err != nil {
			return nil, err
		}
		args = l
	}
	return c.get(op, args)
}

// textOps are the operators of the form x.op(arg) on a field value.
var textOps = []opKind{
	opEqualsFold, opContainsFold, opStartsWithFold, opEndsWithFold,
	opEqualsCase, opContainsCase, opStartsWithCase, opEndsWithCase,
	opWildcardFold, opWildcardCase, opRegex, opInCIDR,
	opNumEq, opNumLt, opNumLte, opNumGt, opNumGte,
}

var eventMapType = cel.MapType(cel.StringType, cel.DynType)

// newEnv returns the CEL environment of detection rules: the variable e and
// every function of the contract (see doc.go).
func newEnv(cache *matcherCache) (*cel.Env, error) {
	opts := []cel.EnvOption{cel.Variable("e", eventMapType)}
	for _, op := range textOps {
		op := op
		opts = append(opts, cel.Function(op.String(),
			cel.MemberOverload("dyn_"+op.String()+"_dyn", []*cel.Type{cel.DynType, cel.DynType}, cel.BoolType,
				cel.BinaryBinding(func(x, arg ref.Val) ref.Val {
					m, err := cache.fromVal(op, arg)
					if err != nil {
						return types.NewErr("%s: %v", op, err)
					}
					return types.Bool(anyText(x, m.testRaw))
				}))))
	}
	for _, op := range []opKind{opKeywordFold, opKeywordCase, opKeywordRegex} {
		op := op
		opts = append(opts, cel.Function(op.String(),
			cel.MemberOverload("event_"+op.String()+"_dyn", []*cel.Type{cel.DynType, cel.DynType}, cel.BoolType,
				cel.BinaryBinding(func(x, arg ref.Val) ref.Val {
					ev, ok := x.(eventVal)
					if !ok {
						return types.NewErr("%s: the receiver must be the event e", op)
					}
					m, err := cache.fromVal(op, arg)
					if err != nil {
						return types.NewErr("%s: %v", op, err)
					}
					return types.Bool(keywordMatch(ev.ev, m))
				}))))
	}
	opts = append(opts,
		cel.Function("isNull",
			cel.MemberOverload("dyn_isNull", []*cel.Type{cel.DynType}, cel.BoolType,
				cel.UnaryBinding(func(x ref.Val) ref.Val {
					switch x.(type) {
					case absentVal, types.Null:
						return types.True
					}
					return types.False
				}))),
		cel.Function("timePart",
			cel.MemberOverload("dyn_timePart_string", []*cel.Type{cel.DynType, cel.StringType}, cel.DynType,
				cel.BinaryBinding(func(x, unit ref.Val) ref.Val {
					u, _ := unit.(types.String)
					if !timeUnits[string(u)] {
						return types.NewErr("timePart: unknown unit %q", string(u))
					}
					var v mdr.Value
					switch y := x.(type) {
					case types.String:
						v = mdr.String(string(y))
					case types.Int:
						v = mdr.Int(int64(y))
					case types.Double:
						v = mdr.Float(float64(y))
					default:
						return absent
					}
					n, ok := timePart(v, string(u))
					if !ok {
						return absent
					}
					return types.Int(n)
				}))),
	)
	// literal variants: each takes a string (or a list of strings, applied
	// element-wise and flattened)
	type variant struct {
		name string
		list bool // result is a list for one string
		f    func(string) ([]string, error)
	}
	one := func(g func(string) string) func(string) ([]string, error) {
		return func(s string) ([]string, error) { return []string{g(s)}, nil }
	}
	variants := []variant{
		{"base64", false, one(variantBase64)},
		{"base64offset", true, func(s string) ([]string, error) { return variantBase64Offset(s), nil }},
		{"utf16le", false, one(func(s string) string { return variantUTF16(s, false, false) })},
		{"wide", false, one(func(s string) string { return variantUTF16(s, false, false) })},
		{"utf16be", false, one(func(s string) string { return variantUTF16(s, true, false) })},
		{"utf16", false, one(func(s string) string { return variantUTF16(s, false, true) })},
		{"windash", true, variantWindash},
	}
	for _, v := range variants {
		v := v
		apply := func(in []string) ref.Val {
			var out []string
			for _, s := range in {
				r, err := v.f(s)
				if err != nil {
					return types.NewErr("%v", err)
				}
				out = append(out, r...)
			}
			if !v.list && len(in) == 1 {
				return types.String(out[0])
			}
			return types.DefaultTypeAdapter.NativeToValue(out)
		}
		res := cel.StringType
		if v.list {
			res = cel.ListType(cel.StringType)
		}
		opts = append(opts, cel.Function(v.name,
			cel.Overload(v.name+"_string", []*cel.Type{cel.StringType}, res,
				cel.UnaryBinding(func(s ref.Val) ref.Val { return apply([]string{string(s.(types.String))}) })),
			cel.Overload(v.name+"_list", []*cel.Type{cel.ListType(cel.StringType)}, cel.ListType(cel.StringType),
				cel.UnaryBinding(func(l ref.Val) ref.Val {
					strs, err := argStrings(l)
					if err != nil {
						return types.NewErr("%s: %v", v.name, err)
					}
					if !v.list && len(strs) == 1 {
						r, _ := v.f(strs[0])
						return types.DefaultTypeAdapter.NativeToValue(r)
					}
					return apply(strs)
				}))))
	}
	// Sigma rules with long IOC lists (the vulnerable-driver hash list is
	// 237k characters as CEL) exceed CEL's default limit of 100k code points.
	opts = append(opts, cel.ParserExpressionSizeLimit(1<<21))
	return cel.NewEnv(opts...)
}

// keywordMatch reports whether any string value of the event (or string
// element of a list value) satisfies m.
func keywordMatch(ev *mdr.Event, m *matcher) bool {
	for i := 0; i < ev.Len(); i++ {
		v := ev.Field(i).Value
		if s, ok := v.Str(); ok {
			if m.testRaw(s) {
				return true
			}
			continue
		}
		if l, ok := v.List(); ok {
			for _, x := range l {
				if s, ok := x.Str(); ok && m.testRaw(s) {
					return true
				}
			}
		}
	}
	return false
}
