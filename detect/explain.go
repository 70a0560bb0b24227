package detect

import (
	"strings"

	"github.com/mdrkit/mdr"
)

// Explanation says why a rule matched: each predicate of its condition that
// held on the event. It is computed only for matches, by evaluating the
// leaf predicates of the matched rule's condition again. It is a plain
// value, safe for concurrent reads.
type Explanation struct {
	Conditions []Condition `json:"conditions"`
}

// Condition is one predicate that held: the field, the value it had, the
// operator and its argument. Negated is set for a predicate that held by
// being false under a "not". Field is empty for keyword searches (Value is
// then the value that matched) and for parts of a condition that are plain
// CEL (Operator "cel", Argument the expression). It is a plain value, safe
// for concurrent use.
type Condition struct {
	Field    string `json:"field,omitempty"`
	Value    string `json:"value,omitempty"`
	Operator string `json:"operator"`
	Argument string `json:"argument,omitempty"`
	Negated  bool   `json:"negated,omitempty"`
}

// String renders the condition for an analyst, e.g.
// `Image = "C:\…\powershell.exe" endsWithFold "\\powershell.exe"`.
func (c Condition) String() string {
	var b strings.Builder
	if c.Negated {
		b.WriteString("not ")
	}
	if c.Field != "" {
		b.WriteString(c.Field)
		if c.Operator != "isNull" && c.Operator != "exists" || c.Value != "" {
			b.WriteString(" = ")
			b.WriteString(quoteShort(c.Value))
		}
		b.WriteByte(' ')
	} else if c.Value != "" {
		b.WriteString("a value ")
		b.WriteString(quoteShort(c.Value))
		b.WriteByte(' ')
	}
	b.WriteString(c.Operator)
	if c.Argument != "" {
		b.WriteByte(' ')
		b.WriteString(c.Argument)
	}
	return b.String()
}

// String renders the explanation as one line per condition.
func (x Explanation) String() string {
	parts := make([]string, len(x.Conditions))
	for i, c := range x.Conditions {
		parts[i] = c.String()
	}
	return strings.Join(parts, "\n")
}

const maxExplainValue = 256

func quoteShort(s string) string {
	if len(s) > maxExplainValue {
		s = s[:maxExplainValue] + "…"
	}
	return `"` + s + `"`
}

func (rs *Ruleset) explain(cr *compiledRule, ev *mdr.Event, sc *scratch) Explanation {
	var out []Condition
	rs.explainNode(cr.root, false, ev, sc, &out)
	if len(out) == 0 {
		out = append(out, Condition{Operator: "cel", Argument: cr.rule.Condition})
	}
	return Explanation{Conditions: out}
}

func (rs *Ruleset) explainNode(n *node, neg bool, ev *mdr.Event, sc *scratch, out *[]Condition) {
	switch n.kind {
	case nAnd, nOr:
		for _, k := range n.kids {
			rs.explainNode(k, neg, ev, sc, out)
		}
	case nNot:
		rs.explainNode(n.kids[0], !neg, ev, sc, out)
	case nOpaque:
		if !neg {
			*out = append(*out, Condition{Operator: "cel", Argument: n.text})
		}
	case nLeaf:
		l := n.leaf
		if rs.evalLeaf(l, ev, sc) == neg {
			return
		}
		op, arg := l.describe()
		c := Condition{Field: l.path, Operator: op, Argument: arg, Negated: neg}
		if l.kind == lKeyword {
			c.Value = keywordValue(l, ev, sc)
		} else if fi := sc.field(l.slot); fi >= 0 {
			c.Value = ev.Field(fi).Value.Text()
		}
		*out = append(*out, c)
	}
}

func keywordValue(l *leaf, ev *mdr.Event, sc *scratch) string {
	for i := 0; i < ev.Len(); i++ {
		v := ev.Field(i).Value
		if s, ok := v.Str(); ok && l.m.test(s, sc.foldTmp(s)) {
			return s
		}
		if list, ok := v.List(); ok {
			for _, x := range list {
				if s, ok := x.Str(); ok && l.m.test(s, sc.foldTmp(s)) {
					return s
				}
			}
		}
	}
	return ""
}
