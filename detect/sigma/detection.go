package sigma

import (
	"math"
	"net/netip"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// detectionCompiler compiles the detection section of one rule.
type detectionCompiler struct {
	fields       func(string) []string // Sigma field → event fields (pipeline)
	placeholders map[string][]string
	unset        map[string]bool // placeholders used without a value
	idents       []string
	defs         map[string]*node
	cache        map[string]expr
	active       map[string]bool
}

func (dc *detectionCompiler) alts(field string) []string {
	if dc.fields == nil {
		return []string{field}
	}
	if a := dc.fields(field); len(a) > 0 {
		return a
	}
	return []string{field}
}

// compileDetection compiles a detection map (search identifiers plus
// condition) into an expression.
func (dc *detectionCompiler) compileDetection(det *node) (expr, error) {
	if det == nil || det.kind != nMap {
		line := 0
		if det != nil {
			line = det.line
		}
		return nil, perr(ErrSyntax, line, "detection must be a map of search identifiers and a condition")
	}
	dc.defs = map[string]*node{}
	dc.cache = map[string]expr{}
	dc.active = map[string]bool{}
	var condNode *node
	for i, k := range det.keys {
		if k == "condition" {
			condNode = det.vals[i]
			continue
		}
		if k == "timeframe" {
			return nil, perr(ErrSyntax, det.vals[i].line, "timeframe belongs to obsolete aggregation conditions: write a correlation rule")
		}
		dc.idents = append(dc.idents, k)
		dc.defs[k] = det.vals[i]
	}
	if condNode == nil {
		return nil, perr(ErrCondition, det.line, "detection has no condition")
	}
	var conds []string
	var lines []int
	switch condNode.kind {
	case nString:
		conds, lines = []string{condNode.str}, []int{condNode.line}
	case nList:
		for _, c := range condNode.list {
			if c.kind != nString {
				return nil, perr(ErrCondition, c.line, "condition list entries must be strings")
			}
			conds = append(conds, c.str)
			lines = append(lines, c.line)
		}
	default:
		return nil, perr(ErrCondition, condNode.line, "condition must be a string or a list of strings")
	}
	if len(conds) == 0 {
		return nil, perr(ErrCondition, condNode.line, "empty condition list")
	}
	var xs []expr
	for i, c := range conds {
		tree, err := parseCondition(c)
		if err != nil {
			return nil, perr(ErrCondition, lines[i], "condition %q: %v", c, err)
		}
		x, err := dc.condExpr(tree, lines[i])
		if err != nil {
			return nil, err
		}
		xs = append(xs, x)
	}
	return or(xs...), nil
}

func (dc *detectionCompiler) condExpr(c *cond, line int) (expr, error) {
	switch c.op {
	case cIdent:
		return dc.ident(c.name, line)
	case cNot:
		x, err := dc.condExpr(c.args[0], line)
		if err != nil {
			return nil, err
		}
		return not(x), nil
	case cAnd, cOr:
		xs := make([]expr, 0, len(c.args))
		for _, a := range c.args {
			x, err := dc.condExpr(a, line)
			if err != nil {
				return nil, err
			}
			xs = append(xs, x)
		}
		if c.op == cAnd {
			return and(xs...), nil
		}
		return or(xs...), nil
	case cOf:
		names := matchIdentifiers(c.name, dc.idents)
		if len(names) == 0 {
			return nil, perr(ErrCondition, line, "%q matches no search identifier", c.literal)
		}
		xs := make([]expr, 0, len(names))
		for _, n := range names {
			x, err := dc.ident(n, line)
			if err != nil {
				return nil, err
			}
			xs = append(xs, x)
		}
		if c.count == 0 {
			return and(xs...), nil
		}
		if c.count > len(xs) {
			return nil, perr(ErrCondition, line, "%q: only %d search identifiers match", c.literal, len(xs))
		}
		return atLeast(c.count, xs), nil
	}
	return nil, perr(ErrCondition, line, "bad condition node")
}

func (dc *detectionCompiler) ident(name string, line int) (expr, error) {
	if x, ok := dc.cache[name]; ok {
		return x, nil
	}
	def, ok := dc.defs[name]
	if !ok {
		return nil, perr(ErrCondition, line, "condition names undefined search identifier %q", name)
	}
	x, err := dc.search(def)
	if err != nil {
		return nil, err
	}
	dc.cache[name] = x
	return x, nil
}

// search compiles one search identifier: a map (AND of its fields), a list
// of maps (OR), or a list of keywords (OR).
func (dc *detectionCompiler) search(n *node) (expr, error) {
	switch n.kind {
	case nMap:
		if len(n.keys) == 0 {
			return nil, perr(ErrValue, n.line, "empty search identifier")
		}
		xs := make([]expr, 0, len(n.keys))
		for i, k := range n.keys {
			x, err := dc.entry(k, n.vals[i], n.line)
			if err != nil {
				return nil, err
			}
			xs = append(xs, x)
		}
		return and(xs...), nil
	case nList:
		if len(n.list) == 0 {
			return nil, perr(ErrValue, n.line, "empty search identifier")
		}
		var keywords []*node
		var xs []expr
		for _, e := range n.list {
			switch e.kind {
			case nMap:
				x, err := dc.search(e)
				if err != nil {
					return nil, err
				}
				xs = append(xs, x)
			case nList:
				return nil, perr(ErrValue, e.line, "nested list in a search identifier")
			default:
				keywords = append(keywords, e)
			}
		}
		if len(keywords) > 0 {
			x, err := dc.values("", nil, &node{kind: nList, line: keywords[0].line, list: keywords}, keywords[0].line)
			if err != nil {
				return nil, err
			}
			xs = append(xs, x)
		}
		return or(xs...), nil
	case nNull:
		return nil, perr(ErrValue, n.line, "empty search identifier")
	default:
		return dc.values("", nil, n, n.line)
	}
}

// entry compiles one "field|modifiers: value(s)" pair.
func (dc *detectionCompiler) entry(key string, val *node, line int) (expr, error) {
	if val != nil && val.line > 0 {
		line = val.line
	}
	parts := strings.Split(key, "|")
	field := parts[0]
	m, bad, err := parseModifiers(parts[1:])
	if err != nil {
		pe := perr(ErrModifier, line, "%v", err)
		pe.field, pe.modifier = field, bad
		return nil, pe
	}
	x, err := dc.values(field, m, val, line)
	if pe, ok := err.(*problemError); ok && pe.field == "" {
		pe.field = field
		if pe.modifier == "" && pe.err == ErrModifier {
			pe.modifier = m.chain
		}
	}
	return x, err
}

// call is one detection-function application. Calls on literal arguments
// with the same method merge into one call with a list argument.
type call struct {
	method  string   // "endsWithFold", "regex", "timePart(\"hour\").numGte", ...
	args    []string // literal string arguments (mergeable)
	raw     string   // a non-mergeable argument expression
	keyword bool     // applies to the whole event (e), not to the field
	whole   expr     // a complete expression, used as is
}

// render ORs calls over the field selectors, merging literal calls by
// method: e.Image.endsWithFold(["\\a.exe", "\\b.exe"]).
func render(calls []call, sels []string) expr {
	type group struct {
		method  string
		keyword bool
		args    []string
	}
	var groups []*group
	idx := map[string]*group{}
	var xs []expr
	var raws []call
	for _, c := range calls {
		switch {
		case c.whole != nil:
			xs = append(xs, c.whole)
		case c.raw != "":
			raws = append(raws, c)
		default:
			k := c.method
			if c.keyword {
				k = "kw:" + k
			}
			g := idx[k]
			if g == nil {
				g = &group{method: c.method, keyword: c.keyword}
				idx[k] = g
				groups = append(groups, g)
			}
			g.args = append(g.args, c.args...)
		}
	}
	for _, g := range groups {
		if g.keyword {
			xs = append(xs, eLeaf("e."+g.method+"("+quoteList(dedup(g.args))+")"))
		}
	}
	for _, sel := range sels {
		for _, g := range groups {
			if !g.keyword {
				xs = append(xs, eLeaf(sel+"."+g.method+"("+quoteList(dedup(g.args))+")"))
			}
		}
		for _, c := range raws {
			if !c.keyword {
				xs = append(xs, eLeaf(sel+"."+c.method+"("+c.raw+")"))
			}
		}
	}
	for _, c := range raws {
		if c.keyword {
			xs = append(xs, eLeaf("e."+c.method+"("+c.raw+")"))
		}
	}
	return or(xs...)
}

// values compiles the values of one field (or, with field "", a keyword
// search).
func (dc *detectionCompiler) values(field string, m *modifiers, val *node, line int) (expr, error) {
	if m == nil {
		m = &modifiers{}
	}
	var vals []*node
	switch {
	case val == nil:
		vals = []*node{{kind: nNull, line: line}}
	case val.kind == nList:
		vals = val.list
		if len(vals) == 0 {
			return nil, perr(ErrValue, val.line, "empty value list")
		}
	case val.kind == nMap:
		return nil, perr(ErrValue, val.line, "a field value cannot be a map")
	default:
		vals = []*node{val}
	}
	for _, v := range vals {
		if v.kind == nMap || v.kind == nList {
			return nil, perr(ErrValue, v.line, "a field value cannot be a map or a nested list")
		}
	}
	keyword := field == ""
	var sels []string
	if !keyword {
		for _, a := range dc.alts(field) {
			sels = append(sels, fieldSel(a))
		}
	}

	if m.exists {
		if keyword {
			return nil, perr(ErrModifier, line, "exists needs a field name")
		}
		if len(vals) != 1 || vals[0].kind != nBool {
			return nil, perr(ErrValue, line, "exists takes true or false")
		}
		var xs []expr
		for _, a := range dc.alts(field) {
			xs = append(xs, eLeaf(quote(a)+" in e"))
		}
		if vals[0].b {
			return or(xs...), nil
		}
		return not(or(xs...)), nil
	}

	var all []call
	var per []expr // with the all modifier: one expression per value
	var nulls bool
	for _, v := range vals {
		if v.kind == nNull {
			if keyword {
				return nil, perr(ErrValue, v.line, "null is not a keyword")
			}
			if m.match != "" || len(m.encoders) > 0 || m.re || m.cidr || m.cmp != "" || m.timePart != "" || m.fieldref || m.expand || m.all {
				return nil, perr(ErrModifier, v.line, "null cannot take modifiers %q", m.chain)
			}
			nulls = true
			continue
		}
		calls, err := dc.value(field, m, v)
		if err != nil {
			return nil, err
		}
		if m.all {
			per = append(per, render(calls, sels))
		} else {
			all = append(all, calls...)
		}
	}
	var x expr
	if m.all {
		x = and(per...)
	} else {
		x = render(all, sels)
	}
	if nulls {
		var xs []expr
		for _, a := range dc.alts(field) {
			xs = append(xs, eLeaf(fieldSel(a)+".isNull()"))
		}
		if len(per) == 0 && len(all) == 0 {
			x = and(xs...)
		} else {
			x = or(x, and(xs...))
		}
	}
	if m.neq {
		x = not(x)
	}
	return x, nil
}

// value compiles one listed value into calls (any of which may hold).
func (dc *detectionCompiler) value(field string, m *modifiers, v *node) ([]call, error) {
	keyword := field == ""
	text := v.str
	if v.kind == nBool {
		text = strconv.FormatBool(v.b)
	}

	// Numeric comparisons and time parts.
	if m.cmp != "" || m.timePart != "" {
		if keyword {
			return nil, perr(ErrModifier, v.line, "%q needs a field name", m.chain)
		}
		num, ok := numberLiteral(v)
		if !ok {
			return nil, perr(ErrValue, v.line, "%q needs a number, got %q", m.chain, text)
		}
		fn := map[string]string{"": "numEq", "lt": "numLt", "lte": "numLte", "gt": "numGt", "gte": "numGte"}[m.cmp]
		if m.timePart != "" {
			fn = "timePart(" + quote(m.timePart) + ")." + fn
		}
		return []call{{method: fn, raw: num}}, nil
	}
	if m.re {
		flags := ""
		if m.reFlags != "" {
			flags = "(?" + sortFlags(m.reFlags) + ")"
		}
		pat := flags + text
		if _, err := regexp.Compile(pat); err != nil {
			return nil, perr(ErrValue, v.line, "bad regular expression %q: %v", text, err)
		}
		if keyword {
			return []call{{method: "keywordRegex", raw: quote(pat), keyword: true}}, nil
		}
		return []call{{method: "regex", raw: quote(pat)}}, nil
	}
	if m.cidr {
		if keyword {
			return nil, perr(ErrModifier, v.line, "cidr needs a field name")
		}
		c := strings.TrimSpace(text)
		if _, err := netip.ParsePrefix(c); err != nil {
			return nil, perr(ErrValue, v.line, "bad CIDR %q: %v", text, err)
		}
		return []call{{method: "inCIDR", raw: quote(c)}}, nil
	}
	if m.fieldref {
		if keyword {
			return nil, perr(ErrModifier, v.line, "fieldref needs a field name")
		}
		if v.kind != nString || text == "" {
			return nil, perr(ErrValue, v.line, "fieldref needs a field name as value")
		}
		fn := stringFunc(m.match, "equals") + caseSuffix(m.cased)
		var xs []expr
		for _, ref := range dc.alts(text) {
			for _, a := range dc.alts(field) {
				xs = append(xs, eLeaf("("+quote(ref)+" in e && "+fieldSel(a)+"."+fn+"("+fieldSel(ref)+"))"))
			}
		}
		return []call{{whole: or(xs...)}}, nil
	}
	// A plain number without string modifiers compares as a number.
	if (v.kind == nInt || v.kind == nFloat) && m.match == "" && len(m.encoders) == 0 && !m.expand && !keyword {
		num, _ := numberLiteral(v)
		return []call{{method: "numEq", raw: num}}, nil
	}

	// String values: expand placeholders, apply windash and encodings, then
	// the match type.
	var strs []sigmaString
	if m.expand {
		ex, err := dc.expand(text, v.line)
		if err != nil {
			return nil, err
		}
		strs = ex
	} else {
		strs = []sigmaString{parseSigmaString(text)}
	}
	if len(strs) == 0 {
		return []call{{whole: eConst(false)}}, nil // an unset placeholder: an empty value list
	}
	var variants []sigmaString
	for _, s := range strs {
		if m.has("windash") {
			ws, ok := windash(s)
			if !ok {
				return nil, perr(ErrValue, v.line, "windash: too many flag characters in %q", text)
			}
			variants = append(variants, ws...)
		} else {
			variants = append(variants, s)
		}
	}
	if m.encoded() {
		return dc.encodedValue(m, variants, keyword, v)
	}
	suffix := caseSuffix(m.cased)
	var calls []call
	for _, s := range variants {
		switch m.match {
		case "contains":
			s = append(append(sigmaString{star()}, s...), star())
		case "startswith":
			s = append(s, star())
		case "endswith":
			s = append(sigmaString{star()}, s...)
		}
		if keyword {
			if m.match == "" {
				s = append(append(sigmaString{star()}, s...), star())
			}
			calls = append(calls, call{method: "keyword" + suffix, args: []string{s.glob()}, keyword: true})
			continue
		}
		body, lead, trail, ok := s.shape()
		var fn string
		switch {
		case !ok:
			fn, body = "wildcard", s.glob()
		case body == "" && (lead || trail):
			fn, body = "wildcard", "*" // any present value
		case lead && trail:
			fn = "contains"
		case lead:
			fn = "endsWith"
		case trail:
			fn = "startsWith"
		default:
			fn = "equals"
		}
		calls = append(calls, call{method: fn + suffix, args: []string{body}})
	}
	return calls, nil
}

// encodedValue handles values under base64/base64offset/utf16 encodings.
// Base64 values match case-sensitively (the encoding is byte-exact);
// wildcards cannot be encoded.
func (dc *detectionCompiler) encodedValue(m *modifiers, variants []sigmaString, keyword bool, v *node) ([]call, error) {
	var outs []string
	for _, s := range variants {
		if s.hasWildcards() {
			return nil, perr(ErrValue, v.line, "wildcards cannot be encoded by %q (escape them as \\* or \\?)", m.chain)
		}
		vals := []string{s.plain()}
		for _, e := range m.encoders {
			var next []string
			for _, x := range vals {
				switch e {
				case "utf16le", "wide":
					next = append(next, encodeUTF16(x, false, false))
				case "utf16be":
					next = append(next, encodeUTF16(x, true, false))
				case "utf16":
					next = append(next, encodeUTF16(x, false, true))
				case "base64":
					next = append(next, encodeBase64(x))
				case "base64offset":
					next = append(next, base64Offsets(x)...)
				case "windash":
					next = append(next, x) // already applied
				}
			}
			vals = next
		}
		outs = append(outs, vals...)
	}
	outs = dedup(outs)
	fn := stringFunc(m.match, "equals")
	suffix := "Case"
	if !m.base64() && !m.cased {
		suffix = "Fold"
	}
	if !validUTF8(outs) {
		// UTF-16 of non-ASCII text is not valid UTF-8 and cannot be a CEL
		// string literal: let detect fold the encoding function instead.
		if keyword {
			return nil, perr(ErrValue, v.line, "%q of non-ASCII text cannot be a keyword search", m.chain)
		}
		var calls []call
		for _, s := range variants {
			arg := quote(s.plain())
			for _, e := range m.encoders {
				if e != "windash" {
					arg = e + "(" + arg + ")"
				}
			}
			calls = append(calls, call{method: fn + "Case", raw: arg})
		}
		return calls, nil
	}
	if keyword {
		var calls []call
		for _, o := range outs {
			s := plainSigmaString(o)
			switch m.match {
			case "startswith":
				s = append(s, star())
			case "endswith":
				s = append(sigmaString{star()}, s...)
			default:
				s = append(append(sigmaString{star()}, s...), star())
			}
			calls = append(calls, call{method: "keyword" + suffix, args: []string{s.glob()}, keyword: true})
		}
		return calls, nil
	}
	return []call{{method: fn + suffix, args: outs}}, nil
}

var placeholderRE = regexp.MustCompile(`%[^%\s]+%`)

// expand replaces %name% placeholders (not preceded by a backslash) with
// their values. A placeholder without a value expands to nothing, and is
// recorded so the caller can reject rules that then cannot match.
func (dc *detectionCompiler) expand(text string, line int) ([]sigmaString, error) {
	// Split into literal parts and placeholders.
	type part struct {
		lit  string
		name string
	}
	var parts []part
	rest := text
	for rest != "" {
		loc := placeholderRE.FindStringIndex(rest)
		if loc == nil {
			parts = append(parts, part{lit: rest})
			break
		}
		if loc[0] > 0 && rest[loc[0]-1] == '\\' {
			// \%plain%: a literal percent; keep scanning after it.
			parts = append(parts, part{lit: rest[:loc[0]-1] + "%"})
			rest = rest[loc[0]+1:]
			continue
		}
		parts = append(parts, part{lit: rest[:loc[0]]}, part{name: rest[loc[0]+1 : loc[1]-1]})
		rest = rest[loc[1]:]
	}
	results := []string{""}
	for _, p := range parts {
		if p.name == "" {
			for i := range results {
				results[i] += p.lit
			}
			continue
		}
		vals, ok := dc.placeholders[p.name]
		if !ok {
			vals, ok = lookupFold(dc.placeholders, p.name)
		}
		if !ok || len(vals) == 0 {
			if dc.unset != nil {
				dc.unset[p.name] = true
			}
			return nil, nil
		}
		var next []string
		for _, r := range results {
			for _, v := range vals {
				next = append(next, r+v)
			}
		}
		if len(next) > 1<<14 {
			return nil, perr(ErrValue, line, "placeholder expansion of %q is too large", text)
		}
		results = next
	}
	out := make([]sigmaString, len(results))
	for i, r := range results {
		out[i] = parseSigmaString(r)
	}
	return out, nil
}

func lookupFold(m map[string][]string, k string) ([]string, bool) {
	for name, v := range m {
		if strings.EqualFold(name, k) {
			return v, true
		}
	}
	return nil, false
}

func numberLiteral(v *node) (string, bool) {
	switch v.kind {
	case nInt:
		return strconv.FormatInt(v.i, 10), true
	case nFloat:
		if math.IsNaN(v.f) || math.IsInf(v.f, 0) {
			return "", false
		}
		s := strconv.FormatFloat(v.f, 'g', -1, 64)
		if !strings.ContainsAny(s, ".eE") {
			s += ".0"
		}
		return s, true
	case nString:
		s := strings.TrimSpace(v.str)
		if i, err := strconv.ParseInt(s, 0, 64); err == nil {
			return strconv.FormatInt(i, 10), true
		}
		if f, err := strconv.ParseFloat(s, 64); err == nil && !math.IsNaN(f) && !math.IsInf(f, 0) {
			out := strconv.FormatFloat(f, 'g', -1, 64)
			if !strings.ContainsAny(out, ".eE") {
				out += ".0"
			}
			return out, true
		}
	}
	return "", false
}

func stringFunc(match, def string) string {
	switch match {
	case "contains":
		return "contains"
	case "startswith":
		return "startsWith"
	case "endswith":
		return "endsWith"
	}
	return def
}

func caseSuffix(cased bool) string {
	if cased {
		return "Case"
	}
	return "Fold"
}

func sortFlags(f string) string {
	b := []byte(f)
	sort.Slice(b, func(i, j int) bool { return b[i] < b[j] })
	return string(b)
}

func dedup(ss []string) []string {
	seen := make(map[string]bool, len(ss))
	out := ss[:0:0]
	for _, s := range ss {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}
