package detect

import (
	"math/rand/v2"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

// foldReference folds rune by rune without the 8-byte fast path.
func foldReference(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 {
			b.WriteByte(s[i])
		} else {
			b.WriteRune(foldRune(r))
		}
		i += n
	}
	return b.String()
}

func TestFold(t *testing.T) {
	cases := map[string]string{
		"":                               "",
		"ABC":                            "abc",
		"C:\\Windows\\System32\\CMD.EXE": "c:\\windows\\system32\\cmd.exe",
		"ſ":                              "s", // long s folds with s
		"\u212a":                         "k", // Kelvin sign
		"ÅSA":                            "åsa",
		"Straße":                         "straße",
		"ΣΑΣ ς":                          "ςας ς",
		"@[`{":                           "@[`{", // bytes around the letter ranges
		"\xff\xfeA":                      "\xff\xfea",
	}
	for in, want := range cases {
		if got := fold(in); got != want {
			t.Errorf("fold(%q) = %q, want %q", in, got, want)
		}
	}
	// the fast path agrees with rune-wise folding, and folding agrees with
	// strings.EqualFold
	r := rand.New(rand.NewPCG(3, 4))
	alpha := []rune("aAzZ@[`{09-\\/ſKkéÉσΣς\u212a\x7f")
	for i := 0; i < 20000; i++ {
		var b strings.Builder
		for n := r.IntN(30); n > 0; n-- {
			b.WriteRune(alpha[r.IntN(len(alpha))])
			if r.IntN(8) == 0 { // a run of ASCII long enough for the 8-byte steps
				b.WriteString("C:\\Program Files\\X"[:r.IntN(19)])
			}
		}
		s := b.String()
		if got, want := fold(s), foldReference(s); got != want {
			t.Fatalf("fold(%q) = %q, want %q", s, got, want)
		}
		if needsFold(s) == false && fold(s) != s {
			t.Fatalf("needsFold(%q) false but fold changes it", s)
		}
		// appending after existing bytes, whatever room the buffer has left
		// (the ASCII fast path writes in place)
		pre := make([]byte, i%5, i%5+i%11)
		if got, want := string(appendFold(pre, s)), string(pre)+foldReference(s); got != want {
			t.Fatalf("appendFold(%d bytes of room, %q) = %q, want %q", cap(pre)-len(pre), s, got, want)
		}
		u := strings.ToUpper(s)
		if strings.EqualFold(s, u) != (fold(s) == fold(u)) {
			t.Fatalf("fold disagrees with EqualFold on %q / %q", s, u)
		}
	}
	// every rune of the BMP: runes equal under EqualFold fold the same
	for r := rune(0); r < 0x10000; r++ {
		if !utf8.ValidRune(r) {
			continue
		}
		for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
			if foldRune(f) != foldRune(r) {
				t.Fatalf("%U and %U fold differently", r, f)
			}
		}
	}
}

func BenchmarkFold(b *testing.B) {
	s := `"C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe" -NoProfile -ExecutionPolicy Bypass -Command "& {Get-Process | Where-Object {$_.CPU -gt 100}}"`
	dst := make([]byte, 0, 256)
	b.SetBytes(int64(len(s)))
	b.ReportAllocs()
	for b.Loop() {
		dst = appendFold(dst[:0], s)
	}
}

// TestIsASCII checks isASCII against a byte loop, with one non-ASCII byte
// at every position of texts up to 100 bytes long (the 32- and 8-byte
// steps and the tail).
func TestIsASCII(t *testing.T) {
	for n := 0; n <= 100; n++ {
		b := []byte(strings.Repeat("aZ\\-09 .", 13)[:n])
		if !isASCII(string(b)) {
			t.Fatalf("%d ASCII bytes: false", n)
		}
		for i := 0; i < n; i++ {
			c := b[i]
			b[i] = 0x80 | byte(i)
			if isASCII(string(b)) {
				t.Fatalf("%d bytes, non-ASCII at %d: true", n, i)
			}
			b[i] = c
		}
	}
}
