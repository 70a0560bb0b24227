package hunt_test

import (
	"testing"

	"github.com/mdrkit/mdr/hunt"
)

// FuzzParseIndicators feeds arbitrary bytes to the indicator parser (STIX,
// CSV, lists): it must not panic, and what it accepts must compile.
func FuzzParseIndicators(f *testing.F) {
	f.Add([]byte(realIndicators))
	f.Add([]byte("type,value\nhash,352B525E9C26CB92693899528FE007C2\nip,10.0.0.0/8\n"))
	f.Add([]byte(`{"type":"bundle","objects":[{"type":"indicator","id":"i","pattern_type":"stix","pattern":"[ipv4-addr:value IN ('10.0.0.1', '10.0.0.0/8')]"}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		inds, _, err := hunt.ParseIndicators("fuzz", data)
		if err != nil || len(inds) == 0 {
			return
		}
		if _, err := hunt.NewSweeper(inds); err != nil {
			t.Fatalf("accepted indicators do not compile: %v", err)
		}
	})
}
