package sigma

import (
	"encoding/base64"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// sigmaChar is one character of a Sigma string value after escape
// processing: a literal rune or one of the wildcards * and ?.
type sigmaChar struct {
	r    rune
	wild byte // 0 for a literal, '*' or '?'
}

type sigmaString []sigmaChar

// parseSigmaString applies Sigma's escaping: \* and \? are literal
// wildcard characters, \\ is one backslash, and a backslash before anything
// else is a literal backslash.
func parseSigmaString(s string) sigmaString {
	out := make(sigmaString, 0, len(s))
	rs := []rune(s)
	for i := 0; i < len(rs); i++ {
		r := rs[i]
		switch r {
		case '\\':
			if i+1 < len(rs) {
				switch rs[i+1] {
				case '*', '?', '\\':
					out = append(out, sigmaChar{r: rs[i+1]})
					i++
					continue
				}
			}
			out = append(out, sigmaChar{r: '\\'})
		case '*', '?':
			out = append(out, sigmaChar{r: r, wild: byte(r)})
		default:
			out = append(out, sigmaChar{r: r})
		}
	}
	return out
}

func plainSigmaString(s string) sigmaString {
	out := make(sigmaString, 0, len(s))
	for _, r := range s {
		out = append(out, sigmaChar{r: r})
	}
	return out
}

func (s sigmaString) hasWildcards() bool {
	for _, c := range s {
		if c.wild != 0 {
			return true
		}
	}
	return false
}

// plain returns the literal text (wildcards as their characters).
func (s sigmaString) plain() string {
	var b strings.Builder
	for _, c := range s {
		b.WriteRune(c.r)
	}
	return b.String()
}

// glob renders the string as a pattern for wildcardFold/wildcardCase: every
// literal backslash, * and ? is escaped so the pattern means exactly s.
func (s sigmaString) glob() string {
	var b strings.Builder
	for _, c := range s {
		if c.wild == 0 && (c.r == '\\' || c.r == '*' || c.r == '?') {
			b.WriteByte('\\')
		}
		b.WriteRune(c.r)
	}
	return b.String()
}

// shape classifies a pattern into the cheapest matching function: the
// literal body and whether it is anchored at either end. ok is false when
// inner wildcards require a glob.
func (s sigmaString) shape() (body string, leadStar, trailStar, ok bool) {
	i, j := 0, len(s)
	for i < j && s[i].wild == '*' {
		i++
		leadStar = true
	}
	for j > i && s[j-1].wild == '*' {
		j--
		trailStar = true
	}
	if sigmaString(s[i:j]).hasWildcards() {
		return "", false, false, false
	}
	return sigmaString(s[i:j]).plain(), leadStar, trailStar, true
}

func star() sigmaChar { return sigmaChar{r: '*', wild: '*'} }

func isWordRune(c sigmaChar) bool {
	if c.wild != 0 {
		return false
	}
	r := c.r
	return r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9'
}

// windashChars are the characters a command-line flag may start with.
var windashChars = []rune{'-', '/', '–', '—', '―'}

// maxWindashVariants bounds the permutations of one value.
const maxWindashVariants = 1 << 12

// windash returns every variant of s in which each - or / that starts a
// flag (not preceded by a word character, followed by one — the \B[-/]\b
// of the Sigma reference implementation) is replaced by each of -, /, en
// dash, em dash and horizontal bar.
func windash(s sigmaString) ([]sigmaString, bool) {
	var pos []int
	for i, c := range s {
		if c.wild != 0 || (c.r != '-' && c.r != '/') {
			continue
		}
		prevWord := i > 0 && isWordRune(s[i-1])
		nextWord := i+1 < len(s) && isWordRune(s[i+1])
		if !prevWord && nextWord {
			pos = append(pos, i)
		}
	}
	total := 1
	for range pos {
		total *= len(windashChars)
		if total > maxWindashVariants {
			return nil, false
		}
	}
	out := make([]sigmaString, 0, total)
	for n := 0; n < total; n++ {
		v := append(sigmaString(nil), s...)
		k := n
		for _, p := range pos {
			v[p] = sigmaChar{r: windashChars[k%len(windashChars)]}
			k /= len(windashChars)
		}
		out = append(out, v)
	}
	return out, true
}

func encodeUTF16(s string, bigEndian, bom bool) string {
	u := utf16.Encode([]rune(s))
	b := make([]byte, 0, 2*len(u)+2)
	if bom {
		b = append(b, 0xFF, 0xFE)
	}
	for _, c := range u {
		if bigEndian {
			b = append(b, byte(c>>8), byte(c))
		} else {
			b = append(b, byte(c), byte(c>>8))
		}
	}
	return string(b)
}

func encodeBase64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

// base64Offsets returns the three forms s takes inside a longer base64 text
// depending on its offset modulo 3, without the characters that depend on
// the neighbouring bytes (Sigma's base64offset).
func base64Offsets(s string) []string {
	start := [3]int{0, 2, 3}
	end := [3]int{0, -3, -2} // 0 means none
	out := make([]string, 0, 3)
	for i := 0; i < 3; i++ {
		enc := base64.StdEncoding.EncodeToString(append([]byte(strings.Repeat(" ", i)), s...))
		e := end[(len(s)+i)%3]
		hi := len(enc)
		if e != 0 {
			hi = len(enc) + e
		}
		lo := start[i]
		if lo > hi {
			lo = hi
		}
		out = append(out, enc[lo:hi])
	}
	return out
}

func validUTF8(ss []string) bool {
	for _, s := range ss {
		if !utf8.ValidString(s) {
			return false
		}
	}
	return true
}
