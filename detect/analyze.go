package detect

import (
	"fmt"
	"strconv"

	"cel.dev/cel-go/common/ast"
	"cel.dev/cel-go/common/operators"
	"cel.dev/cel-go/common/types"
	"cel.dev/cel-go/common/types/ref"
)

// This file turns a checked, constant-folded CEL condition into a tree of
// nodes: And/Or/Not over leaves (one detection predicate on one field) and
// opaque sub-expressions. The tree serves three purposes: it validates the
// constant arguments of the detection functions at compile time, it yields
// the literal prefilter set, and when it has no opaque part it is evaluated
// directly on the event (the same semantics as the CEL program, which is
// verified by tests) and explains matches.

type nodeKind uint8

const (
	nAnd nodeKind = iota
	nOr
	nNot
	nLeaf
	nConst
	nOpaque
)

type node struct {
	kind nodeKind
	kids []*node
	leaf *leaf
	val  bool   // nConst
	text string // nOpaque: the sub-expression as CEL text
}

// leafNode returns a leaf node for l: the node and its leaf are one heap
// object (a compiled corpus has tens of thousands of leaves, and every
// object is marked by every GC cycle of the host).
func leafNode(l leaf) *node {
	x := &struct {
		n node
		l leaf
	}{l: l}
	x.n = node{kind: nLeaf, leaf: &x.l}
	return &x.n
}

// leafKind says how a leaf reads its field.
type leafKind uint8

const (
	lText     leafKind = iota // op on the text of the field value (any list element)
	lTimePart                 // numeric op on timePart(unit) of the field value
	lIsNull                   // field absent or null
	lHas                      // field or object present
	lKeyword                  // op on any string value of the event
	lStdEq                    // == with a string constant (CEL equality)
)

type leaf struct {
	kind leafKind
	path string
	slot int32 // index of path in the ruleset's field table (set by Compile)
	op   opKind
	m    *matcher
	unit string // lTimePart
	str  string // lStdEq

}

// describe returns the operator and argument as an analyst reads them. It
// is computed when a match is explained: keeping the text of every leaf
// would cost the ruleset tens of thousands of heap objects.
func (l *leaf) describe() (op, arg string) {
	switch l.kind {
	case lIsNull:
		return "isNull", ""
	case lHas:
		return "exists", ""
	case lStdEq:
		return "==", strconv.Quote(l.str)
	case lTimePart:
		return "timePart(" + l.unit + ")." + l.op.String(), argText(l.m.args)
	}
	return l.op.String(), argText(l.m.args)
}

func argText(args []string) string {
	if len(args) == 1 {
		return strconv.Quote(args[0])
	}
	n := 2
	for _, a := range args {
		n += len(a) + 4
	}
	b := make([]byte, 0, n)
	b = append(b, '[')
	for i, a := range args {
		if i > 0 {
			b = append(b, ", "...)
		}
		b = strconv.AppendQuote(b, a)
	}
	return string(append(b, ']'))
}

// analyzer builds the node tree of one condition.
type analyzer struct {
	cache *matcherCache
	keys  []string // cache keys of the matchers of this condition
	errs  []string
	unp   func(ast.Expr) string
}

func (a *analyzer) fail(format string, args ...any) {
	a.errs = append(a.errs, fmt.Sprintf(format, args...))
}

// fieldPath returns the dotted path of a selection rooted at e: e.A, e["A"],
// e.a.b.c, e["a.b"].c.
func fieldPath(x ast.Expr) (string, bool) {
	switch x.Kind() {
	case ast.SelectKind:
		s := x.AsSelect()
		if s.IsTestOnly() {
			return "", false
		}
		return joinPath(s.Operand(), s.FieldName())
	case ast.CallKind:
		c := x.AsCall()
		if c.FunctionName() != operators.Index || len(c.Args()) != 2 {
			return "", false
		}
		k := c.Args()[1]
		if k.Kind() != ast.LiteralKind {
			return "", false
		}
		ks, ok := k.AsLiteral().(types.String)
		if !ok {
			return "", false
		}
		return joinPath(c.Args()[0], string(ks))
	}
	return "", false
}

func joinPath(operand ast.Expr, name string) (string, bool) {
	if operand.Kind() == ast.IdentKind && operand.AsIdent() == "e" {
		return name, true
	}
	p, ok := fieldPath(operand)
	if !ok {
		return "", false
	}
	return p + "." + name, true
}

func isEventIdent(x ast.Expr) bool { return x.Kind() == ast.IdentKind && x.AsIdent() == "e" }

// constStrings returns the strings of a constant string or list of strings.
func constStrings(x ast.Expr) ([]string, bool) {
	switch x.Kind() {
	case ast.LiteralKind:
		if s, ok := x.AsLiteral().(types.String); ok {
			return []string{string(s)}, true
		}
	case ast.ListKind:
		var out []string
		for _, el := range x.AsList().Elements() {
			if el.Kind() != ast.LiteralKind {
				return nil, false
			}
			s, ok := el.AsLiteral().(types.String)
			if !ok {
				return nil, false
			}
			out = append(out, string(s))
		}
		return out, true
	}
	return nil, false
}

// constNumbers returns the constants of a numeric argument as text.
func constNumbers(x ast.Expr) ([]string, bool) {
	lit := func(v ref.Val) (string, bool) {
		switch v.(type) {
		case types.Int, types.Uint, types.Double, types.String:
			return celText(v)
		}
		return "", false
	}
	switch x.Kind() {
	case ast.LiteralKind:
		s, ok := lit(x.AsLiteral())
		if !ok {
			return nil, false
		}
		return []string{s}, true
	case ast.ListKind:
		var out []string
		for _, el := range x.AsList().Elements() {
			if el.Kind() != ast.LiteralKind {
				return nil, false
			}
			s, ok := lit(el.AsLiteral())
			if !ok {
				return nil, false
			}
			out = append(out, s)
		}
		return out, true
	}
	return nil, false
}

var opByName = func() map[string]opKind {
	m := map[string]opKind{}
	for k, n := range opNames {
		if n != "" {
			m[n] = opKind(k)
		}
	}
	return m
}()

func (a *analyzer) opaque(x ast.Expr) *node { return &node{kind: nOpaque, text: a.unp(x)} }

func (a *analyzer) build(x ast.Expr) *node {
	switch x.Kind() {
	case ast.LiteralKind:
		if b, ok := x.AsLiteral().(types.Bool); ok {
			return &node{kind: nConst, val: bool(b)}
		}
		return a.opaque(x)
	case ast.SelectKind:
		s := x.AsSelect()
		if s.IsTestOnly() {
			if p, ok := joinPath(s.Operand(), s.FieldName()); ok {
				return leafNode(leaf{kind: lHas, path: p})
			}
		}
		return a.opaque(x)
	case ast.CallKind:
	default:
		return a.opaque(x)
	}
	c := x.AsCall()
	args := c.Args()
	switch fn := c.FunctionName(); fn {
	case operators.LogicalAnd, operators.LogicalOr:
		k := nAnd
		if fn == operators.LogicalOr {
			k = nOr
		}
		n := &node{kind: k}
		for _, arg := range args {
			kid := a.build(arg)
			if kid.kind == k { // flatten
				n.kids = append(n.kids, kid.kids...)
			} else {
				n.kids = append(n.kids, kid)
			}
		}
		return n
	case operators.LogicalNot:
		return &node{kind: nNot, kids: []*node{a.build(args[0])}}
	case operators.Equals:
		if len(args) == 2 {
			for i := 0; i < 2; i++ {
				if p, ok := fieldPath(args[i]); ok && args[1-i].Kind() == ast.LiteralKind {
					if s, ok := args[1-i].AsLiteral().(types.String); ok {
						return leafNode(leaf{kind: lStdEq, path: p, str: string(s)})
					}
				}
			}
		}
		return a.opaque(x)
	case operators.In:
		if len(args) == 2 && isEventIdent(args[1]) && args[0].Kind() == ast.LiteralKind {
			if s, ok := args[0].AsLiteral().(types.String); ok {
				return leafNode(leaf{kind: lHas, path: string(s)})
			}
		}
		return a.opaque(x)
	}
	op, known := opByName[c.FunctionName()]
	if !known || !c.IsMemberFunction() {
		// Calls to regex-taking or other functions outside the contract shapes
		// are still checked for constant regexes below when recognised.
		return a.opaque(x)
	}
	recv := c.Target()
	if op == opIsNull {
		if p, ok := fieldPath(recv); ok {
			return leafNode(leaf{kind: lIsNull, path: p})
		}
		return a.opaque(x)
	}
	if len(args) != 1 {
		return a.opaque(x)
	}
	var strs []string
	var ok bool
	if op.numeric() {
		strs, ok = constNumbers(args[0])
	} else {
		strs, ok = constStrings(args[0])
	}
	if !ok {
		if op == opRegex || op == opKeywordRegex {
			a.fail("%s: the pattern must be a constant string or list of strings", op)
		}
		return a.opaque(x)
	}
	m, key, err := a.cache.getKey(op, strs)
	if err != nil {
		a.fail("%v", err)
		return a.opaque(x)
	}
	a.keys = append(a.keys, key)
	if op.keyword() {
		if isEventIdent(recv) {
			return leafNode(leaf{kind: lKeyword, op: op, m: m})
		}
		return a.opaque(x)
	}
	if p, ok := fieldPath(recv); ok {
		return leafNode(leaf{kind: lText, path: p, op: op, m: m})
	}
	// x.timePart(unit).numOp(n)
	if op.numeric() && recv.Kind() == ast.CallKind {
		rc := recv.AsCall()
		if rc.FunctionName() == "timePart" && rc.IsMemberFunction() && len(rc.Args()) == 1 && rc.Args()[0].Kind() == ast.LiteralKind {
			u, _ := rc.Args()[0].AsLiteral().(types.String)
			if !timeUnits[string(u)] {
				a.fail("timePart: unknown unit %q (want minute, hour, day, week, month or year)", string(u))
				return a.opaque(x)
			}
			if p, ok := fieldPath(rc.Target()); ok {
				return leafNode(leaf{kind: lTimePart, path: p, op: op, m: m, unit: string(u)})
			}
		}
	}
	return a.opaque(x)
}

// checkConstants walks the whole expression (including opaque parts) and
// reports detection calls whose pattern arguments are not constants, and
// constant patterns that do not compile.
func (a *analyzer) checkConstants(x ast.Expr) {
	switch x.Kind() {
	case ast.CallKind:
		c := x.AsCall()
		if op, ok := opByName[c.FunctionName()]; ok && len(c.Args()) == 1 && op != opIsNull {
			arg := c.Args()[0]
			var strs []string
			var isConst bool
			if op.numeric() {
				strs, isConst = constNumbers(arg)
			} else {
				strs, isConst = constStrings(arg)
			}
			switch {
			case isConst:
				_, key, err := a.cache.getKey(op, strs)
				if err != nil {
					a.fail("%v", err)
				}
				a.keys = append(a.keys, key)
			case op == opRegex || op == opKeywordRegex:
				a.fail("%s: the pattern must be a constant string or list of strings", op)
			}
		}
		if c.FunctionName() == "timePart" && len(c.Args()) == 1 {
			if arg := c.Args()[0]; arg.Kind() == ast.LiteralKind {
				if u, ok := arg.AsLiteral().(types.String); ok && !timeUnits[string(u)] {
					a.fail("timePart: unknown unit %q (want minute, hour, day, week, month or year)", string(u))
				}
			}
		}
		if c.IsMemberFunction() {
			a.checkConstants(c.Target())
		}
		for _, arg := range c.Args() {
			a.checkConstants(arg)
		}
	case ast.SelectKind:
		a.checkConstants(x.AsSelect().Operand())
	case ast.ListKind:
		for _, el := range x.AsList().Elements() {
			a.checkConstants(el)
		}
	case ast.ComprehensionKind:
		cx := x.AsComprehension()
		a.checkConstants(cx.IterRange())
		a.checkConstants(cx.AccuInit())
		a.checkConstants(cx.LoopCondition())
		a.checkConstants(cx.LoopStep())
		a.checkConstants(cx.Result())
	case ast.MapKind:
		for _, e := range x.AsMap().Entries() {
			me := e.AsMapEntry()
			a.checkConstants(me.Key())
			a.checkConstants(me.Value())
		}
	}
}

// native reports whether the tree has no opaque part.
func (n *node) native() bool {
	if n.kind == nOpaque {
		return false
	}
	for _, k := range n.kids {
		if !k.native() {
			return false
		}
	}
	return true
}

// leaves calls f on every leaf.
func (n *node) leaves(f func(*leaf)) {
	if n.kind == nLeaf {
		f(n.leaf)
	}
	for _, k := range n.kids {
		k.leaves(f)
	}
}
