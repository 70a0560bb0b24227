package codec

import (
	"testing"

	"github.com/mdrkit/mdr"
)

// FuzzDecode is a differential fuzz target: on any input, Decode never
// panics, and whenever the flat fast path accepts a line, encoding/json
// accepts it too and yields the identical event.
func FuzzDecode(f *testing.F) {
	for _, s := range []string{
		`{"EventID":1,"Image":"C:\\Windows\\cmd.exe","CommandLine":"cmd /c \"x\"","n":-1.5e3,"b":true,"z":null}`,
		`{"u":"\u00e9\ud83d\ude00","t":"a\tb"}`, `{"a":[1,{"b":2}],"c":{"d":"e"}}`, `{}`, `{"a":01}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		Decode(data, mdr.Origin{}, nil)
		b := mdr.NewBuilder(8)
		if !decodeFlat(data, b) {
			return
		}
		flat := b.Finish(mdr.Origin{}, data)
		std, err := decodeWith(t, walkStd, data)
		if err != nil {
			t.Fatalf("flat path accepted %q, encoding/json says %v", data, err)
		}
		if !sameEvent(flat, std) {
			t.Fatalf("flat path and encoding/json differ on %q", data)
		}
	})
}
