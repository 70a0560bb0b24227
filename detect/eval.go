package detect

import (
	"github.com/mdrkit/mdr"
)

// evalNode evaluates a native condition tree on the event, with the same
// result as the rule's CEL program.
func (rs *Ruleset) evalNode(n *node, ev *mdr.Event, sc *scratch) bool {
	switch n.kind {
	case nAnd:
		for _, k := range n.kids {
			if !rs.evalNode(k, ev, sc) {
				return false
			}
		}
		return true
	case nOr:
		for _, k := range n.kids {
			if rs.evalNode(k, ev, sc) {
				return true
			}
		}
		return false
	case nNot:
		return !rs.evalNode(n.kids[0], ev, sc)
	case nConst:
		return n.val
	case nLeaf:
		return rs.evalLeaf(n.leaf, ev, sc)
	}
	return false
}

func (rs *Ruleset) evalLeaf(l *leaf, ev *mdr.Event, sc *scratch) bool {
	if l.kind == lKeyword {
		for i := 0; i < ev.Len(); i++ {
			v := ev.Field(i).Value
			if s, ok := v.Str(); ok {
				if l.m.test(s, sc.foldedField(i, s)) {
					return true
				}
				continue
			}
			if list, ok := v.List(); ok {
				for _, x := range list {
					if s, ok := x.Str(); ok && l.m.test(s, sc.foldTmp(s)) {
						return true
					}
				}
			}
		}
		return false
	}
	fi := sc.field(l.slot)
	switch l.kind {
	case lHas:
		return fi >= 0 || ev.HasPrefix(l.path)
	case lIsNull:
		if fi < 0 {
			return !ev.HasPrefix(l.path)
		}
		return ev.Field(fi).Value.IsNull()
	}
	if fi < 0 {
		return false
	}
	v := ev.Field(fi).Value
	switch l.kind {
	case lStdEq:
		s, ok := v.Str()
		return ok && s == l.str
	case lTimePart:
		switch v.Kind() {
		case mdr.KindString, mdr.KindInt, mdr.KindFloat:
		default:
			return false
		}
		p, ok := timePart(v, l.unit)
		if !ok {
			return false
		}
		return l.m.testNumber(number{i: p, f: float64(p), isInt: true})
	}
	return rs.textLeaf(l, fi, v, sc, true)
}

// textLeaf applies a text operator to v: a scalar's text, or any element of
// a list.
func (rs *Ruleset) textLeaf(l *leaf, fi int, v mdr.Value, sc *scratch, top bool) bool {
	switch v.Kind() {
	case mdr.KindString:
		s, _ := v.Str()
		if !l.m.needFolded() {
			return l.m.test(s, "")
		}
		if top {
			return l.m.test(s, sc.foldedField(fi, s))
		}
		return l.m.test(s, sc.foldTmp(s))
	case mdr.KindList:
		list, _ := v.List()
		for _, x := range list {
			if rs.textLeaf(l, fi, x, sc, false) {
				return true
			}
		}
		return false
	}
	t, ok := sc.scalarText(v)
	if !ok {
		return false
	}
	return l.m.test(t, t)
}
