package codec

import (
	"bytes"
	"encoding/binary"
	"math/bits"
	"unicode/utf16"
	"unicode/utf8"
	"unsafe"

	"github.com/mdrkit/mdr"
)

// decodeFlat is the fast path for the shape almost every log line has: one
// JSON object whose values are strings, numbers, booleans or null. It copies
// the line once into a buffer the event owns, unescapes strings in place in
// that buffer, and hands out substrings of it, so an event costs one buffer
// and one field slice. It returns ok=false, having added nothing that
// matters (the builder is reset by the caller), whenever the line holds
// anything else — a nested object or array, a \u escape outside the Basic
// Multilingual Plane, invalid UTF-8, a control character, any syntax error —
// and the caller then decodes the line with the general walker, which also
// gives the verdict on malformed input. The equivalence tests check that
// both paths produce identical events on the real logs.
func decodeFlat(line []byte, b *mdr.Builder) (ok bool) {
	buf := bytes.Clone(line) // no zeroing before the copy
	p := flatParser{buf: buf}
	p.skipSpace()
	if !p.eat('{') {
		return false
	}
	p.skipSpace()
	if p.eat('}') {
		return p.end()
	}
	for {
		p.skipSpace()
		key, ok := p.str()
		if !ok {
			return false
		}
		p.skipSpace()
		if !p.eat(':') {
			return false
		}
		p.skipSpace()
		v, ok := p.value()
		if !ok {
			return false
		}
		b.Add(key, v)
		p.skipSpace()
		if p.eat(',') {
			continue
		}
		if p.eat('}') {
			return p.end()
		}
		return false
	}
}

type flatParser struct {
	buf []byte
	i   int
}

func (p *flatParser) skipSpace() {
	for p.i < len(p.buf) {
		switch p.buf[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

func (p *flatParser) eat(c byte) bool {
	if p.i < len(p.buf) && p.buf[p.i] == c {
		p.i++
		return true
	}
	return false
}

func (p *flatParser) end() bool {
	p.skipSpace()
	return p.i == len(p.buf)
}

// view returns buf[from:to] as a string without copying; buf is owned by
// the event and never written again after the region is handed out.
func (p *flatParser) view(from, to int) string {
	if from == to {
		return ""
	}
	return unsafe.String(&p.buf[from], to-from)
}

// special returns the index of the first byte of b that a JSON string scan
// must look at — a quote, a backslash, a control character or a non-ASCII
// byte — or len(b). It tests eight bytes at a time; the lowest flagged byte
// of a word is exact because borrows only propagate upwards.
func special(b []byte) int {
	const (
		ones  = 0x0101010101010101
		hi    = 0x8080808080808080
		quote = 0x2222222222222222
		bslsh = 0x5C5C5C5C5C5C5C5C
		ctl   = 0x2020202020202020
	)
	i := 0
	for ; i+8 <= len(b); i += 8 {
		x := binary.LittleEndian.Uint64(b[i:])
		q, s := x^quote, x^bslsh
		m := (q-ones)&^q | (s-ones)&^s | (x-ctl)&^x | x
		if m &= hi; m != 0 {
			return i + bits.TrailingZeros64(m)/8
		}
	}
	for ; i < len(b); i++ {
		if c := b[i]; c == '"' || c == '\\' || c < 0x20 || c >= 0x80 {
			return i
		}
	}
	return len(b)
}

// str reads a JSON string at the cursor, unescaping it in place: the write
// index w never passes the read index r.
func (p *flatParser) str() (string, bool) {
	if !p.eat('"') {
		return "", false
	}
	start := p.i
	w, r := start, start
	for {
		k := special(p.buf[r:])
		if w != r {
			copy(p.buf[w:], p.buf[r:r+k])
		}
		w += k
		r += k
		if r >= len(p.buf) {
			return "", false
		}
		c := p.buf[r]
		switch {
		case c == '"':
			p.i = r + 1
			return p.view(start, w), true
		case c >= utf8.RuneSelf:
			rn, n := utf8.DecodeRune(p.buf[r:])
			if rn == utf8.RuneError && n <= 1 {
				return "", false // invalid UTF-8: the general walker decides
			}
			if w != r {
				copy(p.buf[w:], p.buf[r:r+n])
			}
			w += n
			r += n
		case c == '\\':
			if r+1 >= len(p.buf) {
				return "", false
			}
			e := p.buf[r+1]
			r += 2
			switch e {
			case '"', '\\', '/':
				p.buf[w] = e
			case 'b':
				p.buf[w] = '\b'
			case 'f':
				p.buf[w] = '\f'
			case 'n':
				p.buf[w] = '\n'
			case 'r':
				p.buf[w] = '\r'
			case 't':
				p.buf[w] = '\t'
			case 'u':
				if r+4 > len(p.buf) {
					return "", false
				}
				cp, ok := hex4(p.buf[r : r+4])
				if !ok || utf16.IsSurrogate(rune(cp)) {
					return "", false // surrogates: leave to the general walker
				}
				r += 4
				w += utf8.EncodeRune(p.buf[w:], rune(cp)) - 1
			default:
				return "", false
			}
			w++
		default:
			return "", false // control character
		}
	}
}

func hex4(b []byte) (uint16, bool) {
	var v uint16
	for _, c := range b {
		v <<= 4
		switch {
		case c >= '0' && c <= '9':
			v |= uint16(c - '0')
		case c >= 'a' && c <= 'f':
			v |= uint16(c - 'a' + 10)
		case c >= 'A' && c <= 'F':
			v |= uint16(c - 'A' + 10)
		default:
			return 0, false
		}
	}
	return v, true
}

func (p *flatParser) value() (mdr.Value, bool) {
	if p.i >= len(p.buf) {
		return mdr.Value{}, false
	}
	switch c := p.buf[p.i]; {
	case c == '"':
		s, ok := p.str()
		return mdr.String(s), ok
	case c == '-' || (c >= '0' && c <= '9'):
		return p.number()
	case c == 't':
		return mdr.Bool(true), p.lit("true")
	case c == 'f':
		return mdr.Bool(false), p.lit("false")
	case c == 'n':
		return mdr.Null(), p.lit("null")
	}
	return mdr.Value{}, false // objects, arrays, garbage: general walker
}

func (p *flatParser) lit(w string) bool {
	if len(p.buf)-p.i >= len(w) && string(p.buf[p.i:p.i+len(w)]) == w {
		p.i += len(w)
		return true
	}
	return false
}

// digitsEnd returns the end of the run of decimal digits from b[i:].
func digitsEnd(b []byte, i int) int {
	for i < len(b) && b[i] >= '0' && b[i] <= '9' {
		i++
	}
	return i
}

// number scans a JSON number with the grammar's exact rules and converts it
// the way the general walkers do (numberFrom).
func (p *flatParser) number() (mdr.Value, bool) {
	start := p.i
	i := p.i
	n := len(p.buf)
	if i < n && p.buf[i] == '-' {
		i++
	}
	if i >= n {
		return mdr.Value{}, false
	}
	if p.buf[i] == '0' {
		i++
	} else if p.buf[i] >= '1' && p.buf[i] <= '9' {
		i = digitsEnd(p.buf, i)
	} else {
		return mdr.Value{}, false
	}
	simpleInt := true
	if i < n && p.buf[i] == '.' {
		simpleInt = false
		i++
		d := i
		if i = digitsEnd(p.buf, i); i == d { // at least one digit
			return mdr.Value{}, false
		}
	}
	if i < n && (p.buf[i] == 'e' || p.buf[i] == 'E') {
		simpleInt = false
		i++
		if i < n && (p.buf[i] == '+' || p.buf[i] == '-') {
			i++
		}
		d := i
		if i = digitsEnd(p.buf, i); i == d { // at least one digit
			return mdr.Value{}, false
		}
	}
	p.i = i
	lit := p.buf[start:i]
	if simpleInt && len(lit) <= 18 { // fits int64 without overflow checks
		var v int64
		neg := lit[0] == '-'
		for _, c := range lit {
			if c != '-' {
				v = v*10 + int64(c-'0')
			}
		}
		if neg {
			v = -v
		}
		return mdr.Int(v), true
	}
	v, err := numberFrom(string(lit))
	return v, err == nil
}
