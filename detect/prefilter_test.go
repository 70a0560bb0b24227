package detect

import "testing"

// TestLitScore checks the selectivity score: the bytes of a literal that
// no common fragment covers, with fragments that overlap counted once.
func TestLitScore(t *testing.T) {
	cases := []struct {
		lit  string
		want int
	}{
		{`abc`, 3},
		{`\system32\`, 0},
		{`c:\windows\system32\cmd.exe`, 3},              // "cmd"
		{`\software\microsoft\wind`, 0},                 // \software\ and \microsoft\ share a backslash; "\wind" starts \windows\
		{`\software\microsoft\xyz`, 3},                  // "xyz"
		{`software\microsoft\windo`, 0},                 // "software\" ends \software\
		{`indows\currentversion\ut`, 2},                 // "indows\" ends \windows\
		{`\currentversion\run\ntkd`, 8},                 // "run\ntkd"
		{`.exe.exe`, 0},                                 // repeated fragments
		{`x\windows\windows\y`, 2},                      // overlapping occurrences of one fragment
		{string(make([]byte, 100)) + `\software\`, 100}, // longer than the fast path's 64 bytes
	}
	for _, c := range cases {
		if got := litScore(c.lit); got != c.want {
			t.Errorf("litScore(%q) = %d, want %d", c.lit, got, c.want)
		}
	}
	// a registry path's window is its distinctive end, not the common
	// start that a sequential removal of fragments scored higher
	for lit, want := range map[string]string{
		`\software\microsoft\windows\currentversion\run\ntkd`: `\currentversion\run\ntkd`,
		`software\microsoft\windows\currentversion\ut`:        `indows\currentversion\ut`,
	} {
		if got := literalWindow(lit); got != want {
			t.Errorf("literalWindow(%q) = %q, want %q", lit, got, want)
		}
	}
}
