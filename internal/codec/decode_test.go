package codec

import (
	"testing"

	"github.com/mdrkit/mdr"
)

func TestDecodeFlattensAndFlagsDuplicates(t *testing.T) {
	ev, err := Decode([]byte(`{"process":{"parent":{"executable":"C:\\a.exe"}},"Image":"x","Image":"y","EventID":1}`), mdr.Origin{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if s, _ := ev.String("process.parent.executable"); s != `C:\a.exe` {
		t.Errorf("nested path = %q", s)
	}
	if s, _ := ev.String("Image"); s != "y" || !ev.DuplicateKeys() {
		t.Errorf("duplicate: %q dup=%v", s, ev.DuplicateKeys())
	}
	if !ev.HasPrefix("process.parent") || ev.HasPrefix("proc") {
		t.Error("HasPrefix")
	}
	if i, ok := ev.Int("EventID"); !ok || i != 1 {
		t.Error("EventID")
	}
}

func TestDecodeRejects(t *testing.T) {
	for _, c := range []string{``, `[1]`, `"s"`, `{"a":}`, `{"a":1} x`, `{"a":1}}`, `{"a":1`, `nul`} {
		if _, err := Decode([]byte(c), mdr.Origin{}, nil); err == nil {
			t.Errorf("%q (%s): accepted", c, Name)
		}
	}
}
