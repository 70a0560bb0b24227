package respond

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"net/netip"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"cel.dev/cel-go/cel"
	"cel.dev/cel-go/common/types"
)

// Conditions of if-condition and while-condition steps.
//
// CACAO says a condition is "a boolean expression as defined in the STIX
// Patterning Grammar" over the playbook's variables. The engine implements
// the part of that grammar that applies to variables, which is what CACAO
// playbooks use:
//
//	condition  := or
//	or         := and { OR and }
//	and        := unary { AND unary }
//	unary      := NOT unary | EXISTS __name__:value | ( condition ) | [ condition ] | comparison
//	comparison := operand [NOT] op operand
//	op         := = | != | > | < | >= | <= | IN | LIKE | MATCHES | ISSUBSET | ISSUPERSET
//	operand    := __name__:value | 'string' | t'timestamp' | h'hex' | b'base64'
//	            | number | true | false | ( operand, … ) | word
//
// Keywords are upper case in STIX; lower case is accepted too. A variable
// reference inside a quoted string is substituted too ('__ip__:value').
// The variable's CACAO type chooses how values compare: integer, long and
// float numerically, bool as booleans, timestamps (against a t'…'
// constant) in time order, hashes and hex strings without regard to case,
// ipv4-addr and ipv6-addr as addresses (IN and ISSUBSET test membership of
// a CIDR), everything else as strings; a number literal compared with an
// untyped value compares numerically. LIKE takes SQL wildcards (% and _),
// MATCHES an RE2 regular expression. A null (unknown) variable equals only
// null, and so does a variable that nothing declared or returned (the
// loader warns about those). STIX object paths (file:name) and observation
// qualifiers have no meaning over variables and are refused at load time.
//
// As an extension, a condition that starts with "cel:" is a CEL expression
// over the map vars (variable name with its underscores → value, typed as
// above), for example
//
//	cel: int(vars["__hosts_left__"]) > 0 && vars["__mode__"] == "contain"
//
// compiled once at load time and evaluated under a cost limit.

// stepCondition is a compiled if/while condition.
type stepCondition interface {
	eval(ctx context.Context, s *varScope) (bool, error)
}

// compileCondition compiles a condition; celCost bounds CEL evaluation.
func compileCondition(src string, celCost uint64) (stepCondition, error) {
	if rest, ok := strings.CutPrefix(strings.TrimSpace(src), "cel:"); ok {
		return compileCELCondition(rest, celCost)
	}
	if len(src) > maxConditionLen {
		return nil, fmt.Errorf("condition is %d bytes, more than %d", len(src), maxConditionLen)
	}
	toks, err := lexCondition(src)
	if err != nil {
		return nil, err
	}
	p := &condParser{toks: toks}
	n, err := p.or(0)
	if err != nil {
		return nil, err
	}
	if p.pos < len(p.toks) {
		return nil, fmt.Errorf("condition: unexpected %q at offset %d", p.toks[p.pos].text, p.toks[p.pos].off)
	}
	return n, nil
}

const (
	maxConditionLen   = 4096
	maxConditionDepth = 32
)

type tokKind uint8

const (
	tokWord   tokKind = iota // bare word, number, keyword, variable reference
	tokString                // quoted string (text is unquoted)
	tokOp                    // comparison operator symbol
	tokLParen
	tokRParen
	tokLBrack
	tokRBrack
	tokComma
)

type condToken struct {
	kind tokKind
	text string
	off  int
}

func lexCondition(src string) ([]condToken, error) {
	var toks []condToken
	for i := 0; i < len(src); {
		c := src[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c == '(':
			toks = append(toks, condToken{tokLParen, "(", i})
			i++
		case c == ')':
			toks = append(toks, condToken{tokRParen, ")", i})
			i++
		case c == '[':
			toks = append(toks, condToken{tokLBrack, "[", i})
			i++
		case c == ']':
			toks = append(toks, condToken{tokRBrack, "]", i})
			i++
		case c == ',':
			toks = append(toks, condToken{tokComma, ",", i})
			i++
		case c == '\'' || c == '"' || (c == 't' || c == 'h' || c == 'b') && i+1 < len(src) && src[i+1] == '\'':
			prefix := ""
			if c != '\'' && c != '"' { // STIX typed constants: t'timestamp', h'hex', b'base64'
				prefix = string(c)
				i++
				c = '\''
			}
			var b strings.Builder
			j := i + 1
			closed := false
			for j < len(src) {
				if src[j] == '\\' && j+1 < len(src) {
					b.WriteByte(src[j+1])
					j += 2
					continue
				}
				if src[j] == c {
					closed = true
					break
				}
				b.WriteByte(src[j])
				j++
			}
			if !closed {
				return nil, fmt.Errorf("condition: unterminated string at offset %d", i)
			}
			toks = append(toks, condToken{tokString, prefix + "\x00" + b.String(), i})
			i = j + 1
		case c == '=' || c == '!' || c == '<' || c == '>':
			j := i + 1
			if j < len(src) && (src[j] == '=' || (c == '<' && src[j] == '>')) {
				j++
			}
			op := src[i:j]
			switch op {
			case "==":
				op = "="
			case "<>":
				op = "!="
			case "!":
				return nil, fmt.Errorf("condition: '!' at offset %d is not an operator (use != or NOT)", i)
			}
			toks = append(toks, condToken{tokOp, op, i})
			i = j
		default:
			j := i
			for j < len(src) && !strings.ContainsRune(" \t\r\n()[],'\"=!<>", rune(src[j])) {
				j++
			}
			if j == i {
				r, _ := utf8.DecodeRuneInString(src[i:])
				return nil, fmt.Errorf("condition: unexpected %q at offset %d", r, i)
			}
			toks = append(toks, condToken{tokWord, src[i:j], i})
			i = j
		}
	}
	if len(toks) == 0 {
		return nil, errors.New("condition is empty")
	}
	return toks, nil
}

type condParser struct {
	toks []condToken
	pos  int
}

func (p *condParser) peek() (condToken, bool) {
	if p.pos < len(p.toks) {
		return p.toks[p.pos], true
	}
	return condToken{}, false
}

func (p *condParser) isWord(w string) bool {
	t, ok := p.peek()
	return ok && t.kind == tokWord && strings.EqualFold(t.text, w)
}

func (p *condParser) or(depth int) (stepCondition, error) {
	if depth > maxConditionDepth {
		return nil, fmt.Errorf("condition nests deeper than %d", maxConditionDepth)
	}
	l, err := p.and(depth)
	if err != nil {
		return nil, err
	}
	for p.isWord("OR") {
		p.pos++
		r, err := p.and(depth)
		if err != nil {
			return nil, err
		}
		l = &boolNode{or: true, l: l, r: r}
	}
	return l, nil
}

func (p *condParser) and(depth int) (stepCondition, error) {
	l, err := p.unary(depth)
	if err != nil {
		return nil, err
	}
	for p.isWord("AND") {
		p.pos++
		r, err := p.unary(depth)
		if err != nil {
			return nil, err
		}
		l = &boolNode{l: l, r: r}
	}
	return l, nil
}

func (p *condParser) unary(depth int) (stepCondition, error) {
	t, ok := p.peek()
	if !ok {
		return nil, errors.New("condition: unexpected end")
	}
	switch {
	case t.kind == tokWord && strings.EqualFold(t.text, "NOT"):
		p.pos++
		n, err := p.unary(depth + 1)
		if err != nil {
			return nil, err
		}
		return &notNode{n}, nil
	case t.kind == tokWord && strings.EqualFold(t.text, "EXISTS"):
		p.pos++
		o, err := p.condOperand(false)
		if err != nil {
			return nil, err
		}
		if o.ref == "" {
			return nil, fmt.Errorf("condition: EXISTS at offset %d needs a variable (__name__:value)", t.off)
		}
		return &existsNode{name: o.ref}, nil
	case t.kind == tokLParen || t.kind == tokLBrack:
		closer := tokRParen
		if t.kind == tokLBrack {
			closer = tokRBrack
		}
		p.pos++
		n, err := p.or(depth + 1)
		if err != nil {
			return nil, err
		}
		c, ok := p.peek()
		if !ok || c.kind != closer {
			return nil, fmt.Errorf("condition: missing closing bracket for the one at offset %d", t.off)
		}
		p.pos++
		return n, nil
	}
	return p.comparison()
}

func (p *condParser) comparison() (stepCondition, error) {
	l, err := p.condOperand(false)
	if err != nil {
		return nil, err
	}
	neg := false
	if p.isWord("NOT") {
		neg = true
		p.pos++
	}
	t, ok := p.peek()
	if !ok {
		return nil, fmt.Errorf("condition: comparison has no operator after %q", l.text)
	}
	var op string
	switch {
	case t.kind == tokOp:
		op = t.text
	case t.kind == tokWord && isOpWord(strings.ToUpper(t.text)):
		op = strings.ToUpper(t.text)
	default:
		return nil, fmt.Errorf("condition: want a comparison operator at offset %d, got %q", t.off, t.text)
	}
	p.pos++
	r, err := p.condOperand(op == "IN")
	if err != nil {
		return nil, err
	}
	c := &cmpNode{l: l, r: r, op: op, neg: neg}
	if op == "MATCHES" && r.ref == "" && r.list == nil && !strings.Contains(r.text, ":value") {
		re, err := regexp.Compile(r.text)
		if err != nil {
			return nil, fmt.Errorf("condition: MATCHES pattern %q: %w", r.text, err)
		}
		c.re = re
	}
	return c, nil
}

// condOperand is one side of a comparison.
type condOperand struct {
	text   string         // literal text (strings unquoted)
	ref    string         // variable name when the condOperand is __name__:value
	kind   string         // "string", "number", "bool", "word" for literals
	quoted bool           // a quoted string (may hold __x__:value references)
	list   []*condOperand // a parenthesised list (IN)
}

var varRefRe = regexp.MustCompile(`__[a-zA-Z_][a-zA-Z0-9_-]{0,199}__:value`)

func (p *condParser) condOperand(allowList bool) (*condOperand, error) {
	t, ok := p.peek()
	if !ok {
		return nil, errors.New("condition: missing condOperand at the end")
	}
	p.pos++
	switch t.kind {
	case tokString:
		prefix, text, _ := strings.Cut(t.text, "\x00")
		switch prefix {
		case "t":
			if _, err := time.Parse(time.RFC3339Nano, text); err != nil {
				return nil, fmt.Errorf("condition: t'%s' at offset %d is not an RFC 3339 timestamp", text, t.off)
			}
			return &condOperand{text: text, kind: "timestamp"}, nil
		case "h":
			if _, err := hex.DecodeString(text); err != nil {
				return nil, fmt.Errorf("condition: h'%s' at offset %d is not hexadecimal", text, t.off)
			}
			return &condOperand{text: strings.ToLower(text), kind: "hexstring"}, nil
		case "b":
			return &condOperand{text: text, kind: "string"}, nil
		}
		return &condOperand{text: text, kind: "string", quoted: true}, nil
	case tokLParen:
		if !allowList {
			return nil, fmt.Errorf("condition: unexpected '(' at offset %d", t.off)
		}
		o := &condOperand{kind: "list"}
		for {
			e, err := p.condOperand(false)
			if err != nil {
				return nil, err
			}
			o.list = append(o.list, e)
			c, ok := p.peek()
			if !ok {
				return nil, fmt.Errorf("condition: unterminated list at offset %d", t.off)
			}
			p.pos++
			if c.kind == tokRParen {
				return o, nil
			}
			if c.kind != tokComma {
				return nil, fmt.Errorf("condition: want ',' or ')' in the list at offset %d", c.off)
			}
		}
	case tokWord:
		w := t.text
		if loc := varRefRe.FindStringIndex(w); loc != nil && loc[0] == 0 && loc[1] == len(w) {
			return &condOperand{ref: strings.TrimSuffix(w, ":value"), text: w}, nil
		}
		switch u := strings.ToUpper(w); {
		case u == "AND" || u == "OR" || u == "NOT" || u == "EXISTS" || isOpWord(u):
			return nil, fmt.Errorf("condition: keyword %s at offset %d where a value was expected", w, t.off)
		case u == "TRUE" || u == "FALSE":
			return &condOperand{text: strings.ToLower(w), kind: "bool"}, nil
		}
		if _, err := strconv.ParseFloat(w, 64); err == nil {
			return &condOperand{text: w, kind: "number"}, nil
		}
		if strings.HasPrefix(w, "__") {
			return nil, fmt.Errorf("condition: %q at offset %d is not a variable reference (write __name__:value)", w, t.off)
		}
		if strings.Contains(w, ":") {
			return nil, fmt.Errorf("condition: %q at offset %d: only variables (__name__:value) can be compared, not STIX object paths", w, t.off)
		}
		return &condOperand{text: w, kind: "word"}, nil
	}
	return nil, fmt.Errorf("condition: unexpected %q at offset %d", t.text, t.off)
}

func isOpWord(u string) bool {
	return u == "IN" || u == "LIKE" || u == "MATCHES" || u == "ISSUBSET" || u == "ISSUPERSET"
}

type boolNode struct {
	or   bool
	l, r stepCondition
}

func (n *boolNode) eval(ctx context.Context, s *varScope) (bool, error) {
	l, err := n.l.eval(ctx, s)
	if err != nil {
		return false, err
	}
	if l == n.or { // true OR …, false AND …
		return l, nil
	}
	return n.r.eval(ctx, s)
}

// existsNode is STIX's EXISTS: the variable is declared and not null.
type existsNode struct{ name string }

func (n *existsNode) eval(_ context.Context, s *varScope) (bool, error) {
	v, ok := s.lookup(n.name)
	return ok && !v.Null, nil
}

type notNode struct{ n stepCondition }

func (n *notNode) eval(ctx context.Context, s *varScope) (bool, error) {
	v, err := n.n.eval(ctx, s)
	return !v, err
}

type cmpNode struct {
	l, r *condOperand
	op   string
	neg  bool
	re   *regexp.Regexp
}

// value is a resolved condOperand.
type condValue struct {
	s    string
	null bool
	typ  string // CACAO variable type, or the literal kind
}

func (o *condOperand) resolve(s *varScope) (condValue, error) {
	if o.ref != "" {
		v, ok := s.lookup(o.ref)
		if !ok { // undeclared: unknown, as a null value is
			return condValue{null: true}, nil
		}
		return condValue{s: v.Value, null: v.Null, typ: v.Type}, nil
	}
	text := o.text
	if o.quoted && strings.Contains(text, ":value") {
		var err error
		if text, err = s.substitute(text); err != nil {
			return condValue{}, err
		}
	}
	return condValue{s: text, typ: o.kind}, nil
}

func (n *cmpNode) eval(_ context.Context, s *varScope) (bool, error) {
	l, err := n.l.resolve(s)
	if err != nil {
		return false, err
	}
	var b bool
	if n.r.list != nil {
		b = false
		for _, e := range n.r.list {
			r, err := e.resolve(s)
			if err != nil {
				return false, err
			}
			eq, err := compareValues(l, "=", r, nil)
			if err != nil {
				return false, err
			}
			if eq {
				b = true
				break
			}
		}
	} else {
		r, err := n.r.resolve(s)
		if err != nil {
			return false, err
		}
		if b, err = compareValues(l, n.op, r, n.re); err != nil {
			return false, err
		}
	}
	if n.neg {
		b = !b
	}
	return b, nil
}

func isNumericType(t string) bool {
	switch t {
	case "integer", "long", "float", "number":
		return true
	}
	return false
}

func isAddrType(t string) bool { return t == "ipv4-addr" || t == "ipv6-addr" }

// compareValues applies op to l and r following the condOperand types.
func compareValues(l condValue, op string, r condValue, re *regexp.Regexp) (bool, error) {
	if l.null || r.null {
		switch op {
		case "=":
			return l.null && r.null, nil
		case "!=":
			return l.null != r.null, nil
		}
		return false, nil
	}
	switch op {
	case "LIKE":
		return likeMatch(l.s, r.s), nil
	case "MATCHES":
		if re == nil {
			var err error
			if len(r.s) > maxConditionLen {
				return false, fmt.Errorf("MATCHES pattern is longer than %d bytes", maxConditionLen)
			}
			if re, err = regexp.Compile(r.s); err != nil {
				return false, fmt.Errorf("MATCHES pattern %q: %w", r.s, err)
			}
		}
		return re.MatchString(l.s), nil
	case "IN", "ISSUBSET", "ISSUPERSET":
		if isAddrType(l.typ) || isAddrType(r.typ) || strings.Contains(r.s, "/") || strings.Contains(l.s, "/") {
			return prefixRelation(l.s, op, r.s)
		}
		if op == "IN" {
			return l.s == r.s, nil
		}
		return false, fmt.Errorf("%s needs IP addresses or CIDR prefixes, got %q and %q", op, l.s, r.s)
	}
	switch {
	case l.typ == "timestamp" || r.typ == "timestamp":
		lt, err1 := time.Parse(time.RFC3339Nano, strings.TrimSpace(l.s))
		rt, err2 := time.Parse(time.RFC3339Nano, strings.TrimSpace(r.s))
		if err1 != nil || err2 != nil {
			return false, fmt.Errorf("cannot compare %q %s %q as timestamps", l.s, op, r.s)
		}
		return condOrdered(lt.Compare(rt), op), nil
	case l.typ == "hexstring" || r.typ == "hexstring" || strings.HasSuffix(l.typ, "hash") || strings.HasSuffix(r.typ, "hash"):
		return condOrdered(strings.Compare(strings.ToLower(l.s), strings.ToLower(r.s)), op), nil
	case l.typ == "bool" || r.typ == "bool":
		lb, err1 := strconv.ParseBool(strings.TrimSpace(l.s))
		rb, err2 := strconv.ParseBool(strings.TrimSpace(r.s))
		if err1 != nil || err2 != nil {
			return false, fmt.Errorf("cannot compare %q %s %q as booleans", l.s, op, r.s)
		}
		switch op {
		case "=":
			return lb == rb, nil
		case "!=":
			return lb != rb, nil
		}
		return false, fmt.Errorf("operator %s does not apply to booleans", op)
	case isNumericType(l.typ) || isNumericType(r.typ):
		lf, err1 := strconv.ParseFloat(strings.TrimSpace(l.s), 64)
		rf, err2 := strconv.ParseFloat(strings.TrimSpace(r.s), 64)
		if err1 != nil || err2 != nil || math.IsNaN(lf) || math.IsNaN(rf) {
			if op == "=" || op == "!=" { // a number compared with a word: unequal strings
				return (l.s == r.s) == (op == "="), nil
			}
			return false, fmt.Errorf("cannot compare %q %s %q as numbers", l.s, op, r.s)
		}
		return condOrdered(cmpFloat(lf, rf), op), nil
	case isAddrType(l.typ) || isAddrType(r.typ):
		la, err1 := netip.ParseAddr(strings.TrimSpace(l.s))
		ra, err2 := netip.ParseAddr(strings.TrimSpace(r.s))
		if err1 == nil && err2 == nil && (op == "=" || op == "!=") {
			return (la == ra) == (op == "="), nil
		}
	}
	return condOrdered(strings.Compare(l.s, r.s), op), nil
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func condOrdered(c int, op string) bool {
	switch op {
	case "=":
		return c == 0
	case "!=":
		return c != 0
	case "<":
		return c < 0
	case "<=":
		return c <= 0
	case ">":
		return c > 0
	case ">=":
		return c >= 0
	}
	return false
}

// prefixRelation evaluates IN/ISSUBSET (l within r) and ISSUPERSET (l
// contains r) over IP addresses and CIDR prefixes.
func prefixRelation(l, op, r string) (bool, error) {
	lp, err := parsePrefix(l)
	if err != nil {
		return false, err
	}
	rp, err := parsePrefix(r)
	if err != nil {
		return false, err
	}
	if op == "ISSUPERSET" {
		lp, rp = rp, lp
	}
	// lp within rp
	return rp.Bits() <= lp.Bits() && rp.Contains(lp.Addr()), nil
}

func parsePrefix(s string) (netip.Prefix, error) {
	s = strings.TrimSpace(s)
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, err
		}
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	return netip.PrefixFrom(a, a.BitLen()), nil
}

// likeMatch reports whether s matches the SQL LIKE pattern p (% any run,
// _ one character), iteratively so that no pattern costs more than
// O(len(s)·len(p)).
func likeMatch(s, p string) bool {
	sr, pr := []rune(s), []rune(p)
	si, pi := 0, 0
	star, mark := -1, 0
	for si < len(sr) {
		switch {
		case pi < len(pr) && (pr[pi] == '_' || pr[pi] == sr[si]):
			si++
			pi++
		case pi < len(pr) && pr[pi] == '%':
			star, mark = pi, si
			pi++
		case star >= 0:
			pi = star + 1
			mark++
			si = mark
		default:
			return false
		}
	}
	for pi < len(pr) && pr[pi] == '%' {
		pi++
	}
	return pi == len(pr)
}

// celCondition is a compiled CEL condition (the "cel:" extension).
type celCondition struct {
	prg cel.Program
}

func compileCELCondition(src string, cost uint64) (stepCondition, error) {
	env, err := cel.NewEnv(cel.Variable("vars", cel.MapType(cel.StringType, cel.DynType)))
	if err != nil {
		return nil, err
	}
	ast, iss := env.Compile(src)
	if iss != nil && iss.Err() != nil {
		return nil, fmt.Errorf("cel condition: %w", iss.Err())
	}
	if ast.OutputType() != cel.BoolType && ast.OutputType() != cel.DynType {
		return nil, fmt.Errorf("cel condition has type %s, want bool", ast.OutputType())
	}
	prg, err := env.Program(ast, cel.EvalOptions(cel.OptOptimize), cel.CostLimit(cost), cel.InterruptCheckFrequency(100))
	if err != nil {
		return nil, fmt.Errorf("cel condition: %w", err)
	}
	return &celCondition{prg: prg}, nil
}

func (c *celCondition) eval(ctx context.Context, s *varScope) (bool, error) {
	vars := s.celVars()
	out, _, err := c.prg.ContextEval(ctx, map[string]any{"vars": vars})
	if err != nil {
		return false, fmt.Errorf("cel condition: %w", err)
	}
	b, ok := out.(types.Bool)
	if !ok {
		return false, fmt.Errorf("cel condition returned %s, want bool", out.Type())
	}
	return bool(b), nil
}

// celValue converts a variable to the CEL value its CACAO type suggests.
func celValue(v Variable) any {
	if v.Null {
		return types.NullValue
	}
	switch v.Type {
	case "integer", "long":
		if n, err := strconv.ParseInt(strings.TrimSpace(v.Value), 10, 64); err == nil {
			return n
		}
	case "float":
		if f, err := strconv.ParseFloat(strings.TrimSpace(v.Value), 64); err == nil {
			return f
		}
	case "bool":
		if b, err := strconv.ParseBool(strings.TrimSpace(v.Value)); err == nil {
			return b
		}
	}
	return v.Value
}
