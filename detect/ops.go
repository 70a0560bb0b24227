package detect

import (
	"fmt"
	"math"
	"net/netip"
	"regexp"
	"strconv"
	"strings"
	"sync"

	"github.com/mdrkit/mdr"
	"github.com/mdrkit/mdr/internal/ahocorasick"
)

// opKind is one detection operator of the CEL contract.
type opKind uint8

const (
	opNone opKind = iota
	opEqualsFold
	opContainsFold
	opStartsWithFold
	opEndsWithFold
	opEqualsCase
	opContainsCase
	opStartsWithCase
	opEndsWithCase
	opWildcardFold
	opWildcardCase
	opRegex
	opInCIDR
	opNumEq
	opNumLt
	opNumLte
	opNumGt
	opNumGte
	opIsNull
	opKeywordFold
	opKeywordCase
	opKeywordRegex
)

// opNames are the CEL function names of the operators.
var opNames = [...]string{
	opEqualsFold: "equalsFold", opContainsFold: "containsFold", opStartsWithFold: "startsWithFold", opEndsWithFold: "endsWithFold",
	opEqualsCase: "equalsCase", opContainsCase: "containsCase", opStartsWithCase: "startsWithCase", opEndsWithCase: "endsWithCase",
	opWildcardFold: "wildcardFold", opWildcardCase: "wildcardCase", opRegex: "regex", opInCIDR: "inCIDR",
	opNumEq: "numEq", opNumLt: "numLt", opNumLte: "numLte", opNumGt: "numGt", opNumGte: "numGte", opIsNull: "isNull",
	opKeywordFold: "keywordFold", opKeywordCase: "keywordCase", opKeywordRegex: "keywordRegex",
}

func (k opKind) String() string {
	if int(k) < len(opNames) && opNames[k] != "" {
		return opNames[k]
	}
	return "op(" + strconv.Itoa(int(k)) + ")"
}

// folds reports whether the operator compares folded text.
func (k opKind) folds() bool {
	switch k {
	case opEqualsFold, opContainsFold, opStartsWithFold, opEndsWithFold, opWildcardFold, opKeywordFold:
		return true
	}
	return false
}

func (k opKind) numeric() bool { return k >= opNumEq && k <= opNumGte }

func (k opKind) keyword() bool { return k >= opKeywordFold && k <= opKeywordRegex }

// matcher is an operator with its constant arguments prepared: strings
// folded for the Fold operators, globs, regular expressions and prefixes
// compiled, numbers parsed. A matcher is immutable and safe for concurrent use.
type matcher struct {
	op       opKind
	args     []string // as written
	strs     []string // folded for Fold operators
	globs    []*glob
	res      []*regexp.Regexp
	reqs     [][][]string // per regex: literal groups every match contains (folded)
	shapes   []reShape    // per regex: its shortest match and .{n,} form
	anyReq   bool
	prefixes []netip.Prefix
	nums     []number

	// For a contains operator with many arguments, one pass of an
	// ahocorasick.Matcher over a long text replaces a strings.Contains per
	// argument. It is built on the first long text (most matchers never
	// meet one), once, so the matcher stays safe for concurrent use.
	acOnce sync.Once
	ac     *ahocorasick.Matcher
}

// A contains operator with at least acMinArgs arguments tests texts of at
// least acMinText bytes with one automaton pass instead of one
// strings.Contains per argument (the same answer: whether any argument
// occurs).
const (
	acMinArgs = 4
	acMinText = 256
)

// containsAnyLong reports whether any of m.strs occurs in text.
func (m *matcher) containsAnyLong(text string) bool {
	m.acOnce.Do(func() {
		for _, a := range m.strs {
			if a == "" { // occurs in every text; the automaton ignores it
				return
			}
		}
		m.ac = ahocorasick.New(m.strs)
	})
	if m.ac == nil {
		return containsAny(text, m.strs)
	}
	return m.ac.Contains(text)
}

// newMatcher prepares op with its arguments (strings, or numbers rendered
// as text for the num operators).
func newMatcher(op opKind, args []string) (*matcher, error) {
	m := &matcher{op: op, args: args}
	switch op {
	case opEqualsFold, opContainsFold, opStartsWithFold, opEndsWithFold:
		for _, a := range args {
			m.strs = append(m.strs, fold(a))
		}
	case opEqualsCase, opContainsCase, opStartsWithCase, opEndsWithCase:
		m.strs = args
	case opWildcardFold, opWildcardCase, opKeywordFold, opKeywordCase:
		for _, a := range args {
			m.globs = append(m.globs, compileGlob(a, op == opWildcardFold || op == opKeywordFold))
		}
	case opRegex, opKeywordRegex:
		for _, a := range args {
			re, err := regexp.Compile(a)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", op, err)
			}
			m.res = append(m.res, re)
			m.shapes = append(m.shapes, shapeOf(a))
			req := regexRequired(a)
			m.reqs = append(m.reqs, req)
			m.anyReq = m.anyReq || len(req) > 0
		}
	case opInCIDR:
		for _, a := range args {
			p, err := netip.ParsePrefix(strings.TrimSpace(a))
			if err != nil {
				// a plain address is a one-address prefix
				ad, err2 := netip.ParseAddr(strings.TrimSpace(a))
				if err2 != nil {
					return nil, fmt.Errorf("inCIDR: %q is not a CIDR prefix: %w", a, err)
				}
				ad = ad.Unmap()
				p = netip.PrefixFrom(ad, ad.BitLen())
			}
			if p.Addr().Is4In6() {
				p = netip.PrefixFrom(p.Addr().Unmap(), max(p.Bits()-96, 0))
			}
			m.prefixes = append(m.prefixes, p.Masked())
		}
	case opNumEq, opNumLt, opNumLte, opNumGt, opNumGte:
		for _, a := range args {
			n, ok := parseNumber(a)
			if !ok {
				return nil, fmt.Errorf("%s: %q is not a number", op, a)
			}
			m.nums = append(m.nums, n)
		}
	default:
		return nil, fmt.Errorf("operator %s takes no prepared arguments", op)
	}
	return m, nil
}

// test reports whether the text s satisfies the operator for any argument.
// folded must be fold(s) when needFolded(); it is ignored otherwise.
func (m *matcher) test(s, folded string) bool {
	switch m.op {
	case opEqualsFold:
		for _, a := range m.strs {
			if folded == a {
				return true
			}
		}
	case opEqualsCase:
		for _, a := range m.strs {
			if s == a {
				return true
			}
		}
	case opContainsFold:
		if len(m.strs) >= acMinArgs && len(folded) >= acMinText {
			return m.containsAnyLong(folded)
		}
		for _, a := range m.strs {
			if strings.Contains(folded, a) {
				return true
			}
		}
	case opContainsCase:
		if len(m.strs) >= acMinArgs && len(s) >= acMinText {
			return m.containsAnyLong(s)
		}
		for _, a := range m.strs {
			if strings.Contains(s, a) {
				return true
			}
		}
	case opStartsWithFold:
		for _, a := range m.strs {
			if strings.HasPrefix(folded, a) {
				return true
			}
		}
	case opStartsWithCase:
		for _, a := range m.strs {
			if strings.HasPrefix(s, a) {
				return true
			}
		}
	case opEndsWithFold:
		for _, a := range m.strs {
			if strings.HasSuffix(folded, a) {
				return true
			}
		}
	case opEndsWithCase:
		for _, a := range m.strs {
			if strings.HasSuffix(s, a) {
				return true
			}
		}
	case opWildcardFold, opKeywordFold:
		for _, g := range m.globs {
			if g.match(folded) {
				return true
			}
		}
	case opWildcardCase, opKeywordCase:
		for _, g := range m.globs {
			if g.match(s) {
				return true
			}
		}
	case opRegex, opKeywordRegex:
	regexes:
		for i, re := range m.res {
			sh := m.shapes[i]
			if len(s) < sh.minLen {
				continue // too short for any match
			}
			if sh.run > 0 {
				if hasRun(s, sh.run, sh.anyNL) {
					return true
				}
				continue
			}
			if m.anyReq {
				for _, group := range m.reqs[i] {
					if !containsAny(folded, group) {
						continue regexes // a required literal is missing
					}
				}
			}
			if re.MatchString(s) {
				return true
			}
		}
	case opInCIDR:
		ad, err := netip.ParseAddr(s)
		if err != nil {
			return false
		}
		ad = ad.WithZone("").Unmap()
		for _, p := range m.prefixes {
			if p.Contains(ad) {
				return true
			}
		}
	case opNumEq, opNumLt, opNumLte, opNumGt, opNumGte:
		x, ok := parseNumber(s)
		return ok && m.testNumber(x)
	}
	return false
}

// testNumber reports whether x satisfies a numeric operator for any argument.
func (m *matcher) testNumber(x number) bool {
	for _, n := range m.nums {
		c := compareNumbers(x, n)
		switch m.op {
		case opNumEq:
			if c == 0 {
				return true
			}
		case opNumLt:
			if c < 0 {
				return true
			}
		case opNumLte:
			if c <= 0 {
				return true
			}
		case opNumGt:
			if c > 0 {
				return true
			}
		case opNumGte:
			if c >= 0 {
				return true
			}
		}
	}
	return false
}

// needFolded reports whether test needs the folded text.
func (m *matcher) needFolded() bool { return m.op.folds() || m.anyReq }

func containsAny(s string, subs []string) bool {
	for _, x := range subs {
		if strings.Contains(s, x) {
			return true
		}
	}
	return false
}

// testRaw is test for callers that hold only the raw text.
func (m *matcher) testRaw(s string) bool {
	if m.needFolded() {
		return m.test(s, fold(s))
	}
	return m.test(s, "")
}

// number is a parsed numeric value: exact when isInt.
type number struct {
	i     int64
	f     float64
	isInt bool
}

// parseNumber parses decimal or 0x-hex integers (the way Windows renders
// them) and decimal floats, with surrounding white space ignored.
func parseNumber(s string) (number, bool) {
	if i, ok := mdr.ParseInt(s); ok {
		return number{i: i, f: float64(i), isInt: true}, true
	}
	t := strings.TrimSpace(s)
	if t == "" || !(t[0] >= '0' && t[0] <= '9' || t[0] == '-' || t[0] == '+' || t[0] == '.') {
		return number{}, false
	}
	dots := 0
	for i := 0; i < len(t); i++ { // reject early what ParseFloat rejects (its error allocates)
		switch c := t[i]; {
		case c == '.':
			dots++
		case c >= '0' && c <= '9', c == 'e', c == 'E', c == '+', c == '-':
		default:
			return number{}, false
		}
	}
	if dots > 1 {
		return number{}, false
	}
	f, err := strconv.ParseFloat(t, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return number{}, false
	}
	return number{f: f}, true
}

// compareNumbers returns -1, 0 or 1.
func compareNumbers(a, b number) int {
	if a.isInt && b.isInt {
		switch {
		case a.i < b.i:
			return -1
		case a.i > b.i:
			return 1
		}
		return 0
	}
	switch {
	case a.f < b.f:
		return -1
	case a.f > b.f:
		return 1
	}
	return 0
}

// timeUnits are the units of timePart.
var timeUnits = map[string]bool{"minute": true, "hour": true, "day": true, "week": true, "month": true, "year": true}

// timePart returns the unit part of the time written in v.
func timePart(v mdr.Value, unit string) (int64, bool) {
	t, err := mdr.TimeOf(v)
	if err != nil {
		return 0, false
	}
	switch unit {
	case "minute":
		return int64(t.Minute()), true
	case "hour":
		return int64(t.Hour()), true
	case "day":
		return int64(t.Day()), true
	case "week":
		_, w := t.ISOWeek()
		return int64(w), true
	case "month":
		return int64(t.Month()), true
	case "year":
		return int64(t.Year()), true
	}
	return 0, false
}
