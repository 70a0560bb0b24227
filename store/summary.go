package store

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/bits"
	"slices"
	"strconv"
	"unicode/utf8"
	"unsafe"

	"github.com/cespare/xxhash/v2"

	"github.com/mdrkit/mdr"
)

// A Summary describes a segment of stored events (for the badger store: the
// events one write put into one time bucket) well enough for a search to
// skip the segment when it cannot hold a match: the number of events, their
// time range, the distinct values of a few listed fields (see
// DefaultSummaryFields) and a Bloom filter of every field value and every
// token of every value.
//
// Values and tokens are compared after Normalize (ASCII letters lower-cased,
// and the two non-ASCII runes that fold to ASCII letters, ſ and the Kelvin
// sign, mapped to s and k), so a case-insensitive comparison with an ASCII
// literal can use them. A token is a maximal run of the bytes a-z, 0-9, '.',
// '-' and '_' of a normalised value (see Tokens); tokens longer than
// MaxTokenLen are not recorded. The filter answers "maybe" for everything
// that was added and, for anything else, "no" except for about 2% of
// queries.
//
// A Summary is immutable once decoded and safe for concurrent reads.
type Summary struct {
	// Events is the number of events summarised; MinTime and MaxTime are
	// the smallest and largest time keys (TimeKey) among them.
	Events           int
	MinTime, MaxTime int64
	lists            []summaryList
	bloom            []uint64 // a power of two words, or none (nothing added)
}

type summaryList struct {
	field    string
	overflow bool // more than MaxListValues distinct values: the list is incomplete
	values   []string
}

// DefaultSummaryFields are the fields whose distinct values a summary lists:
// the Windows channel, event id and host name.
var DefaultSummaryFields = []string{"Channel", "EventID", "Computer"}

// Bounds of a summary.
const (
	// MaxListValues is the number of distinct values a summary lists per
	// field; beyond it the list is marked incomplete.
	MaxListValues = 64
	// MaxTokenLen is the longest token recorded.
	MaxTokenLen = 128
	// bloomBitsPerEntry gives about a 2% false-positive rate with
	// bloomProbes probes.
	bloomBitsPerEntry = 10
	bloomProbes       = 3
	// maxBloomWords caps one filter at 1 MiB.
	maxBloomWords = 1 << 17
)

// Values returns the distinct normalised values of a listed field, and
// whether the list is complete (false when the field is not listed or had
// more than MaxListValues values).
func (s *Summary) Values(field string) ([]string, bool) {
	for i := range s.lists {
		if s.lists[i].field == field {
			return s.lists[i].values, !s.lists[i].overflow
		}
	}
	return nil, false
}

// MayHaveValue reports whether some event of the segment may have the value
// whose Normalize form is norm in field (a flat name or a dotted path, as
// the event was stored). False is certain.
func (s *Summary) MayHaveValue(field, norm string) bool {
	if vals, ok := s.Values(field); ok {
		return slices.Contains(vals, norm)
	}
	return s.mayHave(valueHash(field, norm))
}

// MayHaveToken reports whether some value of some event of the segment may
// contain tok (normalised) as a whole token. A token longer than
// MaxTokenLen or not made of token bytes is never recorded, so the answer
// for it is true. False is certain.
func (s *Summary) MayHaveToken(tok string) bool {
	if len(tok) > MaxTokenLen || len(tok) == 0 {
		return true
	}
	for i := 0; i < len(tok); i++ {
		if !isTokenByte(tok[i]) {
			return true
		}
	}
	return s.mayHave(tokenHash(tok))
}

func (s *Summary) mayHave(h uint64) bool {
	if len(s.bloom) == 0 {
		return false // nothing was added
	}
	mask := uint64(len(s.bloom))*64 - 1
	h1, h2 := h, bits.RotateLeft64(h, 32)|1
	for i := range uint64(bloomProbes) {
		b := (h1 + i*h2) & mask
		if s.bloom[b/64]&(1<<(b%64)) == 0 {
			return false
		}
	}
	return true
}

// Normalize returns s with ASCII letters lower-cased and ſ (U+017F) and the
// Kelvin sign (U+212A) replaced by s and k: the two non-ASCII runes whose
// simple case folding is an ASCII letter. Two strings that are equal under
// simple case folding and of which one is ASCII have equal Normalize forms.
func Normalize(s string) string {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if ('A' <= c && c <= 'Z') || c >= utf8.RuneSelf {
			return string(AppendNormalized(nil, s))
		}
	}
	return s
}

// AppendNormalized appends Normalize(s) to b.
func AppendNormalized(b []byte, s string) []byte {
	b = slices.Grow(b, len(s))
	n := len(b)
	b = b[:n+len(s)]
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= utf8.RuneSelf {
			return appendNormalizedSlow(b[:n+i], s[i:])
		}
		b[n+i] = lowerASCII[c]
	}
	return b
}

func appendNormalizedSlow(b []byte, s string) []byte {
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			b = append(b, lowerASCII[c])
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		switch r {
		case 0x17F:
			b = append(b, 's')
		case 0x212A:
			b = append(b, 'k')
		default:
			b = append(b, s[i:i+n]...)
		}
		i += n
	}
	return b
}

// tokenBytes marks the bytes tokens are made of.
var tokenBytes = func() (t [256]bool) {
	for c := range t {
		t[c] = ('a' <= c && c <= 'z') || ('0' <= c && c <= '9') || c == '.' || c == '-' || c == '_'
	}
	return t
}()

func isTokenByte(c byte) bool { return tokenBytes[c] }

// Tokens calls f with every token of the normalised string norm, in order:
// the maximal runs of token bytes (a-z, 0-9, '.', '-', '_'). start and end
// report whether the token touches the start or the end of norm (so that a
// caller searching for norm inside a longer value knows which of its tokens
// are whole tokens there too).
func Tokens(norm string, f func(tok string, start, end bool)) {
	i := 0
	for i < len(norm) {
		for i < len(norm) && !tokenBytes[norm[i]] {
			i++
		}
		j := i
		for j < len(norm) && tokenBytes[norm[j]] {
			j++
		}
		if j > i {
			f(norm[i:j], i == 0, j == len(norm))
		}
		i = j
	}
}

const tokenSalt = 0x9e3779b97f4a7c15

func valueHash(field, norm string) uint64 {
	return xxhash.Sum64String(norm)*0xff51afd7ed558ccd ^ xxhash.Sum64String(field)
}

func tokenHash(tok string) uint64 { return xxhash.Sum64String(tok) ^ tokenSalt }

// SummaryBuilder accumulates a Summary of the events added to it. It is not
// safe for concurrent use; Reset makes it reusable.
type SummaryBuilder struct {
	fields   []string
	lists    []summaryList
	set      hashSet
	events   int
	min, max int64
	buf      []byte
	num      []byte
	path     []byte
}

// NewSummaryBuilder returns a builder that lists the distinct values of
// listFields (DefaultSummaryFields when nil).
func NewSummaryBuilder(listFields []string) *SummaryBuilder {
	if listFields == nil {
		listFields = DefaultSummaryFields
	}
	b := &SummaryBuilder{fields: slices.Clone(listFields)}
	b.Reset()
	return b
}

// Reset empties the builder.
func (b *SummaryBuilder) Reset() {
	b.lists = b.lists[:0]
	for _, f := range b.fields {
		b.lists = append(b.lists, summaryList{field: f})
	}
	b.set.reset()
	b.events, b.min, b.max = 0, math.MaxInt64, math.MinInt64
}

// Len returns the number of events added since the last Reset.
func (b *SummaryBuilder) Len() int { return b.events }

// Add records e.
func (b *SummaryBuilder) Add(e *mdr.Event) {
	b.events++
	tk := TimeKey(e.Time())
	b.min, b.max = min(b.min, tk), max(b.max, tk)
	for i := range e.Len() {
		f := e.Field(i)
		b.path = append(b.path[:0], f.Key...)
		b.addValue(f.Value, 0)
	}
	for i := range b.lists {
		l := &b.lists[i]
		if l.overflow {
			continue
		}
		v, ok := e.Get(l.field)
		if !ok || v.IsNull() {
			continue
		}
		if v.Kind() == mdr.KindList || v.Kind() == mdr.KindObject {
			// not one value: the list cannot answer for this field
			l.overflow, l.values = true, nil
			continue
		}
		b.buf = appendText(b.buf[:0], v)
		if !slices.Contains(l.values, bytesString(b.buf)) {
			if len(l.values) >= MaxListValues {
				l.overflow, l.values = true, nil
				continue
			}
			l.values = append(l.values, string(b.buf))
		}
	}
}

const maxValueDepth = 32

func (b *SummaryBuilder) addValue(v mdr.Value, depth int) {
	switch v.Kind() {
	case mdr.KindObject:
		if depth >= maxValueDepth {
			return
		}
		ms, _ := v.Members()
		n := len(b.path)
		for _, m := range ms {
			b.path = append(append(b.path[:n], '.'), m.Key...)
			b.addValue(m.Value, depth+1)
		}
		b.path = b.path[:n]
	case mdr.KindList:
		if depth >= maxValueDepth {
			return
		}
		items, _ := v.List()
		for _, it := range items {
			b.addValue(it, depth+1)
		}
	case mdr.KindNull:
	case mdr.KindString:
		s, _ := v.Str()
		b.addString(s)
	default:
		b.num = appendText(b.num[:0], v)
		b.addString(bytesString(b.num))
	}
}

// appendText appends the normalised text of a scalar value (mdr.Value.Text)
// without allocating for strings and integers.
func appendText(dst []byte, v mdr.Value) []byte {
	switch v.Kind() {
	case mdr.KindString:
		s, _ := v.Str()
		return AppendNormalized(dst, s)
	case mdr.KindInt:
		i, _ := v.Int()
		return strconv.AppendInt(dst, i, 10)
	}
	return AppendNormalized(dst, v.Text())
}

// addString records the value s under b.path and its tokens, in one pass
// that normalises s into b.buf and hashes each token as it ends.
func (b *SummaryBuilder) addString(s string) {
	buf := b.buf[:0]
	start := -1 // start of the current token in buf
	for i := 0; i < len(s); {
		c := s[i]
		if c >= utf8.RuneSelf {
			r, n := utf8.DecodeRuneInString(s[i:])
			i += n
			switch r {
			case 0x17F:
				c = 's'
			case 0x212A:
				c = 'k'
			default:
				if start >= 0 {
					b.addToken(buf[start:])
					start = -1
				}
				buf = append(buf, s[i-n:i]...)
				continue
			}
		} else {
			c = lowerASCII[c]
			i++
		}
		if isTokenByte(c) {
			if start < 0 {
				start = len(buf)
			}
		} else if start >= 0 {
			b.addToken(buf[start:])
			start = -1
		}
		buf = append(buf, c)
	}
	if start >= 0 {
		b.addToken(buf[start:])
	}
	b.buf = buf
	b.set.add(valueHash(bytesString(b.path), bytesString(buf)))
}

func (b *SummaryBuilder) addToken(tok []byte) {
	if len(tok) <= MaxTokenLen {
		b.set.add(tokenHash(bytesString(tok)))
	}
}

// lowerASCII maps each ASCII byte to its lower case.
var lowerASCII = func() (t [utf8.RuneSelf]byte) {
	for i := range t {
		t[i] = byte(i)
		if 'A' <= i && i <= 'Z' {
			t[i] = byte(i) + 'a' - 'A'
		}
	}
	return t
}()

// AppendTo appends the encoding of the summary built so far to dst. The
// builder is unchanged.
func (b *SummaryBuilder) AppendTo(dst []byte) []byte {
	dst = append(dst, 1) // encoding version
	dst = binary.AppendUvarint(dst, uint64(b.events))
	mn, mx := b.min, b.max
	if b.events == 0 {
		mn, mx = 0, 0
	}
	dst = binary.AppendVarint(dst, mn)
	dst = binary.AppendVarint(dst, mx)
	dst = binary.AppendUvarint(dst, uint64(len(b.lists)))
	for _, l := range b.lists {
		dst = appendStr(dst, l.field)
		if l.overflow {
			dst = append(dst, 1)
		} else {
			dst = append(dst, 0)
		}
		dst = binary.AppendUvarint(dst, uint64(len(l.values)))
		for _, v := range l.values {
			dst = appendStr(dst, v)
		}
	}
	words := 0
	if n := b.set.n; n > 0 {
		words = 1 << bits.Len(uint((n*bloomBitsPerEntry+63)/64-1))
		words = min(words, maxBloomWords)
	}
	dst = binary.AppendUvarint(dst, uint64(words))
	if words == 0 {
		return dst
	}
	off := len(dst)
	dst = append(dst, make([]byte, words*8)...)
	bloom := dst[off:]
	mask := uint64(words)*64 - 1
	for _, h := range b.set.slots {
		if h == 0 {
			continue
		}
		h1, h2 := h, bits.RotateLeft64(h, 32)|1
		for i := range uint64(bloomProbes) {
			bit := (h1 + i*h2) & mask
			bloom[bit/8] |= 1 << (bit % 8)
		}
	}
	return dst
}

func appendStr(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// DecodeSummary decodes what SummaryBuilder.AppendTo wrote. The Summary
// does not keep data.
func DecodeSummary(data []byte) (*Summary, error) {
	d := sdec{b: data}
	if d.byte1() != 1 {
		return nil, fmt.Errorf("%w: summary: unknown encoding version", mdr.ErrInvalid)
	}
	s := &Summary{Events: int(d.uvarint()), MinTime: d.varint(), MaxTime: d.varint()}
	nl := d.count()
	for range nl {
		l := summaryList{field: d.str(), overflow: d.byte1() == 1}
		nv := d.count()
		for range nv {
			l.values = append(l.values, d.str())
		}
		s.lists = append(s.lists, l)
	}
	words := d.uvarint()
	if d.err == nil && (words > maxBloomWords || words&(words-1) != 0 || uint64(len(d.b)-d.pos) != words*8) {
		d.err = errSummary
	}
	if d.err != nil {
		return nil, fmt.Errorf("%w: %v", mdr.ErrInvalid, d.err)
	}
	s.bloom = make([]uint64, words)
	for i := range s.bloom {
		s.bloom[i] = binary.LittleEndian.Uint64(d.b[d.pos+8*i:])
	}
	return s, nil
}

type sdec struct {
	b   []byte
	pos int
	err error
}

func (d *sdec) byte1() byte {
	if d.err != nil || d.pos >= len(d.b) {
		d.err = errSummary
		return 0
	}
	d.pos++
	return d.b[d.pos-1]
}

func (d *sdec) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	x, n := binary.Uvarint(d.b[d.pos:])
	if n <= 0 {
		d.err = errSummary
		return 0
	}
	d.pos += n
	return x
}

func (d *sdec) varint() int64 {
	if d.err != nil {
		return 0
	}
	x, n := binary.Varint(d.b[d.pos:])
	if n <= 0 {
		d.err = errSummary
		return 0
	}
	d.pos += n
	return x
}

func (d *sdec) count() int {
	n := d.uvarint()
	if n > uint64(len(d.b)-d.pos) {
		d.err = errSummary
		return 0
	}
	return int(n)
}

func (d *sdec) str() string {
	n := d.count()
	if d.err != nil {
		return ""
	}
	s := string(d.b[d.pos : d.pos+n])
	d.pos += n
	return s
}

// hashSet is an open-addressing set of non-zero 64-bit hashes.
type hashSet struct {
	slots []uint64
	n     int
}

func (h *hashSet) reset() {
	if len(h.slots) > 1<<16 {
		h.slots = nil // do not keep a large table alive
	}
	clear(h.slots)
	h.n = 0
}

func (h *hashSet) add(x uint64) {
	if x == 0 {
		x = 1
	}
	if 4*(h.n+1) > 3*len(h.slots) {
		h.grow()
	}
	mask := uint64(len(h.slots) - 1)
	for i := x & mask; ; i = (i + 1) & mask {
		switch h.slots[i] {
		case x:
			return
		case 0:
			h.slots[i] = x
			h.n++
			return
		}
	}
}

func (h *hashSet) grow() {
	old := h.slots
	h.slots = make([]uint64, max(1024, 2*len(old)))
	h.n = 0
	for _, x := range old {
		if x != 0 {
			h.add(x)
		}
	}
}

// bytesString views b as a string without copying; b must not change while
// the string is used.
func bytesString(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }
