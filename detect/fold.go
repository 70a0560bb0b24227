package detect

import (
	"unicode"
	"unicode/utf8"
)

// foldRune maps r to the canonical member of its simple case-folding orbit
// (the orbit of unicode.SimpleFold, the relation strings.EqualFold and
// regexp's (?i) use): the ASCII lower-case letter when the orbit has one,
// else the smallest rune of the orbit. Two runes fold equal exactly when they
// are equal under simple case folding.
func foldRune(r rune) rune {
	if r < utf8.RuneSelf {
		if 'A' <= r && r <= 'Z' {
			return r + 'a' - 'A'
		}
		return r
	}
	best := r
	ascii := rune(-1)
	for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
		if f < best {
			best = f
		}
		if 'a' <= f && f <= 'z' {
			ascii = f
		}
	}
	if ascii >= 0 {
		return ascii
	}
	return best
}

// needsFold reports whether fold(s) differs from s.
func needsFold(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= utf8.RuneSelf {
			return true // decided precisely by appendFold; rare in event data
		}
		if 'A' <= c && c <= 'Z' {
			return true
		}
	}
	return false
}

// appendFold appends the case-folded form of s to dst. Folding is rune-wise
// (so it commutes with concatenation and preserves containment, prefixes and
// suffixes), and bytes that are not valid UTF-8 are copied unchanged. It is
// the one folding function of the package: the *Fold functions, the glob and
// the literal prefilter all use it, which is what makes the prefilter exact.
func appendFold(dst []byte, s string) []byte {
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			dst = append(dst, c)
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 {
			dst = append(dst, c)
			i++
			continue
		}
		dst = utf8.AppendRune(dst, foldRune(r))
		i += n
	}
	return dst
}

// fold returns the case-folded form of s (see appendFold). It does not
// allocate when s is already folded ASCII.
func fold(s string) string {
	if !needsFold(s) {
		return s
	}
	return string(appendFold(make([]byte, 0, len(s)), s))
}
