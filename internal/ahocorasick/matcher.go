// Package ahocorasick finds every occurrence of a fixed set of byte-string
// patterns in a text in one pass, as the literal prefilter of package detect
// needs. Every occurrence is reported: no pattern occurrence is ever missed.
//
// A Matcher combines two exact methods:
//
//   - Patterns of at least four bytes are found through a 4-gram filter:
//     when the shortest such pattern has n bytes, each pattern is keyed by
//     its 4-grams at k = min(n-3, 8) consecutive offsets (the run least
//     shared with other patterns and not common in Windows text); the scan
//     hashes the four bytes at every k-th text position and tests one bit
//     of a bitmap sized to the number of grams. Each occurrence spans k
//     consecutive gram positions, exactly one of which is tested. The
//     positions are independent of each other, so the loop runs at the
//     CPU's throughput instead of a chain of dependent table loads. On a
//     bitmap hit, a second bitmap of the 8 bytes from there (a keyed gram
//     and the 4 pattern bytes after it) rules out most positions; the
//     others look the 4-gram up in an open-addressing table and compare
//     the patterns keyed by it, 8 bytes first.
//   - ScanFold runs the same filter over ASCII text as if lower-cased:
//     grams are hashed with bit 0x20 of every byte set, and verification
//     lower-cases 8 bytes at a time.
//   - Shorter patterns go to an Aho–Corasick automaton (Aho and Corasick,
//     1975): a trie with failure links computed breadth first and turned
//     into a complete transition table over byte classes (bytes used by no
//     pattern share one class), one table load per byte, no backtracking.
//
// A Matcher is immutable and safe for concurrent use; Scan does not
// allocate when dst has room.
package ahocorasick

import (
	"encoding/binary"
	"math/bits"
	"unsafe"
)

const gramLen = 4

// Scan reads grams with native loads: the build needs a little-endian target
// (gram_le.go).
var _ = littleEndian

// Matcher is a compiled pattern set. It is immutable and safe for
// concurrent use.
type Matcher struct {
	// the patterns, concatenated (no pointers for the GC to follow):
	// pattern i is data[off[i]:off[i+1]]
	data  string
	off   []int32
	short *automaton // patterns shorter than gramLen; nil when none

	// 4-gram filter over the other patterns
	shift   uint32      // bitmap index = hash >> shift
	bits    []uint64    // bitmap of gram hashes
	mask    uint32      // table index mask
	table   []gramSlot  // open addressing on the gram hash
	ents    []gramEntry // the patterns keyed by each gram, slot by slot
	ext     bitset      // 8-byte extensions of keyed grams (see verify)
	near    bitset      // keyed grams without one
	long    int         // patterns in the filter
	stride  int         // the filter tests every stride-th text position
	minLong int         // the shortest pattern in the filter
}

// gramSlot is one slot of the gram table: the patterns keyed by gram key
// are ents[start:start+n]. An empty slot has n == 0. One load brings a
// slot's key and its entries' place, the first of the two dependent loads
// of a verification.
type gramSlot struct {
	key   uint32
	n     uint32
	start uint32
}

// gramEntry is a pattern keyed by a gram. It carries the pattern's first
// eight bytes (fewer when it is shorter) so that most candidates are
// settled by one 8-byte load from the text and a compare, without reading
// the pattern itself.
type gramEntry struct {
	head uint64 // the pattern's first min(8, n) bytes, little-endian
	hm   uint64 // the bytes of head that belong to the pattern
	pat  int32  // pattern index
	off  int32  // offset of the gram in the pattern
	n    int32  // pattern length
	data int32  // offset of the pattern in Matcher.data
}

// maxStride bounds the filter's stride (each pattern is keyed by stride
// grams, so a larger stride fills the bitmap faster).
const maxStride = 8

// gramHash hashes a gram for the bitmap and the table. It sets bit 0x20 of
// every byte first, so that a gram and its ASCII upper-case forms hash and
// key alike: one filter serves both Scan and ScanFold (the verification
// tells them apart).
func gramHash(g uint32) uint32 { return (g | caseBits) * 0x9E3779B1 }

const caseBits = 0x20202020

// commonGrams are 4-grams frequent in (lower-cased) Windows event text:
// paths, executables, registry roots, URLs. A pattern is keyed by one of
// them only when it has no other.
var commonGrams = func() map[string]bool {
	m := map[string]bool{}
	for _, w := range []string{`c:\windows\system32\`, `\syswow64\`, `c:\program files (x86)\`, `\microsoft\`, `\appdata\local\`,
		`\appdata\roaming\`, `c:\users\`, `.exe`, `.dll`, `hklm\software\`, `hkcu\software\`, `\currentversion\`, `https://`,
		`http://`, `\temp\`, `windows`, `powershell`, `system`, `\\?\`, `0x0000`, `0000`, `    `, `ffff`} {
		for i := 0; i+gramLen <= len(w); i++ {
			m[w[i:i+gramLen]] = true
		}
	}
	return m
}()

// New compiles patterns. The empty pattern never matches (it is ignored);
// duplicate patterns each report their own index.
func New(patterns []string) *Matcher {
	m := &Matcher{off: make([]int32, len(patterns)+1)}
	var all []byte
	for i, p := range patterns {
		all = append(all, p...)
		m.off[i+1] = int32(len(all))
	}
	m.data = string(all)
	var shortPats []string
	hasShort := false
	minLong := 0
	for _, p := range patterns {
		if len(p) >= gramLen && (minLong == 0 || len(p) < minLong) {
			minLong = len(p)
		}
	}
	// Every occurrence of a pattern of n >= minLong bytes holds grams at
	// n-gramLen+1 >= stride consecutive text positions, so testing every
	// stride-th position meets each occurrence exactly once when the
	// pattern is keyed by the grams at stride consecutive offsets.
	m.stride = max(1, min(maxStride, minLong-gramLen+1))
	m.minLong = minLong
	byGram := map[uint32][]int32{} // gram -> entries in keyed
	var order []uint32
	var keyed []gramEntry
	gramAt := func(p string, off int) uint32 {
		return binary.LittleEndian.Uint32([]byte(p[off:off+gramLen])) | caseBits
	}
	for i, p := range patterns {
		switch {
		case p == "":
			shortPats = append(shortPats, "")
		case len(p) < gramLen:
			shortPats = append(shortPats, p)
			hasShort = true
		default:
			shortPats = append(shortPats, "")
			// Key the pattern by the window of stride consecutive grams
			// least shared so far, avoiding grams common in any text: every
			// text position holding a key costs a comparison with each
			// pattern keyed by it.
			k := m.stride
			best, bestCost := 0, -1
			for off := len(p) - gramLen - k + 1; off >= 0; off-- {
				cost := 0
				for j := off; j < off+k; j++ {
					cost += 2 * len(byGram[gramAt(p, j)])
					if commonGrams[p[j:j+gramLen]] {
						cost += 1 << 20
					}
					if j+8 > len(p) { // no 8-byte extension (see verify): a tie-breaker
						cost++
					}
				}
				if bestCost < 0 || cost < bestCost {
					best, bestCost = off, cost
				}
			}
			var head, hm uint64
			for b := 0; b < min(8, len(p)); b++ {
				head |= uint64(p[b]) << (8 * b)
				hm |= 0xff << (8 * b)
			}
			for j := best; j < best+k; j++ {
				g := gramAt(p, j)
				if _, ok := byGram[g]; !ok {
					order = append(order, g)
				}
				byGram[g] = append(byGram[g], int32(len(keyed)))
				keyed = append(keyed, gramEntry{head: head, hm: hm, pat: int32(i), off: int32(j), n: int32(len(p)), data: m.off[i]})
			}
			m.long++
		}
	}
	if hasShort {
		m.short = newAutomaton(shortPats)
	}
	if m.long == 0 {
		return m
	}
	var ext, near []uint32
	for _, e := range keyed {
		p := patterns[e.pat]
		if int(e.off)+8 <= len(p) {
			ext = append(ext, extHash(binary.LittleEndian.Uint64([]byte(p[e.off:e.off+8]))))
		} else {
			near = append(near, gramHash(gramAt(p, int(e.off))))
		}
	}
	if len(ext) > 0 {
		m.ext, m.near = newBitset(ext), newBitset(near)
	}
	// bitmap with about 64 bits per distinct gram (a false hit rate near
	// 1/64 per position at most), at least 4096 bits
	nbits := uint32(4096)
	for nbits < uint32(64*len(order)) && nbits < 1<<26 {
		nbits <<= 1
	}
	m.shift = 32 - uint32(bits.TrailingZeros32(nbits))
	m.bits = make([]uint64, nbits/64)
	size := uint32(16)
	for size < uint32(2*len(order)) {
		size <<= 1
	}
	m.mask = size - 1
	m.table = make([]gramSlot, size)
	m.ents = make([]gramEntry, 0, len(keyed))
	for _, g := range order {
		h := gramHash(g)
		b := h >> m.shift
		m.bits[b>>6] |= 1 << (b & 63)
		i := h & m.mask
		for m.table[i].n != 0 {
			i = (i + 1) & m.mask
		}
		m.table[i] = gramSlot{key: g, n: uint32(len(byGram[g])), start: uint32(len(m.ents))}
		for _, e := range byGram[g] {
			m.ents = append(m.ents, keyed[e])
		}
	}
	return m
}

// Len returns the number of patterns the matcher was built from.
func (m *Matcher) Len() int { return len(m.off) - 1 }

// States returns the number of states of the automaton of short patterns
// plus the number of 4-gram table slots (a measure of the matcher's size).
func (m *Matcher) States() int {
	n := len(m.table)
	if m.short != nil {
		n += len(m.short.outStart) - 1
	}
	return n
}

// Scan appends to dst the index of every pattern occurring in text, once
// per occurrence (a pattern found twice is appended twice), and returns the
// extended slice. The order of the indexes is unspecified.
func (m *Matcher) Scan(dst []int32, text string) []int32 {
	if m.short != nil {
		dst = m.short.scan(dst, text, &m.short.classes)
	}
	return m.scanLong(dst, text, false)
}

// ScanFold is Scan over the ASCII lower-cased form of text, without making
// it: text must be ASCII (every byte below 0x80), and the result is what
// Scan(dst, strings.ToLower(text)) returns. A pattern with an upper-case
// letter or a non-ASCII byte never occurs in it.
func (m *Matcher) ScanFold(dst []int32, text string) []int32 {
	if m.short != nil {
		dst = m.short.scan(dst, text, &m.short.foldClasses)
	}
	return m.scanLong(dst, text, true)
}

// scanLong runs the 4-gram filter over text; fold selects how candidates
// are verified (see ScanFold). The filter itself is the same for both: a
// gram is hashed with its case bits set.
func (m *Matcher) scanLong(dst []int32, text string, fold bool) []int32 {
	if m.long == 0 || len(text) < m.minLong {
		return dst
	}
	shift, k := m.shift, m.stride
	// i+4 <= len(text) holds for every position tested: the 4-byte loads
	// stay inside text, and b>>6 < len(m.bits) by construction of shift.
	p := unsafe.Pointer(unsafe.StringData(text))
	bm := unsafe.Pointer(unsafe.SliceData(m.bits))
	test := func(i int) (uint32, uint64) {
		g := *(*uint32)(unsafe.Add(p, i)) // little-endian targets only (see gram_le.go)
		b := gramHash(g) >> shift
		return g, *(*uint64)(unsafe.Add(bm, (b>>6)*8)) & (1 << (b & 63))
	}
	last := len(text) - gramLen
	i := 0
	// Four positions a round: their loads and tests are independent, and
	// one branch settles the usual case of no bit set at any of them.
	for ; i+3*k <= last; i += 4 * k {
		g0, t0 := test(i)
		g1, t1 := test(i + k)
		g2, t2 := test(i + 2*k)
		g3, t3 := test(i + 3*k)
		if t0|t1|t2|t3 == 0 {
			continue
		}
		if t0 != 0 {
			dst = m.verify(dst, text, i, g0, fold)
		}
		if t1 != 0 {
			dst = m.verify(dst, text, i+k, g1, fold)
		}
		if t2 != 0 {
			dst = m.verify(dst, text, i+2*k, g2, fold)
		}
		if t3 != 0 {
			dst = m.verify(dst, text, i+3*k, g3, fold)
		}
	}
	for ; i <= last; i += k {
		if g, t := test(i); t != 0 {
			dst = m.verify(dst, text, i, g, fold)
		}
	}
	return dst
}

// verify looks up the gram g found at text[i:i+4] and appends the patterns
// keyed by it that occur there (in the lower-cased text when fold is set).
//
// Most grams found in the table belong to no pattern occurring there: a
// common gram of a long pattern. So first, when the text has 8 bytes at i,
// a pattern whose keyed gram at i is followed by 4 more of its bytes can
// only occur if those 8 bytes are in m.ext (hashed with their case bits
// set, like grams); when they are not, and g keys no pattern without such
// an extension (m.near), nothing occurs at i and the table is not read.
func (m *Matcher) verify(dst []int32, text string, i int, g uint32, fold bool) []int32 {
	if m.ext.words != nil && i+8 <= len(text) {
		w := *(*uint64)(unsafe.Add(unsafe.Pointer(unsafe.StringData(text)), i))
		if !m.ext.has(extHash(w)) && !m.near.has(gramHash(g)) {
			return dst
		}
	}
	j := gramHash(g) & m.mask
	var sl gramSlot
	for {
		sl = m.table[j]
		if sl.n == 0 {
			return dst
		}
		if sl.key == g|caseBits {
			break
		}
		j = (j + 1) & m.mask
	}
	tp := unsafe.Pointer(unsafe.StringData(text))
	for _, e := range m.ents[sl.start : sl.start+sl.n] {
		s := i - int(e.off)
		end := s + int(e.n)
		if s < 0 || end > len(text) {
			continue
		}
		pat := m.data[e.data : e.data+e.n]
		if s+8 > len(text) { // too near the end for an 8-byte load
			if fold && equalLower(text[s:end], pat) || !fold && text[s:end] == pat {
				dst = append(dst, e.pat)
			}
			continue
		}
		head := *(*uint64)(unsafe.Add(tp, s))
		if fold {
			head = lower8(head)
		}
		if head&e.hm != e.head {
			continue
		}
		if e.n <= 8 || !fold && text[s+8:end] == pat[8:] || fold && equalLower8(text[s:end], pat) {
			dst = append(dst, e.pat)
		}
	}
	return dst
}

// extHash hashes 8 bytes with their case bits set (see gramHash).
func extHash(w uint64) uint32 {
	return uint32((w | caseBits<<32 | caseBits) * 0x9E3779B97F4A7C15 >> 32)
}

// bitset is a bitmap of hashes, about 64 bits per element (a false hit
// rate near 1/64), at least 1,024 bits; the zero bitset holds nothing.
type bitset struct {
	shift uint32
	words []uint64
}

func newBitset(hashes []uint32) bitset {
	if len(hashes) == 0 {
		return bitset{}
	}
	nbits := uint32(1024)
	for nbits < uint32(64*len(hashes)) && nbits < 1<<26 {
		nbits <<= 1
	}
	b := bitset{shift: 32 - uint32(bits.TrailingZeros32(nbits)), words: make([]uint64, nbits/64)}
	for _, h := range hashes {
		h >>= b.shift
		b.words[h>>6] |= 1 << (h & 63)
	}
	return b
}

func (b *bitset) has(h uint32) bool {
	if len(b.words) == 0 {
		return false
	}
	h >>= b.shift
	return b.words[h>>6]&(1<<(h&63)) != 0
}

// lower8 lower-cases the ASCII letters among 8 bytes that are all ASCII:
// byte+0x3f has its high bit set from 'A' up, byte+0x25 from 'Z'+1 up, and
// no sum carries into the next byte.
func lower8(w uint64) uint64 {
	const high = 0x8080808080808080
	upper := (w + 0x3f3f3f3f3f3f3f3f) &^ (w + 0x2525252525252525) & high
	return w | upper>>2
}

// equalLower reports whether the ASCII lower-cased t equals p, byte by
// byte.
func equalLower(t, p string) bool {
	if len(t) != len(p) {
		return false
	}
	for i := 0; i < len(t); i++ {
		c := t[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != p[i] {
			return false
		}
	}
	return true
}

// equalLower8 is equalLower for texts of 8 bytes or more (ASCII), eight
// bytes a step, the last step overlapping the one before.
func equalLower8(t, p string) bool {
	n := len(t)
	tp := unsafe.Pointer(unsafe.StringData(t))
	pp := unsafe.Pointer(unsafe.StringData(p))
	for o := 0; ; o += 8 {
		if o > n-8 {
			o = n - 8
		}
		if lower8(*(*uint64)(unsafe.Add(tp, o))) != *(*uint64)(unsafe.Add(pp, o)) {
			return false
		}
		if o == n-8 {
			return true
		}
	}
}

// Contains reports whether any pattern occurs in text.
func (m *Matcher) Contains(text string) bool {
	if m.short != nil && m.short.contains(text) {
		return true
	}
	var buf [1]int32
	if m.long == 0 {
		return false
	}
	for i := 0; i+gramLen <= len(text); i += m.stride {
		g := binary.LittleEndian.Uint32([]byte(text[i : i+gramLen]))
		b := gramHash(g) >> m.shift
		if m.bits[b>>6]&(1<<(b&63)) != 0 && len(m.verify(buf[:0], text, i, g, false)) > 0 {
			return true
		}
	}
	return false
}
