package mdr_test

import (
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"

	"github.com/mdrkit/mdr"
)

// parseIntRef is ParseInt written with strconv, the way it was first
// defined: the reference the allocation-free version must agree with.
func parseIntRef(s string) (int64, bool) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, false
	}
	neg := false
	if s[0] == '-' || s[0] == '+' {
		neg = s[0] == '-'
		s = s[1:]
	}
	base := 10
	if len(s) > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X') {
		base = 16
		s = s[2:]
	}
	u, err := strconv.ParseUint(s, base, 64)
	if err != nil {
		return 0, false
	}
	if neg {
		if u > 1<<63 {
			return 0, false
		}
		return -int64(u), true
	}
	if base == 10 && u > math.MaxInt64 {
		return 0, false
	}
	return int64(u), true
}

func TestParseIntMatchesStrconv(t *testing.T) {
	cases := []string{"", " ", "-", "+", "0", "-0", "+7", " 4688 ", "0x", "0x0", "0x1010", "0X1F", "-0x10", "0xg",
		"0xFFFFFFFFFFFFFFFF", "0x10000000000000000", "0x00000000000000000001", "9223372036854775807",
		"9223372036854775808", "-9223372036854775808", "-9223372036854775809", "18446744073709551615",
		"18446744073709551616", "99999999999999999999", "000000000000000000000000042", "1_000", "0x1_0", "--1", "+-1",
		"1e3", "12a", "\t0x3e7\r\n", "-0x8000000000000000", "-0x8000000000000001"}
	rng := rand.New(rand.NewPCG(1, 9))
	alpha := "0123456789abcdefxX+- _"
	for i := 0; i < 20000; i++ {
		b := make([]byte, rng.IntN(24))
		for j := range b {
			b[j] = alpha[rng.IntN(len(alpha))]
		}
		if rng.IntN(3) == 0 && len(b) > 2 {
			b[0], b[1] = '0', 'x'
		}
		cases = append(cases, string(b))
	}
	for _, s := range cases {
		gi, gok := mdr.ParseInt(s)
		wi, wok := parseIntRef(s)
		if gok != wok || gi != wi {
			t.Fatalf("ParseInt(%q) = %d, %v; strconv reference %d, %v", s, gi, gok, wi, wok)
		}
	}
	var sink bool
	if n := testing.AllocsPerRun(100, func() { _, sink = mdr.ParseInt("not a number") }); n != 0 || sink {
		t.Errorf("ParseInt allocates %v times on failure", n)
	}
}
