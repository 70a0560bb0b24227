package hunt

import (
	"strconv"
	"strings"
	"unicode/utf8"

	"cel.dev/cel-go/common"
	"cel.dev/cel-go/common/ast"
	"cel.dev/cel-go/common/operators"
	"cel.dev/cel-go/common/types"
	"cel.dev/cel-go/parser"

	"github.com/mdrkit/mdr/store"
)

// atom is one fact a segment summary can rule out: a field holding a
// normalised value, or some value holding a token.
type atom struct {
	field string // "" for a token
	value string // normalised value, or the token
}

// requirement is a disjunction: an event can only match when one of its
// atoms holds.
type requirement []atom

// plan is a conjunction of requirements derived from a condition: a
// segment whose summary rules out every atom of one requirement holds no
// match. An empty plan rules out nothing.
type plan []requirement

// keep reports whether a segment may hold a match.
func (p plan) keep(s *store.Summary) bool {
	for _, r := range p {
		if !r.mayHold(s) {
			return false
		}
	}
	return true
}

func (r requirement) mayHold(s *store.Summary) bool {
	for _, a := range r {
		if a.field == "" {
			if s.MayHaveToken(a.value) {
				return true
			}
		} else if s.MayHaveValue(a.field, a.value) {
			return true
		}
	}
	return false
}

// maxAtoms bounds a requirement (a condition with a list of thousands of
// values is still planned, its check just costs more per segment).
const maxAtoms = 4096

// planCondition derives a plan from a CEL condition over e. It is
// conservative: whatever it cannot read adds no requirement, so a plan
// never rules out a segment holding a match. A condition that does not
// parse gets the empty plan (compiling it reports the error).
func planCondition(cond string) plan {
	p, err := parser.NewParser(parser.Macros(parser.AllMacros...))
	if err != nil {
		return nil
	}
	tree, errs := p.Parse(common.NewTextSource(cond))
	if errs != nil && len(errs.GetErrors()) > 0 {
		return nil
	}
	return planExpr(tree.Expr(), 0)
}

func planExpr(x ast.Expr, depth int) plan {
	if depth > 64 || x.Kind() != ast.CallKind {
		return nil
	}
	c := x.AsCall()
	args := c.Args()
	switch c.FunctionName() {
	case operators.LogicalAnd:
		var out plan
		for _, a := range args {
			out = append(out, planExpr(a, depth+1)...)
		}
		return out
	case operators.LogicalOr:
		var merged requirement
		for _, a := range args {
			sub := planExpr(a, depth+1)
			if len(sub) == 0 {
				return nil // one side unconstrained: the whole is
			}
			merged = append(merged, best(sub)...)
		}
		if len(merged) > maxAtoms {
			return nil
		}
		return plan{merged}
	case operators.Equals:
		if len(args) != 2 {
			return nil
		}
		f, ok := fieldOf(args[0])
		lit := args[1]
		if !ok {
			f, ok = fieldOf(args[1])
			lit = args[0]
		}
		if !ok {
			return nil
		}
		if v, ok := scalarText(lit); ok {
			return valueReq(f, []string{v})
		}
		return nil
	case operators.In:
		if len(args) != 2 {
			return nil
		}
		f, ok := fieldOf(args[0])
		if !ok {
			return nil
		}
		vals, ok := literalStrings(args[1], true)
		if !ok {
			return nil
		}
		return valueReq(f, vals)
	}
	if !c.IsMemberFunction() || len(args) != 1 {
		return nil
	}
	f, ok := fieldOf(c.Target())
	if !ok {
		return nil
	}
	lits, ok := literalStrings(args[0], false)
	if !ok || len(lits) == 0 {
		return nil
	}
	switch c.FunctionName() {
	case "equalsFold", "equalsCase":
		return valueReq(f, lits)
	case "containsFold", "containsCase":
		return tokenReq(lits, false, false)
	case "startsWithFold", "startsWithCase":
		return tokenReq(lits, true, false)
	case "endsWithFold", "endsWithCase":
		return tokenReq(lits, false, true)
	}
	return nil
}

// best picks the requirement with the fewest atoms of a plan (the most
// selective one to merge into a disjunction).
func best(p plan) requirement {
	b := p[0]
	for _, r := range p[1:] {
		if len(r) < len(b) {
			b = r
		}
	}
	return b
}

// valueReq is "field equals one of vals"; a non-ASCII literal adds nothing
// (its case folding is not what store.Normalize does).
func valueReq(field string, vals []string) plan {
	if len(vals) == 0 || len(vals) > maxAtoms {
		return nil
	}
	r := make(requirement, 0, len(vals))
	for _, v := range vals {
		if !isASCII(v) {
			return nil
		}
		r = append(r, atom{field: field, value: store.Normalize(v)})
	}
	return plan{r}
}

// tokenReq is "the value contains one of lits" (anchored at its start or
// end when asked): each literal contributes its longest token that must be
// a whole token of any value containing it there.
func tokenReq(lits []string, anchoredStart, anchoredEnd bool) plan {
	if len(lits) > maxAtoms {
		return nil
	}
	r := make(requirement, 0, len(lits))
	for _, l := range lits {
		tok, ok := wholeToken(l, anchoredStart, anchoredEnd)
		if !ok {
			return nil
		}
		r = append(r, atom{value: tok})
	}
	return plan{r}
}

// wholeToken returns the longest token of lit that is a whole token of any
// value containing lit (at the value's start or end when anchored).
func wholeToken(lit string, anchoredStart, anchoredEnd bool) (string, bool) {
	if !isASCII(lit) {
		return "", false
	}
	var bestTok string
	store.Tokens(store.Normalize(lit), func(tok string, start, end bool) {
		if (start && !anchoredStart) || (end && !anchoredEnd) || len(tok) > store.MaxTokenLen {
			return
		}
		if len(tok) > len(bestTok) {
			bestTok = tok
		}
	})
	return bestTok, bestTok != ""
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// fieldOf reads e.a.b or e["a b"] as a field path.
func fieldOf(x ast.Expr) (string, bool) {
	var parts []string
	for {
		switch x.Kind() {
		case ast.SelectKind:
			s := x.AsSelect()
			if s.IsTestOnly() {
				return "", false
			}
			parts = append(parts, s.FieldName())
			x = s.Operand()
			continue
		case ast.CallKind:
			c := x.AsCall()
			if c.FunctionName() != operators.Index || len(c.Args()) != 2 {
				return "", false
			}
			k, ok := literalString(c.Args()[1])
			if !ok {
				return "", false
			}
			parts = append(parts, k)
			x = c.Args()[0]
			continue
		case ast.IdentKind:
			if x.AsIdent() != "e" || len(parts) == 0 {
				return "", false
			}
			for i, j := 0, len(parts)-1; i < j; i, j = i+1, j-1 {
				parts[i], parts[j] = parts[j], parts[i]
			}
			return strings.Join(parts, "."), true
		}
		return "", false
	}
}

func literalString(x ast.Expr) (string, bool) {
	if x.Kind() != ast.LiteralKind {
		return "", false
	}
	s, ok := x.AsLiteral().(types.String)
	return string(s), ok
}

// scalarText is the text of a string, int or uint literal as stored values
// print it (mdr.Value.Text).
func scalarText(x ast.Expr) (string, bool) {
	if x.Kind() != ast.LiteralKind {
		return "", false
	}
	switch v := x.AsLiteral().(type) {
	case types.String:
		return string(v), true
	case types.Int:
		return strconv.FormatInt(int64(v), 10), true
	case types.Uint:
		return strconv.FormatUint(uint64(v), 10), true
	}
	return "", false
}

// literalStrings reads a string literal or a list of them (scalars too when
// scalars is set, for the in operator).
func literalStrings(x ast.Expr, scalars bool) ([]string, bool) {
	read := literalString
	if scalars {
		read = scalarText
	}
	if s, ok := read(x); ok {
		return []string{s}, true
	}
	if x.Kind() != ast.ListKind {
		return nil, false
	}
	var out []string
	for _, el := range x.AsList().Elements() {
		s, ok := read(el)
		if !ok {
			return nil, false
		}
		out = append(out, s)
	}
	return out, true
}
