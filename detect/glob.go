package detect

import (
	"strings"
	"unicode/utf8"
)

// glob is a compiled wildcard pattern: segments separated by '*', each a
// sequence of literal pieces and '?' (exactly one character).
type glob struct {
	segs [][]globItem
	star bool // at least one '*'
}

type globItem struct {
	lit string // literal piece; empty means '?'
}

// compileGlob compiles p with Sigma's escaping rules: "\*" and "\?" are a
// literal star and question mark, "\\" is one backslash, and a backslash
// before any other character is a literal backslash. With folded set, the
// literal pieces are case-folded and the pattern must be matched against a
// folded value.
func compileGlob(p string, folded bool) *glob {
	g := &glob{}
	var seg []globItem
	var lit strings.Builder
	flush := func() {
		if lit.Len() > 0 {
			s := lit.String()
			if folded {
				s = fold(s)
			}
			seg = append(seg, globItem{lit: s})
			lit.Reset()
		}
	}
	for i := 0; i < len(p); i++ {
		c := p[i]
		switch c {
		case '\\':
			if i+1 < len(p) && (p[i+1] == '*' || p[i+1] == '?' || p[i+1] == '\\') {
				lit.WriteByte(p[i+1])
				i++
			} else {
				lit.WriteByte('\\')
			}
		case '*':
			flush()
			g.segs = append(g.segs, seg)
			seg = nil
			g.star = true
		case '?':
			flush()
			seg = append(seg, globItem{})
		default:
			lit.WriteByte(c)
		}
	}
	flush()
	g.segs = append(g.segs, seg)
	return g
}

// longestLiteral returns the longest literal piece of the pattern (every
// value the pattern matches contains it), or "" when there is none.
func (g *glob) longestLiteral() string {
	best := ""
	for _, seg := range g.segs {
		for _, it := range seg {
			if len(it.lit) > len(best) {
				best = it.lit
			}
		}
	}
	return best
}

// matchPrefix matches seg at the start of s and returns the end offset.
func matchPrefix(seg []globItem, s string) (int, bool) {
	i := 0
	for _, it := range seg {
		if it.lit != "" {
			if !strings.HasPrefix(s[i:], it.lit) {
				return 0, false
			}
			i += len(it.lit)
			continue
		}
		if i >= len(s) {
			return 0, false
		}
		_, n := utf8.DecodeRuneInString(s[i:])
		i += n
	}
	return i, true
}

// matchSuffix matches seg at the end of s and returns its start offset.
func matchSuffix(seg []globItem, s string) (int, bool) {
	j := len(s)
	for k := len(seg) - 1; k >= 0; k-- {
		it := seg[k]
		if it.lit != "" {
			if !strings.HasSuffix(s[:j], it.lit) {
				return 0, false
			}
			j -= len(it.lit)
			continue
		}
		if j == 0 {
			return 0, false
		}
		_, n := utf8.DecodeLastRuneInString(s[:j])
		j -= n
	}
	return j, true
}

// find returns the end of the leftmost occurrence of seg in s.
func find(seg []globItem, s string) (int, bool) {
	if len(seg) == 0 {
		return 0, true
	}
	if seg[0].lit != "" && len(seg) == 1 {
		i := strings.Index(s, seg[0].lit)
		if i < 0 {
			return 0, false
		}
		return i + len(seg[0].lit), true
	}
	for i := 0; i <= len(s); {
		if seg[0].lit != "" {
			k := strings.Index(s[i:], seg[0].lit)
			if k < 0 {
				return 0, false
			}
			i += k
		}
		if end, ok := matchPrefix(seg, s[i:]); ok {
			return i + end, true
		}
		if i == len(s) {
			break
		}
		_, n := utf8.DecodeRuneInString(s[i:])
		i += n
	}
	return 0, false
}

// match reports whether the whole of s matches the pattern (s must be folded
// when the pattern was compiled folded).
func (g *glob) match(s string) bool {
	if !g.star {
		end, ok := matchPrefix(g.segs[0], s)
		return ok && end == len(s)
	}
	first, last := g.segs[0], g.segs[len(g.segs)-1]
	start, ok := matchPrefix(first, s)
	if !ok {
		return false
	}
	stop, ok := matchSuffix(last, s)
	if !ok || stop < start {
		return false
	}
	mid := s[start:stop]
	for _, seg := range g.segs[1 : len(g.segs)-1] {
		end, ok := find(seg, mid)
		if !ok {
			return false
		}
		mid = mid[end:]
	}
	return true
}
