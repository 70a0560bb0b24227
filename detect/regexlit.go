package detect

import (
	"regexp/syntax"
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
			if !have || betterSet(s, best) {
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

// betterSet reports whether literal set a is a better prefilter than b: a
// higher lowest literal score (litScore) first, then fewer literals.
func betterSet(a, b []string) bool {
	ma, mb := minScore(a), minScore(b)
	if ma != mb {
		return ma > mb
	}
	return len(a) < len(b)
}

func minScore(s []string) int {
	m := -1
	for _, x := range s {
		if sc := litScore(x); m < 0 || sc < m {
			m = sc
		}
	}
	return m
}

func dedupe(s []string) []string {
	seen := make(map[string]bool, len(s))
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
