package sigma

import (
	"fmt"
	"path"
	"strconv"
	"strings"
)

// condOp is the operator of a parsed condition node.
type condOp uint8

const (
	cIdent condOp = iota // a search identifier
	cAnd
	cOr
	cNot
	cOf // N of pattern / all of pattern / N of them
)

// cond is the syntax tree of a Sigma condition.
type cond struct {
	op      condOp
	name    string // identifier, or the pattern of cOf ("them" for them)
	count   int    // cOf: how many must hold; 0 means all
	args    []*cond
	literal string // the source text of the node, for messages
}

type condToken struct {
	text string
	pos  int
}

func tokenizeCondition(s string) ([]condToken, error) {
	var out []condToken
	i := 0
	for i < len(s) {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c == '(' || c == ')':
			out = append(out, condToken{string(c), i})
			i++
		case c == '|':
			return nil, fmt.Errorf("aggregation expressions (%q) are obsolete: write a correlation rule instead", strings.TrimSpace(s[i:]))
		default:
			j := i
			for j < len(s) && !strings.ContainsRune(" \t\n\r()|", rune(s[j])) {
				j++
			}
			out = append(out, condToken{s[i:j], i})
			i = j
		}
	}
	return out, nil
}

type condParser struct {
	toks []condToken
	pos  int
	src  string
}

// parseCondition parses one condition string.
func parseCondition(s string) (*cond, error) {
	toks, err := tokenizeCondition(s)
	if err != nil {
		return nil, err
	}
	if len(toks) == 0 {
		return nil, fmt.Errorf("empty condition")
	}
	p := &condParser{toks: toks, src: s}
	c, err := p.or()
	if err != nil {
		return nil, err
	}
	if p.pos < len(p.toks) {
		return nil, fmt.Errorf("unexpected %q at offset %d", p.toks[p.pos].text, p.toks[p.pos].pos)
	}
	return c, nil
}

func (p *condParser) peek() string {
	if p.pos < len(p.toks) {
		return p.toks[p.pos].text
	}
	return ""
}

func (p *condParser) isWord(w string) bool { return strings.EqualFold(p.peek(), w) }

func (p *condParser) or() (*cond, error) {
	l, err := p.and()
	if err != nil {
		return nil, err
	}
	args := []*cond{l}
	for p.isWord("or") {
		p.pos++
		r, err := p.and()
		if err != nil {
			return nil, err
		}
		args = append(args, r)
	}
	if len(args) == 1 {
		return l, nil
	}
	return &cond{op: cOr, args: args}, nil
}

func (p *condParser) and() (*cond, error) {
	l, err := p.not()
	if err != nil {
		return nil, err
	}
	args := []*cond{l}
	for p.isWord("and") {
		p.pos++
		r, err := p.not()
		if err != nil {
			return nil, err
		}
		args = append(args, r)
	}
	if len(args) == 1 {
		return l, nil
	}
	return &cond{op: cAnd, args: args}, nil
}

func (p *condParser) not() (*cond, error) {
	if p.isWord("not") {
		p.pos++
		x, err := p.not()
		if err != nil {
			return nil, err
		}
		return &cond{op: cNot, args: []*cond{x}}, nil
	}
	return p.primary()
}

func (p *condParser) primary() (*cond, error) {
	if p.pos >= len(p.toks) {
		return nil, fmt.Errorf("condition ends early")
	}
	t := p.toks[p.pos]
	switch {
	case t.text == "(":
		p.pos++
		x, err := p.or()
		if err != nil {
			return nil, err
		}
		if p.peek() != ")" {
			return nil, fmt.Errorf("missing ')' for '(' at offset %d", t.pos)
		}
		p.pos++
		return x, nil
	case t.text == ")":
		return nil, fmt.Errorf("unexpected ')' at offset %d", t.pos)
	}
	lw := strings.ToLower(t.text)
	if p.pos+1 < len(p.toks) && strings.EqualFold(p.toks[p.pos+1].text, "of") {
		n := 0
		if lw != "all" {
			v, err := strconv.Atoi(t.text)
			if err != nil || v < 1 {
				return nil, fmt.Errorf("%q before 'of' at offset %d: want 'all' or a positive number", t.text, t.pos)
			}
			n = v
		}
		if p.pos+2 >= len(p.toks) {
			return nil, fmt.Errorf("'%s of' without a pattern at offset %d", t.text, t.pos)
		}
		pat := p.toks[p.pos+2].text
		if pat == "(" || pat == ")" || isCondKeyword(pat) {
			return nil, fmt.Errorf("'%s of' followed by %q at offset %d: want a pattern or 'them'", t.text, pat, p.toks[p.pos+2].pos)
		}
		p.pos += 3
		return &cond{op: cOf, count: n, name: pat, literal: t.text + " of " + pat}, nil
	}
	if isCondKeyword(lw) {
		return nil, fmt.Errorf("unexpected %q at offset %d", t.text, t.pos)
	}
	p.pos++
	return &cond{op: cIdent, name: t.text}, nil
}

func isCondKeyword(s string) bool {
	switch strings.ToLower(s) {
	case "and", "or", "not", "of":
		return true
	}
	return false
}

// matchIdentifiers returns the search identifiers matched by a pattern of
// an "of" expression, in definition order. "them" matches every identifier
// not starting with an underscore.
func matchIdentifiers(pattern string, idents []string) []string {
	var out []string
	for _, id := range idents {
		if strings.EqualFold(pattern, "them") {
			if !strings.HasPrefix(id, "_") {
				out = append(out, id)
			}
			continue
		}
		if ok, _ := path.Match(globToPathPattern(pattern), id); ok {
			out = append(out, id)
		}
	}
	return out
}

// globToPathPattern keeps * as the only wildcard of an identifier pattern
// (path.Match would also treat ?, [ and \ specially).
func globToPathPattern(p string) string {
	var b strings.Builder
	for _, r := range p {
		switch r {
		case '?', '[', ']', '\\':
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}
