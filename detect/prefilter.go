package detect

import (
	"iter"
	"math"
	"slices"
	"strings"

	"github.com/mdrkit/mdr/internal/ahocorasick"
)

// fieldLit is one prefilter literal: folded text that must occur in the
// folded text of the field at path ("" means any string value of the event,
// for keyword rules).
type fieldLit struct {
	path string
	lit  string
	num  bool  // a numeric literal: the field's value is the integer n
	n    int64 // when num
	// exact: the folded text of the field's value (of a string, a scalar's
	// text, or any element of a list) equals lit, not only contains it
	exact bool
}

// numLitScore is the selectivity score given to a numeric literal (an
// event id, a port), comparable to the score of a text literal (see
// litScore).
const numLitScore = 6

// literalGroups derives the rule's literal set a: when okA, every event the
// condition matches contains, in the folded text of some field, one of the
// literals for that field. An empty set with okA means the condition can
// never match. okA == false means no such set is known (the rule is
// unfiltered).
//
//   - a && b: the best set among the conjuncts that have one
//   - a || b: the union; a disjunct without a set means none
//   - !a: none
//   - a detection call on a field with constant arguments: its arguments'
//     literals (for globs the longest literal run, for regular expressions a
//     required literal from regexp/syntax), if every argument has one
//
// When okB it also returns a second, independent set b: every matching
// event also contains a literal of b. A rule is evaluated only when both
// sets have a hit, which spares most evaluations of a rule whose best
// literal is common (an event id, a DLL name) but whose other conjunct is
// rare.
//
//   - a && b: the second best set among those of the conjuncts (each
//     conjunct may give two)
//   - a || b: the union of the first sets, and the union of the second sets
//     (a disjunct with one set gives it for both), when any disjunct has two
func (n *node) literalGroups() (a, b []fieldLit, okA, okB bool) {
	switch n.kind {
	case nConst:
		if !n.val {
			return nil, nil, true, false
		}
		return nil, nil, false, false
	case nLeaf:
		a, okA = n.leaf.literals()
		return a, nil, okA, false
	case nAnd:
		var sets [][]fieldLit
		for _, k := range n.kids {
			ka, kb, oka, okb := k.literalGroups()
			if !oka {
				continue
			}
			if len(ka) == 0 || okb && len(kb) == 0 {
				return nil, nil, true, false // a conjunct that never holds
			}
			sets = append(sets, ka)
			if okb {
				sets = append(sets, kb)
			}
		}
		for _, s := range sets {
			switch {
			case !okA || betterSet(s, a, fieldLitScore):
				a, b, okB = s, a, okA
				okA = true
			case !okB || betterSet(s, b, fieldLitScore):
				b, okB = s, true
			}
		}
		return a, b, okA, okB
	case nOr:
		var allA, allB []fieldLit
		for _, k := range n.kids {
			ka, kb, oka, okb := k.literalGroups()
			if !oka {
				return nil, nil, false, false
			}
			allA = append(allA, ka...)
			if okb {
				allB = append(allB, kb...)
				okB = true
			} else {
				allB = append(allB, ka...)
			}
		}
		if !okB {
			allB = nil
		}
		return dedupe(allA), dedupe(allB), true, okB
	}
	return nil, nil, false, false
}

func (l *leaf) literals() ([]fieldLit, bool) {
	var strs []string
	switch l.kind {
	case lText:
		if l.op == opNumEq {
			out := make([]fieldLit, 0, len(l.m.nums))
			for _, n := range l.m.nums {
				if !n.isInt {
					return nil, false
				}
				out = append(out, fieldLit{path: l.path, num: true, n: n.i})
			}
			return dedupe(out), len(out) > 0
		}
	}
	exact := false
	switch l.kind {
	case lStdEq:
		strs = []string{fold(l.str)}
		exact = true
	case lText, lKeyword:
		switch l.op {
		case opEqualsFold, opContainsFold, opStartsWithFold, opEndsWithFold:
			strs = l.m.strs
			exact = l.op == opEqualsFold
		case opEqualsCase, opContainsCase, opStartsWithCase, opEndsWithCase:
			for _, s := range l.m.strs {
				strs = append(strs, fold(s))
			}
			exact = l.op == opEqualsCase
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
		out = append(out, fieldLit{path: l.path, lit: s, exact: exact && l.path != ""})
	}
	return dedupe(out), true
}

// betterSet reports whether literal set a is a better prefilter than b: a
// higher lowest literal score first, then fewer literals.
func betterSet[T any](a, b []T, score func(T) int) bool {
	ma, mb := minScore(a, score), minScore(b, score)
	if ma != mb {
		return ma > mb
	}
	return len(a) < len(b)
}

// minScore returns the lowest score in s, or -1 when s is empty.
func minScore[T any](s []T, score func(T) int) int {
	m := -1
	for _, x := range s {
		if sc := score(x); m < 0 || sc < m {
			m = sc
		}
	}
	return m
}

// fieldLitScore is litScore for a field literal; a number scores
// numLitScore. A text literal shorter than gramBytes that is searched for
// (not a whole value) scores 0: besides being found nearly everywhere, it
// makes the scan of its field read every byte through the automaton.
func fieldLitScore(l fieldLit) int {
	if l.num {
		return numLitScore
	}
	if !l.exact && len(l.lit) < gramBytes {
		return 0
	}
	return litScore(l.lit)
}

// commonFragments are (folded) text fragments found in a large share of
// Windows events: a literal made mostly of them selects many events, so
// they do not count toward its score. The choice only affects speed; the
// prefilter is exact whatever literal is chosen.
var commonFragments = []string{
	`c:\windows\system32\`, `c:\windows\syswow64\`, `c:\windows\`, `\windows\system32\`, `\windows\syswow64\`,
	`\system32\`, `c:\program files (x86)\`, `c:\program files\`, `\program files`, `c:\users\`, `\appdata\`,
	`ntdll.dll`, `kernelbase.dll`, `kernel32.dll`, `\microsoft\`, `\windows\`, `svchost.exe`, `hklm\`, `hkcu\`,
	`\software\`, `\currentversion\`, `microsoft-windows-`, `.exe`, `.dll`, `0x`, `c:\`, `|unknown(`, `powershell`,
}

// litScore is a literal's selectivity score: the number of its bytes that
// no occurrence of a common fragment covers. Occurrences may overlap (the
// backslash between \software\ and \microsoft\ belongs to both), and at
// either end of the literal a piece of at least 3 bytes of a fragment
// counts, so "\software\microsoft\wind" scores 0 and
// "indows\currentversion\ut" 2.
func litScore(lit string) int {
	var small [64]bool
	var covered []bool
	if len(lit) > len(small) {
		covered = make([]bool, len(lit))
	} else {
		covered = small[:len(lit)]
	}
	for _, f := range commonFragments {
		// A literal that starts with a fragment's end or ends with its
		// start ("software\..." or "...\windo") most likely continues it
		// in the text: those bytes are common too.
		for k := min(len(f)-1, len(lit)); k >= 3; k-- {
			if lit[:k] == f[len(f)-k:] {
				for j := 0; j < k; j++ {
					covered[j] = true
				}
				break
			}
		}
		for k := min(len(f)-1, len(lit)); k >= 3; k-- {
			if lit[len(lit)-k:] == f[:k] {
				for j := len(lit) - k; j < len(lit); j++ {
					covered[j] = true
				}
				break
			}
		}
		for from := 0; from+len(f) <= len(lit); {
			i := strings.Index(lit[from:], f)
			if i < 0 {
				break
			}
			for j := from + i; j < from+i+len(f); j++ {
				covered[j] = true
			}
			from += i + 1
		}
	}
	n := 0
	for _, c := range covered {
		if !c {
			n++
		}
	}
	return n
}

// acSet is the automaton of one field (or of the keyword scope) with, for
// each pattern, the rules whose literal it is.
type acSet struct {
	m *ahocorasick.Matcher
	// rules of pattern i: ruleIDs[ruleAt[i]:ruleAt[i+1]] (flat: nothing for
	// the GC to follow)
	ruleAt  []int32
	ruleIDs []int32
	classes []int32  // route classes of those rules: the field is scanned only when one is open
	open    []uint64 // the same classes as a bitset (see scratch.anyOpen)
	minLit  int32    // the length of the shortest literal
}

// literalWindow cuts a literal longer than maxLiteralBytes to its prefix
// or suffix of that length, whichever scores higher (the suffix on a tie:
// paths and registry keys differ most at their end). Any part of a literal
// is a literal, so exactness is kept.
func literalWindow(lit string) string {
	if len(lit) <= maxLiteralBytes {
		return lit
	}
	pre, suf := lit[:maxLiteralBytes], lit[len(lit)-maxLiteralBytes:]
	if litScore(pre) > litScore(suf) {
		return pre
	}
	return suf
}

// numSet is the numeric-literal index of one field: value → rules.
type numSet struct {
	rules   map[int64][]int32
	classes []int32
	open    []uint64
}

// eqSet is the exact-value index of one field: folded value → rules whose
// literal is that whole value (an equality), looked up in a map instead of
// searched for in the text.
type eqSet struct {
	rules   map[string][]int32
	maxLen  int // the longest literal: longer values equal none
	classes []int32
	open    []uint64
}

func (rs *Ruleset) buildEqSet(m map[string][]int32) *eqSet {
	s := &eqSet{rules: m}
	for lit := range m {
		s.maxLen = max(s.maxLen, len(lit))
	}
	s.classes, s.open = rs.routeClasses(mapIDs(m))
	return s
}

// maxLiteralBytes bounds prefilter literals: a longer literal is cut to its
// prefix, which every text containing the literal also contains. It keeps
// the automata of long IOC lists (hashes) small.
const maxLiteralBytes = 24

// prefilter holds one automaton per field path that has literals, plus one
// for keyword literals, and per routing class the rules that have none.
type prefilter struct {
	bySlot    []*acSet  // indexed by slot; nil when the field has no literals
	numSlot   []*numSet // indexed by slot; nil when the field has no numeric literals
	eqSlot    []*eqSet  // indexed by slot; nil when the field has no exact literals
	keyword   *acSet
	kwByClass []*acSet // route class → its rules' keyword literals; nil when none
	// kwLits holds each route class's keyword literals (literal → ids),
	// from which kwCombo builds the set of several classes open together.
	kwLits map[int32]map[string][]int32
	// bySlotKW is, per slot, a set of the field's literals and the keyword
	// literals of kwFrom bytes or more (the length of the field's shortest
	// literal, which sets the scan's stride); nil when none qualifies.
	bySlotKW []*acSet
	kwFrom   []int32
	always   [][]int32 // route class → unfiltered rules, in rule order
	// needB has the bit of each rule that has a second literal set; the
	// literals of that set mark bit len(needB)*64+i of the candidate bitmap
	needB []uint64
}

// ruleOf returns the rule a prefilter id stands for (see prefilter.needB).
func (rs *Ruleset) ruleOf(id int32) int32 {
	if n := int32(len(rs.pre.needB) * 64); id >= n {
		return id - n
	}
	return id
}

// cheapSecond reports whether a second literal set costs no extra
// scanning: every literal is a number or a whole value (a map lookup), or a
// text literal of at least gramLen bytes for a field that first sets
// already scan, no shorter than that field's shortest such literal (or
// long enough for the scan's widest stride).
func (rs *Ruleset) cheapSecond(b []fieldLit, shortest map[int32]int) bool {
	for _, fl := range b {
		if fl.num || fl.exact {
			continue
		}
		if fl.path == "" {
			return false
		}
		s, ok := rs.slotOf[fl.path]
		if !ok {
			return false
		}
		short, ok := shortest[s]
		if !ok {
			return false
		}
		if n := len(literalWindow(fl.lit)); n < gramBytes || n < short {
			return false
		}
	}
	return true
}

// gramBytes and maxStrideLen follow package ahocorasick: literals shorter
// than gramBytes are scanned byte by byte, and the 4-gram filter's stride
// is the shortest literal's length minus 3, at most 8.
const (
	gramBytes    = 4
	maxStrideLen = gramBytes + 8 - 1
)

// minSecondScore is the least selectivity score (see litScore) a second
// literal set needs to be used: a set of common literals would cost a scan
// and spare no evaluation.
const minSecondScore = 3

func (rs *Ruleset) buildACSet(lits map[string][]int32) *acSet {
	pats := make([]string, 0, len(lits))
	for p := range lits {
		pats = append(pats, p)
	}
	sortStrings(pats)
	s := &acSet{ruleAt: make([]int32, len(pats)+1), minLit: math.MaxInt32}
	for i, p := range pats {
		s.minLit = min(s.minLit, int32(len(p)))
		s.ruleIDs = append(s.ruleIDs, lits[p]...)
		s.ruleAt[i+1] = int32(len(s.ruleIDs))
	}
	s.m = ahocorasick.New(pats)
	s.classes, s.open = rs.routeClasses(slices.Values(s.ruleIDs))
	return s
}

func (rs *Ruleset) buildNumSet(m map[int64][]int32) *numSet {
	s := &numSet{rules: m}
	s.classes, s.open = rs.routeClasses(mapIDs(m))
	return s
}

// routeClasses returns the route classes of the rules with prefilter ids
// ids, in order, and the same classes as a bitset (see scratch.anyOpen).
func (rs *Ruleset) routeClasses(ids iter.Seq[int32]) ([]int32, []uint64) {
	open := make([]uint64, (len(rs.route.classes)+63)/64)
	for r := range ids {
		c := rs.rules[rs.ruleOf(r)].class
		open[c>>6] |= 1 << (c & 63)
	}
	var classes []int32
	for c := range int32(len(rs.route.classes)) {
		if open[c>>6]&(1<<(c&63)) != 0 {
			classes = append(classes, c)
		}
	}
	return classes, open
}

// mapIDs yields the prefilter ids in the lists of a literal index.
func mapIDs[K comparable](m map[K][]int32) iter.Seq[int32] {
	return func(yield func(int32) bool) {
		for _, ids := range m {
			for _, id := range ids {
				if !yield(id) {
					return
				}
			}
		}
	}
}
