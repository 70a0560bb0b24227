package codec

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/mdrkit/mdr"
)

// TestControlCharactersAgree (issue 17, minor): a raw NUL or other control
// character inside a JSON string was accepted by the default (sonic) build
// and rejected by encoding/json (-tags mdrstdjson). Both reject it now, in
// keys, values and nested strings; escaped, and as white space between
// tokens, such characters are accepted by both.
func TestControlCharactersAgree(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("..", "..", "testdata", "hostile", "control-chars.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	lines := bytes.Split(bytes.TrimSpace(raw), []byte("\n"))
	lines = append(lines, []byte("{\"k\x1f\":1}"), []byte("{\"a\":[{\"b\":\"\x07\"}]}"))
	good := [][]byte{lines[3], []byte("{\t\"a\":\r\n\"x\\u0000\\t\"}"), []byte(`{"a":"\\"}`)}
	for _, line := range lines {
		if bytes.Equal(line, lines[3]) {
			continue
		}
		_, errDec := Decode(line, mdr.Origin{}, nil)
		_, errStd := decodeWith(t, walkStd, line)
		_, errSonic := decodeWith(t, walk, line)
		if errDec == nil || errStd == nil || errSonic == nil {
			t.Errorf("%q accepted: Decode %v, encoding/json %v, %s %v", line, errDec, errStd, Name, errSonic)
		}
	}
	for _, line := range good {
		ev, errDec := Decode(line, mdr.Origin{}, nil)
		std, errStd := decodeWith(t, walkStd, line)
		if errDec != nil || errStd != nil || !sameEvent(ev, std) {
			t.Errorf("%q: Decode %v, encoding/json %v", line, errDec, errStd)
		}
	}
}

// TestMayHaveControl: the word-at-a-time test never misses a control byte,
// wherever it sits, and says no for text without one.
func TestMayHaveControl(t *testing.T) {
	base := bytes.Repeat([]byte("aZ~\x7f\xff\x80 !"), 9) // 72 bytes, none below 0x20
	if mayHaveControl(string(base)) {
		t.Fatal("false positive on text without control bytes")
	}
	for n := 0; n <= len(base); n++ {
		for i := 0; i < n; i++ {
			for _, c := range []byte{0, 1, '\t', '\n', 0x1f} {
				b := bytes.Clone(base[:n])
				b[i] = c
				if !mayHaveControl(string(b)) {
					t.Fatalf("missed %#x at %d of %d", c, i, n)
				}
			}
		}
	}
}
