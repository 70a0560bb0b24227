package detect

import (
	"math/rand/v2"
	"regexp"
	"strings"
	"testing"
)

// TestRegexShapeAgreesWithRegexp checks the shortcuts a regex operator
// takes before running its regular expression (the shortest match, the
// .{n,} form) against Go's regexp on random texts with newlines, invalid
// bytes and multi-byte characters.
func TestRegexShapeAgreesWithRegexp(t *testing.T) {
	patterns := []string{`.{3,}`, `(?s).{3,}`, `.{1,}`, `.{12,}`, `(?s).{12,}`, `^.{2,}`, `a.{2,}b`, `(?i)K{2}`, `x|yy`,
		`\bab`, `(ab)+c`, `[^\n]{4,}`, `(?m)^$`, `é{2,}`, `(?i)\x{212a}`, `.{3,}$`, `(a|bc){2,3}`, `\n.{2,}`}
	atoms := []string{"a", "b", "c", "x", "y", "k", "K", "\u212a", "é", "\n", "\xff", "\xe2\x84", " ", "ab"}
	rng := rand.New(rand.NewPCG(9, 10))
	runs := 0
	for _, p := range patterns {
		m, err := newMatcher(opRegex, []string{p})
		if err != nil {
			t.Fatal(err)
		}
		re := regexp.MustCompile(p)
		if m.shapes[0].run > 0 {
			runs++
		}
		matched := 0
		for i := 0; i < 3000; i++ {
			var b strings.Builder
			for n := rng.IntN(24); n > 0; n-- {
				b.WriteString(atoms[rng.IntN(len(atoms))])
			}
			s := b.String()
			want := re.MatchString(s)
			if got := m.test(s, fold(s)); got != want {
				t.Fatalf("%q on %q: got %v, regexp says %v (shape %+v)", p, s, got, want, m.shapes[0])
			}
			if want {
				matched++
				for _, loc := range re.FindAllStringIndex(s, -1) {
					if loc[1]-loc[0] < m.shapes[0].minLen {
						t.Fatalf("%q matches %q (%d bytes) in %q: shorter than minLen %d", p, s[loc[0]:loc[1]], loc[1]-loc[0], s, m.shapes[0].minLen)
					}
				}
			}
		}
		if matched == 0 || matched == 3000 {
			t.Errorf("%q: %d of 3000 texts match: the test decides nothing", p, matched)
		}
	}
	if runs != 5 {
		t.Fatalf("%d patterns in the .{n,} form, want 5", runs)
	}
	if sh := shapeOf(`.{1000,}`); sh.run != 1000 || sh.anyNL || sh.minLen != 1000 {
		t.Fatalf(".{1000,}: shape %+v", sh)
	}
}

// BenchmarkRegexLongRun compares the .{n,} shortcut with running the
// expression (SigmaHQ's "command line too long" rules use .{1000,}) on a
// 1,500-byte single-line value.
func BenchmarkRegexLongRun(b *testing.B) {
	s := "C:\\Windows\\System32\\cmd.exe /c " + strings.Repeat("echo abcdefgh & ", 92)
	m, err := newMatcher(opRegex, []string{`.{1000,}`})
	if err != nil {
		b.Fatal(err)
	}
	re := regexp.MustCompile(`.{1000,}`)
	b.Run("shortcut", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if !m.test(s, "") {
				b.Fatal("no match")
			}
		}
	})
	b.Run("regexp", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if !re.MatchString(s) {
				b.Fatal("no match")
			}
		}
	})
}
