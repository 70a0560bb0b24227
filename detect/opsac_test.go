package detect

import (
	"math/rand/v2"
	"strings"
	"testing"
)

// TestContainsManyLongText checks the automaton path of containsFold and
// containsCase (many arguments, long texts) against strings.Contains per
// argument, the empty argument included.
func TestContainsManyLongText(t *testing.T) {
	rng := rand.New(rand.NewPCG(12, 13))
	atoms := []string{"a", "B", "= ", "powershell", "\\", "ſ", "K", "\u212a", "é", " -", "x", "\n"}
	word := func(n int) string {
		var b strings.Builder
		for i := 0; i < n; i++ {
			b.WriteString(atoms[rng.IntN(len(atoms))])
		}
		return b.String()
	}
	long, hits := 0, 0
	for iter := 0; iter < 3000; iter++ {
		text := word(40 + rng.IntN(200))
		args := make([]string, acMinArgs+rng.IntN(6))
		for i := range args {
			args[i] = word(3 + rng.IntN(4))
			if rng.IntN(12) == 0 && len(text) > 8 {
				a := rng.IntN(len(text) - 8)
				args[i] = text[a : a+1+rng.IntN(8)]
			}
		}
		if rng.IntN(20) == 0 {
			args[rng.IntN(len(args))] = ""
		}
		for _, op := range []opKind{opContainsFold, opContainsCase} {
			m, err := newMatcher(op, args)
			if err != nil {
				t.Fatal(err)
			}
			f := fold(text)
			hay := text
			if op == opContainsFold {
				hay = f
			}
			want := false
			for _, a := range m.strs {
				want = want || strings.Contains(hay, a)
			}
			if got := m.test(text, f); got != want {
				t.Fatalf("%s %q on %q: got %v want %v", op, args, text, got, want)
			}
			if len(hay) >= acMinText {
				long++
			}
			if want {
				hits++
			}
		}
	}
	if long < 1000 || hits < 1000 || hits > 5000 {
		t.Fatalf("%d long texts, %d hits: the generator is too weak", long, hits)
	}
}
