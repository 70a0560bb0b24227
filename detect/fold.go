package detect

import (
	"encoding/binary"
	"slices"
	"unicode"
	"unicode/utf8"
	"unsafe"
)

// foldRune maps r to the canonical member of its simple case-folding orbit
// (the orbit of unicode.SimpleFold, the relation strings.EqualFold and
// regexp's (?i) use): the ASCII lower-case letter when the orbit has one,
// else its smallest lower-case rune, else its smallest rune. Two runes fold equal exactly when they
// are equal under simple case folding.
func foldRune(r rune) rune {
	if r < utf8.RuneSelf {
		if 'A' <= r && r <= 'Z' {
			return r + 'a' - 'A'
		}
		return r
	}
	best, lower := r, rune(-1)
	if unicode.IsLower(r) {
		lower = r
	}
	for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
		if 'a' <= f && f <= 'z' {
			return f
		}
		if f < best {
			best = f
		}
		if unicode.IsLower(f) && (lower < 0 || f < lower) {
			lower = f
		}
	}
	if lower >= 0 {
		return lower
	}
	return best
}

const (
	swarHigh = 0x8080808080808080
	swarA    = 0x3f3f3f3f3f3f3f3f // byte + 0x3f has its high bit set when byte >= 'A'
	swarZ    = 0x2525252525252525 // byte + 0x25 has its high bit set when byte > 'Z'
)

// upperMask returns, for 8 ASCII bytes, 0x80 in each byte that is an
// upper-case letter (no carries cross bytes since every byte is < 0x80).
func upperMask(w uint64) uint64 { return (w + swarA) &^ (w + swarZ) & swarHigh }

// needsFold reports whether fold(s) may differ from s (it is exact for
// ASCII; any non-ASCII byte counts as needing folding).
func needsFold(s string) bool {
	i := 0
	for ; i+8 <= len(s); i += 8 {
		w := binary.LittleEndian.Uint64([]byte(s[i : i+8]))
		if w&swarHigh != 0 || upperMask(w) != 0 {
			return true
		}
	}
	for ; i < len(s); i++ {
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

// isASCII reports whether every byte of s is below 0x80; for such a text
// fold is ASCII lower-casing.
func isASCII(s string) bool {
	i := 0
	if len(s) >= 8 {
		// 32 bytes a round, no bounds checks: i+32 <= len(s) in the loop
		p := unsafe.Pointer(unsafe.StringData(s))
		load := func(i int) uint64 { return *(*uint64)(unsafe.Add(p, i)) }
		for ; i+32 <= len(s); i += 32 {
			if (load(i)|load(i+8)|load(i+16)|load(i+24))&swarHigh != 0 {
				return false
			}
		}
		for ; i+8 <= len(s); i += 8 {
			if load(i)&swarHigh != 0 {
				return false
			}
		}
	}
	for ; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// appendFold appends the case-folded form of s to dst. Folding is rune-wise
// (so it commutes with concatenation and preserves containment, prefixes and
// suffixes), and bytes that are not valid UTF-8 are copied unchanged. It is
// the one folding function of the package: the *Fold functions, the glob and
// the literal prefilter all use it, which is what makes the prefilter exact.
func appendFold(dst []byte, s string) []byte {
	dst = slices.Grow(dst, len(s))
	for i := 0; i < len(s); {
		// A run of ASCII, eight bytes a step, written in place: ASCII folds
		// to the same length.
		if i+8 <= len(s) {
			j := len(dst)
			out := dst[j:cap(dst)]
			k := 0
			for i+8 <= len(s) && k+8 <= len(out) {
				w := binary.LittleEndian.Uint64([]byte(s[i : i+8]))
				if w&swarHigh != 0 {
					break
				}
				binary.LittleEndian.PutUint64(out[k:k+8], w|upperMask(w)>>2)
				i += 8
				k += 8
			}
			dst = dst[:j+k]
			if i >= len(s) {
				break
			}
		}
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
