package ahocorasick

import (
	"math/rand/v2"
	"slices"
	"strings"
	"syscall"
	"testing"
)

// naive returns every (pattern, end) occurrence by brute force.
func naive(patterns []string, text string) []int32 {
	var out []int32
	for i := 1; i <= len(text); i++ {
		for pi, p := range patterns {
			if p != "" && strings.HasSuffix(text[:i], p) {
				out = append(out, int32(pi))
			}
		}
	}
	return out
}

// wordGen returns a maker of random words of n bytes of alpha.
func wordGen(rng *rand.Rand, alpha string) func(n int) string {
	return func(n int) string {
		var b strings.Builder
		for i := 0; i < n; i++ {
			b.WriteByte(alpha[rng.IntN(len(alpha))])
		}
		return b.String()
	}
}

// sameHits reports whether two lists of pattern indexes hold the same
// indexes as often (it sorts both).
func sameHits(a, b []int32) bool {
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

func TestScanMatchesNaive(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	alpha := "abc\\-.é"
	word := wordGen(rng, alpha)
	for iter := 0; iter < 4000; iter++ {
		text := word(rng.IntN(40))
		pats := make([]string, rng.IntN(12)+1)
		for i := range pats {
			pats[i] = word(rng.IntN(8))
			if rng.IntN(2) == 0 && len(text) > 0 { // a piece of the text: a sure hit
				a := rng.IntN(len(text))
				b := a + rng.IntN(min(12, len(text)-a)+1)
				pats[i] = text[a:b]
			}
		}
		m := New(pats)
		got, want := m.Scan(nil, text), naive(pats, text)
		if !sameHits(got, want) {
			t.Fatalf("patterns %q text %q: got %v want %v", pats, text, got, want)
		}
		if m.Contains(text) != (len(want) > 0) {
			t.Fatalf("Contains(%q) with %q wrong", text, pats)
		}
	}
}

func TestClassic(t *testing.T) {
	m := New([]string{"he", "she", "his", "hers", ""})
	got := m.Scan(nil, "ushers")
	slices.Sort(got)
	if want := []int32{0, 1, 3}; !slices.Equal(got, want) {
		t.Fatalf("got %v want %v", got, want)
	}
	if m.Len() != 5 || m.States() < 1 {
		t.Fatalf("Len %d States %d", m.Len(), m.States())
	}
	// all 256 byte values in patterns
	var all []byte
	for b := 0; b < 256; b++ {
		all = append(all, byte(b))
	}
	m2 := New([]string{string(all[:128]), string(all[128:]), "\xff\x00"})
	got = m2.Scan(nil, "x"+string(all[128:])+"\x00")
	slices.Sort(got)
	if !slices.Equal(got, []int32{1, 2}) {
		t.Fatalf("full alphabet: got %v", got)
	}
}

// benchPats and benchText are the input of the Scan benchmarks: detection
// literals and a lower-cased PowerShell command line.
var (
	benchPats = []string{"\\powershell.exe", " -enc", "mimikatz", "\\rundll32.exe", "vssadmin", "delete shadows", "\\temp\\", "http://", ".ps1"}
	benchText = strings.ToLower(`"C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe" -NoProfile -ExecutionPolicy Bypass -Command "& {Get-Process | Where-Object {$_.CPU -gt 100}}"`)
)

// benchScan runs scan over benchText, reporting CPU time per scan too.
func benchScan(b *testing.B, scan func(dst []int32, text string) []int32) {
	dst := make([]int32, 0, 16)
	b.ReportAllocs()
	b.SetBytes(int64(len(benchText)))
	c0 := cpuNanos()
	for b.Loop() {
		dst = scan(dst[:0], benchText)
	}
	b.ReportMetric(float64(cpuNanos()-c0)/float64(b.N), "cpu-ns/op")
}

func BenchmarkScan(b *testing.B) { benchScan(b, New(benchPats).Scan) }

// cpuNanos is the process's user+system CPU time: on a shared machine it
// is a steadier measure than wall time.
func cpuNanos() int64 {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return ru.Utime.Nano() + ru.Stime.Nano()
}

// BenchmarkScanAutomatonOnly measures the Aho–Corasick automaton alone on
// the same input, for comparison with the 4-gram filter of Scan.
func BenchmarkScanAutomatonOnly(b *testing.B) {
	a := newAutomaton(benchPats)
	benchScan(b, func(dst []int32, text string) []int32 { return a.scan(dst, text, &a.classes) })
}

// BenchmarkScanFold scans the command line as logged (mixed case) without
// lower-casing it first.
func BenchmarkScanFold(b *testing.B) {
	m := New(benchPats)
	text := `"C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe" -NoProfile -ExecutionPolicy Bypass -Command "& {Get-Process | Where-Object {$_.CPU -gt 100}}"`
	dst := make([]int32, 0, 16)
	b.ReportAllocs()
	b.SetBytes(int64(len(text)))
	for b.Loop() {
		dst = m.ScanFold(dst[:0], text)
	}
}

// TestScanFoldMatchesNaive checks ScanFold against brute force over the
// lower-cased text, and against Scan of that text. The alphabet holds
// pairs that differ only in bit 0x20 (a/A, k/K, \ and |, @ and `, [ and
// {, _ and DEL), which share their grams' hash: verification must tell
// them apart. Patterns run from 1 to 24 bytes (the automaton, the 8-byte
// head alone, head and tail) and some are upper-case or non-ASCII, which
// never occur in a lower-cased ASCII text.
func TestScanFoldMatchesNaive(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	alpha := "aAbBkK\\|@`[{_\x7f.: "
	word := wordGen(rng, alpha)
	for iter := 0; iter < 6000; iter++ {
		text := word(rng.IntN(100))
		lower := strings.ToLower(text)
		pats := make([]string, rng.IntN(10)+1)
		for i := range pats {
			n := 1 + rng.IntN(24)
			switch {
			case rng.IntN(2) == 0 && len(text) >= n: // a piece of the text: a sure hit
				a := rng.IntN(len(text) - n + 1)
				pats[i] = lower[a : a+n]
			case rng.IntN(8) == 0:
				pats[i] = word(n) + "é"
			default:
				pats[i] = word(n) // may hold upper case: no hit
			}
		}
		m := New(pats)
		got, want := m.ScanFold(nil, text), naive(pats, lower)
		if !sameHits(got, want) {
			t.Fatalf("patterns %q text %q (stride %d): ScanFold %v, want %v", pats, text, m.stride, got, want)
		}
		if exact := m.Scan(nil, lower); !sameHits(exact, want) {
			t.Fatalf("patterns %q text %q (stride %d): Scan of the lower-cased text %v, want %v", pats, lower, m.stride, exact, want)
		}
	}
}

// TestStrideMatchesNaive checks the strided 4-gram filter: pattern sets
// whose shortest pattern is 4 to 14 bytes (strides 1 to 8), with and
// without short patterns beside them, against brute force.
func TestStrideMatchesNaive(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	alpha := "ab\\:.kK|" // K and k, | and \ differ in bit 0x20 only: the same gram hash
	word := wordGen(rng, alpha)
	for iter := 0; iter < 6000; iter++ {
		minLen := 4 + rng.IntN(11)
		text := word(rng.IntN(120))
		pats := make([]string, rng.IntN(10)+1)
		for i := range pats {
			n := minLen + rng.IntN(10)
			pats[i] = word(n)
			if rng.IntN(2) == 0 && len(text) >= n { // a piece of the text: a sure hit
				a := rng.IntN(len(text) - n + 1)
				pats[i] = text[a : a+n]
			}
		}
		if rng.IntN(4) == 0 {
			pats = append(pats, word(1+rng.IntN(3)))
		}
		m := New(pats)
		shortest := 0
		for _, p := range pats {
			if len(p) >= gramLen && (shortest == 0 || len(p) < shortest) {
				shortest = len(p)
			}
		}
		if want := max(1, min(maxStride, shortest-gramLen+1)); m.stride != want {
			t.Fatalf("stride %d for shortest pattern %d", m.stride, shortest)
		}
		got, want := m.Scan(nil, text), naive(pats, text)
		if !sameHits(got, want) {
			t.Fatalf("patterns %q text %q (stride %d): got %v want %v", pats, text, m.stride, got, want)
		}
		if m.Contains(text) != (len(want) > 0) {
			t.Fatalf("Contains(%q) with %q wrong", text, pats)
		}
	}
}
