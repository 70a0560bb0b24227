package codec

import (
	"testing"
	"unicode/utf8"

	"github.com/mdrkit/mdr"
)

// FuzzDecode is a differential fuzz target: on any input, Decode never
// panics; Decode (sonic in the default build) accepts exactly the lines
// encoding/json accepts (issue 17: raw control characters in strings were
// taken by one and not the other) and, for valid UTF-8, yields the
// identical event; and
// whenever the flat fast path accepts a line, encoding/json accepts it too.
func FuzzDecode(f *testing.F) {
	for _, s := range []string{
		`{"EventID":1,"Image":"C:\\Windows\\cmd.exe","CommandLine":"cmd /c \"x\"","n":-1.5e3,"b":true,"z":null}`,
		`{"u":"\u00e9\ud83d\ude00","t":"a\tb"}`, `{"a":[1,{"b":2}],"c":{"d":"e"}}`, `{}`, `{"a":01}`,
		"{\"a\":\"x\x00y\"}", "{\"a\":[\"\x01\"],\"b\":{\"c\":\"\t\"}}", "{\"k\x1f\":1}", "{\t\"a\":\r\n1}",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		ev, errDec := Decode(data, mdr.Origin{}, nil)
		std, errStd := decodeWith(t, walkStd, data)
		if (errDec == nil) != (errStd == nil) {
			t.Fatalf("%q: Decode (%s) says %v, encoding/json says %v", data, Name, errDec, errStd)
		}
		// (invalid UTF-8 is kept by sonic and replaced by encoding/json)
		if errDec == nil && utf8.Valid(data) && !sameEvent(ev, std) {
			t.Fatalf("%q: Decode (%s) and encoding/json differ", data, Name)
		}
		b := mdr.NewBuilder(8)
		if !decodeFlat(data, b) {
			return
		}
		flat := b.Finish(mdr.Origin{}, data)
		if errStd != nil {
			t.Fatalf("flat path accepted %q, encoding/json says %v", data, errStd)
		}
		if !sameEvent(flat, std) {
			t.Fatalf("flat path and encoding/json differ on %q", data)
		}
	})
}
