package detect

import (
	"github.com/mdrkit/mdr/internal/ahocorasick"
)

// fieldLit is one prefilter literal: folded text that must occur in the
// folded text of the field at path ("" means any string value of the event,
// for keyword rules).
type fieldLit struct {
	path string
	lit  string
}

// literals derives the rule's literal set: when ok, every event the
// condition matches contains, in the folded text of some field, one of the
// literals for that field. An empty set with ok means the condition can never
// match. ok == false means no such set is known (the rule is unfiltered).
//
//   - a && b: the best set among the conjuncts that have one
//   - a || b: the union; a disjunct without a set means none
//   - !a: none
//   - a detection call on a field with constant arguments: its arguments'
//     literals (for globs the longest literal run, for regular expressions a
//     required literal from regexp/syntax), if every argument has one
func (n *node) literals() ([]fieldLit, bool) {
	switch n.kind {
	case nConst:
		if !n.val {
			return nil, true
		}
		return nil, false
	case nLeaf:
		return n.leaf.literals()
	case nAnd:
		var best []fieldLit
		have := false
		for _, k := range n.kids {
			s, ok := k.literals()
			if !ok {
				continue
			}
			if len(s) == 0 {
				return nil, true // a conjunct that never holds
			}
			if !have || betterLits(s, best) {
				best, have = s, true
			}
		}
		return best, have
	case nOr:
		var all []fieldLit
		for _, k := range n.kids {
			s, ok := k.literals()
			if !ok {
				return nil, false
			}
			all = append(all, s...)
		}
		return dedupeLits(all), true
	}
	return nil, false
}

func (l *leaf) literals() ([]fieldLit, bool) {
	var strs []string
	switch l.kind {
	case lStdEq:
		strs = []string{fold(l.str)}
	case lText, lKeyword:
		switch l.op {
		case opEqualsFold, opContainsFold, opStartsWithFold, opEndsWithFold:
			strs = l.m.strs
		case opEqualsCase, opContainsCase, opStartsWithCase, opEndsWithCase:
			for _, s := range l.m.strs {
				strs = append(strs, fold(s))
			}
		case opWildcardFold, opWildcardCase, opKeywordFold, opKeywordCase:
			for _, g := range l.m.globs {
				strs = append(strs, fold(g.longestLiteral()))
			}
		case opRegex, opKeywordRegex:
			for _, a := range l.m.args {
				s, ok := regexLiterals(a)
				if !ok {
					return nil, false
				}
				strs = append(strs, s...)
			}
		default:
			return nil, false
		}
	default:
		return nil, false
	}
	if len(strs) == 0 {
		return nil, false
	}
	out := make([]fieldLit, 0, len(strs))
	for _, s := range strs {
		if s == "" {
			return nil, false
		}
		out = append(out, fieldLit{path: l.path, lit: s})
	}
	return dedupeLits(out), true
}

func betterLits(a, b []fieldLit) bool {
	ma, mb := minLitLen(a), minLitLen(b)
	if ma != mb {
		return ma > mb
	}
	return len(a) < len(b)
}

func minLitLen(s []fieldLit) int {
	m := -1
	for _, x := range s {
		if m < 0 || len(x.lit) < m {
			m = len(x.lit)
		}
	}
	return m
}

func dedupeLits(s []fieldLit) []fieldLit {
	seen := make(map[fieldLit]bool, len(s))
	out := s[:0:0]
	for _, x := range s {
		if !seen[x] {
			seen[x] = true
			out = append(out, x)
		}
	}
	return out
}

// acSet is the automaton of one field (or of the keyword scope) with, for
// each pattern, the rules whose literal it is.
type acSet struct {
	m     *ahocorasick.Matcher
	rules [][]int32
}

// prefilter holds one automaton per field path that has literals, plus one
// for keyword literals, and per routing class the rules that have none.
type prefilter struct {
	bySlot  []*acSet // indexed by slot; nil when the field has no literals
	keyword *acSet
	always  [][]int32 // route class → unfiltered rules, in rule order
}

func buildACSet(lits map[string][]int32) *acSet {
	pats := make([]string, 0, len(lits))
	for p := range lits {
		pats = append(pats, p)
	}
	sortStrings(pats)
	s := &acSet{rules: make([][]int32, len(pats))}
	for i, p := range pats {
		s.rules[i] = lits[p]
	}
	s.m = ahocorasick.New(pats)
	return s
}
