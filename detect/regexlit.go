package detect

import (
	"regexp/syntax"
	"strings"
	"unicode/utf8"
)

// regexLiterals returns a set of folded literals one of which every match
// of the regular expression must contain, or ok == false when there is no
// such set. It is exact in the prefilter's sense: a text the expression
// matches (under any flags) contains, after folding, one of the literals.
func regexLiterals(pattern string) ([]string, bool) {
	re, err := syntax.Parse(pattern, syntax.Perl)
	if err != nil {
		return nil, false
	}
	return reqLits(re.Simplify())
}

func reqLits(re *syntax.Regexp) ([]string, bool) {
	switch re.Op {
	case syntax.OpLiteral:
		if len(re.Rune) == 0 {
			return nil, false
		}
		return []string{fold(string(re.Rune))}, true
	case syntax.OpCapture:
		return reqLits(re.Sub[0])
	case syntax.OpPlus:
		return reqLits(re.Sub[0])
	case syntax.OpRepeat:
		if re.Min >= 1 {
			return reqLits(re.Sub[0])
		}
		return nil, false
	case syntax.OpConcat:
		// Adjacent literals form one longer literal; otherwise pick the
		// best sub-expression that has a set.
		var best []string
		have := false
		var run []rune
		consider := func(s []string) {
			if !have || betterSet(s, best, litScore) {
				best, have = s, true
			}
		}
		flush := func() {
			if len(run) > 0 {
				consider([]string{fold(string(run))})
				run = run[:0]
			}
		}
		for _, sub := range re.Sub {
			if sub.Op == syntax.OpLiteral {
				run = append(run, sub.Rune...)
				continue
			}
			flush()
			if s, ok := reqLits(sub); ok {
				consider(s)
			}
		}
		flush()
		return best, have
	case syntax.OpAlternate:
		var all []string
		for _, sub := range re.Sub {
			s, ok := reqLits(sub)
			if !ok {
				return nil, false
			}
			all = append(all, s...)
		}
		return dedupe(all), len(all) > 0
	}
	return nil, false
}

// dedupe returns s without repeats, in first-seen order (a new slice).
func dedupe[T comparable](s []T) []T {
	seen := make(map[T]bool, len(s))
	out := s[:0:0]
	for _, x := range s {
		if !seen[x] {
			seen[x] = true
			out = append(out, x)
		}
	}
	return out
}

// regexRequired returns groups of folded literals such that every text the
// expression matches contains, after folding, at least one literal of each
// group. The matcher checks them (a few substring searches) before running
// the regular expression itself, which is far slower.
func regexRequired(pattern string) [][]string {
	re, err := syntax.Parse(pattern, syntax.Perl)
	if err != nil {
		return nil
	}
	return reqGroups(re.Simplify())
}

func reqGroups(re *syntax.Regexp) [][]string {
	switch re.Op {
	case syntax.OpLiteral:
		if len(re.Rune) == 0 {
			return nil
		}
		return [][]string{{fold(string(re.Rune))}}
	case syntax.OpCapture, syntax.OpPlus:
		return reqGroups(re.Sub[0])
	case syntax.OpRepeat:
		if re.Min >= 1 {
			return reqGroups(re.Sub[0])
		}
		return nil
	case syntax.OpConcat:
		var out [][]string
		var run []rune
		flush := func() {
			if len(run) > 0 {
				out = append(out, []string{fold(string(run))})
				run = run[:0]
			}
		}
		for _, sub := range re.Sub {
			if sub.Op == syntax.OpLiteral {
				run = append(run, sub.Rune...)
				continue
			}
			flush()
			out = append(out, reqGroups(sub)...)
		}
		flush()
		return out
	case syntax.OpAlternate:
		if s, ok := reqLits(re); ok {
			return [][]string{s}
		}
	}
	return nil
}

// reShape is what can be decided about a regular expression's match
// without running it.
type reShape struct {
	minLen int  // every match is at least minLen bytes long
	run    int  // > 0: the expression is .{run,}: it matches a text holding run characters in a row that are not newlines (with anyNL, any run characters)
	anyNL  bool // with run: . matches a newline too ((?s))
}

// shapeOf returns the shape of the regular expression pattern (the zero
// shape, which decides nothing, when it does not parse).
func shapeOf(pattern string) reShape {
	re, err := syntax.Parse(pattern, syntax.Perl)
	if err != nil {
		return reShape{}
	}
	sh := reShape{minLen: minMatchLen(re)}
	// Go's regexp runs a counted repetition as that many copies of its
	// operand: .{1000,} costs a thousand NFA threads per byte. Counting
	// characters per line gives the same answer (. matches every character
	// but a newline, or every one under (?s); an invalid byte is one
	// character, U+FFFD, for both).
	if re.Op == syntax.OpRepeat && re.Max == -1 && re.Min > 0 && len(re.Sub) == 1 {
		switch re.Sub[0].Op {
		case syntax.OpAnyCharNotNL:
			sh.run = re.Min
		case syntax.OpAnyChar:
			sh.run, sh.anyNL = re.Min, true
		}
	}
	return sh
}

// minMatchLen returns a lower bound of the length in bytes of any match of
// re: one byte per character it must consume.
func minMatchLen(re *syntax.Regexp) int {
	switch re.Op {
	case syntax.OpLiteral:
		return len(re.Rune)
	case syntax.OpCharClass, syntax.OpAnyChar, syntax.OpAnyCharNotNL:
		return 1
	case syntax.OpCapture, syntax.OpPlus:
		return minMatchLen(re.Sub[0])
	case syntax.OpRepeat:
		return min(re.Min*minMatchLen(re.Sub[0]), 1<<20)
	case syntax.OpConcat:
		n := 0
		for _, s := range re.Sub {
			n = min(n+minMatchLen(s), 1<<20)
		}
		return n
	case syntax.OpAlternate:
		n := -1
		for _, s := range re.Sub {
			if m := minMatchLen(s); n < 0 || m < n {
				n = m
			}
		}
		return max(n, 0)
	}
	return 0 // star, quest, empty-width assertions, empty match, no match
}

// hasRun reports whether s holds n characters in a row that are not
// newlines (any n characters when anyNL), counting as Go's regexp does.
func hasRun(s string, n int, anyNL bool) bool {
	if anyNL {
		return len(s) >= n && utf8.RuneCountInString(s) >= n
	}
	for len(s) >= n {
		line := s
		if k := strings.IndexByte(s, '\n'); k >= 0 {
			line, s = s[:k], s[k+1:]
		} else {
			s = ""
		}
		if len(line) >= n && utf8.RuneCountInString(line) >= n {
			return true
		}
	}
	return false
}
