package detect

import (
	"encoding/base64"
	"fmt"
	"unicode/utf16"
)

// variantBase64 returns the standard (padded) base64 encoding of s's bytes.
func variantBase64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

// variantBase64Offset returns the three base64 renderings of s as it would
// appear at byte offsets 0, 1 and 2 of a larger encoded text (padded with
// spaces, as Sigma defines it), trimmed to the
// characters that do not depend on the surrounding bytes (Sigma's
// base64offset modifier).
func variantBase64Offset(s string) []string {
	start := [3]int{0, 2, 3}
	endTrim := [3]int{0, 3, 2}
	out := make([]string, 0, 3)
	for i := 0; i < 3; i++ {
		pad := []byte("  ")[:i]
		enc := base64.StdEncoding.EncodeToString(append(append(make([]byte, 0, i+len(s)), pad...), s...))
		end := len(enc) - endTrim[(len(s)+i)%3]
		b := ""
		if start[i] <= end {
			b = enc[start[i]:end]
		}
		out = append(out, b)
	}
	return out
}

// variantUTF16 returns s encoded as UTF-16 in the given byte order, with a
// byte-order mark when bom is set, as a string of raw bytes.
func variantUTF16(s string, bigEndian, bom bool) string {
	u := utf16.Encode([]rune(s))
	b := make([]byte, 0, 2*len(u)+2)
	put := func(x uint16) {
		if bigEndian {
			b = append(b, byte(x>>8), byte(x))
		} else {
			b = append(b, byte(x), byte(x>>8))
		}
	}
	if bom {
		put(0xFEFF)
	}
	for _, x := range u {
		put(x)
	}
	return string(b)
}

// windashes are the characters Windows command-line parsers accept as the
// start of a flag.
var windashes = [...]string{"-", "/", "\u2013", "\u2014", "\u2015"}

// maxWindashVariants bounds the expansion of windash.
const maxWindashVariants = 5 * 5 * 5 * 5 * 5

func isWordByte(c byte) bool {
	return c == '_' || '0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
}

// variantWindash returns every variant of s in which each '-' or '/' that
// starts a command-line flag (not preceded by a word character, followed by
// one) is replaced by one of -, /, en dash, em dash, horizontal bar.
func variantWindash(s string) ([]string, error) {
	var pos []int
	for i := 0; i < len(s); i++ {
		if (s[i] == '-' || s[i] == '/') && (i == 0 || !isWordByte(s[i-1])) && i+1 < len(s) && isWordByte(s[i+1]) {
			pos = append(pos, i)
		}
	}
	n := 1
	for range pos {
		n *= len(windashes)
		if n > maxWindashVariants {
			return nil, fmt.Errorf("windash(%q): more than %d variants", s, maxWindashVariants)
		}
	}
	out := make([]string, 0, n)
	choice := make([]int, len(pos))
	for {
		b := make([]byte, 0, len(s)+2*len(pos))
		last := 0
		for k, p := range pos {
			b = append(b, s[last:p]...)
			b = append(b, windashes[choice[k]]...)
			last = p + 1
		}
		b = append(b, s[last:]...)
		out = append(out, string(b))
		k := len(choice) - 1
		for k >= 0 {
			choice[k]++
			if choice[k] < len(windashes) {
				break
			}
			choice[k] = 0
			k--
		}
		if k < 0 {
			return out, nil
		}
	}
}
