package sigma

import (
	"strconv"
	"strings"
)

// expr is the boolean expression a rule compiles to before it is rendered
// as CEL. Constants fold away as the tree is built, so an unset placeholder
// (an empty value list) simplifies the rule, and a rule that can never
// match is detected at load time instead of becoming a silent no-match.
type expr interface{ isExpr() }

type (
	eConst bool
	eLeaf  string // a CEL boolean expression
	eAnd   []expr
	eOr    []expr
	eNot   struct{ x expr }
	// eAtLeast holds when at least n of xs hold.
	eAtLeast struct {
		n  int
		xs []expr
	}
)

func (eConst) isExpr()   {}
func (eLeaf) isExpr()    {}
func (eAnd) isExpr()     {}
func (eOr) isExpr()      {}
func (eNot) isExpr()     {}
func (eAtLeast) isExpr() {}

func and(xs ...expr) expr {
	var out eAnd
	for _, x := range xs {
		switch v := x.(type) {
		case eConst:
			if !v {
				return eConst(false)
			}
		case eAnd:
			out = append(out, v...)
		default:
			out = append(out, x)
		}
	}
	switch len(out) {
	case 0:
		return eConst(true)
	case 1:
		return out[0]
	}
	return out
}

func or(xs ...expr) expr {
	var out eOr
	for _, x := range xs {
		switch v := x.(type) {
		case eConst:
			if v {
				return eConst(true)
			}
		case eOr:
			out = append(out, v...)
		default:
			out = append(out, x)
		}
	}
	switch len(out) {
	case 0:
		return eConst(false)
	case 1:
		return out[0]
	}
	return out
}

func not(x expr) expr {
	switch v := x.(type) {
	case eConst:
		return !v
	case eNot:
		return v.x
	}
	return eNot{x}
}

func atLeast(n int, xs []expr) expr {
	if n <= 1 {
		return or(xs...)
	}
	var keep []expr
	for _, x := range xs {
		if c, ok := x.(eConst); ok {
			if c {
				n--
			}
			continue
		}
		keep = append(keep, x)
	}
	switch {
	case n <= 0:
		return eConst(true)
	case n > len(keep):
		return eConst(false)
	case n == len(keep):
		return and(keep...)
	case n == 1:
		return or(keep...)
	}
	return eAtLeast{n, keep}
}

// cel renders the expression as CEL.
func cel(x expr) string {
	var b strings.Builder
	writeCEL(&b, x, true)
	return b.String()
}

func writeCEL(b *strings.Builder, x expr, top bool) {
	switch v := x.(type) {
	case eConst:
		if v {
			b.WriteString("true")
		} else {
			b.WriteString("false")
		}
	case eLeaf:
		b.WriteString(string(v))
	case eAnd:
		writeJoined(b, []expr(v), " && ", top)
	case eOr:
		writeJoined(b, []expr(v), " || ", top)
	case eNot:
		b.WriteString("!")
		switch v.x.(type) {
		case eAnd, eOr:
			writeCEL(b, v.x, false)
		case eLeaf:
			b.WriteByte('(')
			writeCEL(b, v.x, true)
			b.WriteByte(')')
		default:
			writeCEL(b, v.x, false)
		}
	case eAtLeast:
		b.WriteString("[")
		for i, e := range v.xs {
			if i > 0 {
				b.WriteString(", ")
			}
			writeCEL(b, e, true)
		}
		b.WriteString("].filter(m, m).size() >= ")
		b.WriteString(strconv.Itoa(v.n))
	}
}

func writeJoined(b *strings.Builder, xs []expr, sep string, top bool) {
	if !top {
		b.WriteByte('(')
	}
	for i, e := range xs {
		if i > 0 {
			b.WriteString(sep)
		}
		writeCEL(b, e, false)
	}
	if !top {
		b.WriteByte(')')
	}
}

// quote renders s as a CEL string literal.
func quote(s string) string {
	var b strings.Builder
	b.Grow(len(s) + 2)
	b.WriteByte('"')
	for _, r := range s {
		switch r {
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		default:
			if r < 0x20 || r == 0x7f {
				b.WriteString(`\u`)
				h := strconv.FormatInt(int64(r), 16)
				b.WriteString(strings.Repeat("0", 4-len(h)))
				b.WriteString(h)
			} else if r == 0xFFFD {
				b.WriteString(`\uFFFD`)
			} else {
				b.WriteRune(r)
			}
		}
	}
	b.WriteByte('"')
	return b.String()
}

// quoteList renders one string as a literal and several as a list literal.
func quoteList(ss []string) string {
	if len(ss) == 1 {
		return quote(ss[0])
	}
	var b strings.Builder
	b.WriteByte('[')
	for i, s := range ss {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(quote(s))
	}
	b.WriteByte(']')
	return b.String()
}

var celReserved = map[string]bool{
	"true": true, "false": true, "null": true, "in": true, "as": true, "break": true,
	"const": true, "continue": true, "else": true, "for": true, "function": true,
	"if": true, "import": true, "let": true, "loop": true, "package": true,
	"namespace": true, "return": true, "var": true, "void": true, "while": true,
}

func isCELIdent(s string) bool {
	if s == "" || celReserved[s] {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '_', c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z':
		case c >= '0' && c <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}

// fieldSel renders the selection of an event field.
func fieldSel(name string) string {
	if isCELIdent(name) {
		return "e." + name
	}
	return "e[" + quote(name) + "]"
}
