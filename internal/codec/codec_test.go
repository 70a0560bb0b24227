//go:build !mdrstdjson

package codec

import (
	"bufio"
	"os"
	"testing"

	"github.com/mdrkit/mdr"
	"github.com/mdrkit/mdr/internal/shareddata"
)

// walkFlatOrSonic is what Decode does: the flat fast path, else sonic.
func walkFlatOrSonic(s string, v *visitor) error {
	if decodeFlat([]byte(s), v.b) {
		v.done = true
		return nil
	}
	v.b.Reset()
	return walkSonic(s, v)
}

// TestSonicMatchesStdlib decodes every line of the real logs with both
// implementations and requires identical events.
func TestSonicMatchesStdlib(t *testing.T) {
	total := 0
	for _, name := range shareddata.EventFiles {
		f, err := os.Open(shareddata.Path(t, "events", name))
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 1<<20), 4<<20)
		n := 0
		for sc.Scan() {
			n++
			line := sc.Bytes()
			a, errA := decodeWith(t, walkSonic, line)
			b, errB := decodeWith(t, walkStd, line)
			c, errC := decodeWith(t, walkFlatOrSonic, line)
			if (errA == nil) != (errB == nil) || (errA == nil) != (errC == nil) {
				t.Fatalf("%s:%d: sonic err %v, std err %v, flat err %v", name, n, errA, errB, errC)
			}
			if errA == nil && (!sameEvent(a, b) || !sameEvent(a, c)) {
				t.Fatalf("%s:%d: events differ", name, n)
			}
		}
		f.Close()
		if err := sc.Err(); err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			t.Fatalf("%s: no lines", name)
		}
		total += n
	}
	t.Logf("%d events decoded identically by sonic, encoding/json and the flat fast path", total)
}

func TestEdgeCasesAgree(t *testing.T) {
	cases := []string{
		`{"a":1,"b":"x","a":2}`,
		`{"n":{"m":{"k":"v"}},"n.m.k":"w"}`,
		`{"big":123456789012345678901234567890,"f":1.5,"e":1e3,"neg":-7,"z":-0}`,
		`{"l":[1,"two",{"three":3},[4],null,true],"empty":{},"el":[]}`,
		`{"s":"esc\"aped\\ \u00e9 \ud83d\ude00"}`,
		`{"deep":{"x":{"y":[{"z":{"w":1}}]}}}`,
		`{"a":1} ]}`, `{"a":1} {"b":2}`, `{"a":1}}`, `{"a":"}"} "}"`, `[1,2]`, `"str"`, `{"a":}`, `{"a":1} x`, `{"a":1`, `{}`, ``, `nul`,
	}
	for _, c := range cases {
		a, errA := decodeWith(t, walkSonic, []byte(c))
		b, errB := decodeWith(t, walkStd, []byte(c))
		f, errF := decodeWith(t, walkFlatOrSonic, []byte(c))
		if (errA == nil) != (errB == nil) || (errA == nil) != (errF == nil) {
			t.Errorf("%q: sonic err %v, std err %v, flat err %v", c, errA, errB, errF)
			continue
		}
		if errA == nil && (!sameEvent(a, b) || !sameEvent(a, f)) {
			t.Errorf("%q: events differ", c)
		}
	}
}

func BenchmarkDecode(b *testing.B) {
	line := []byte(`{"EventID":1,"Channel":"Microsoft-Windows-Sysmon/Operational","Provider_Name":"Microsoft-Windows-Sysmon","Computer":"ws1","TimeCreated":"2025-12-06T21:11:02.649150800Z","EventRecordID":67583,"UtcTime":"2025-12-06 21:11:02.632","ProcessGuid":"{0197231E-9BE6-6934-5301-000000000B00}","ProcessId":"3412","Image":"C:\\Windows\\System32\\cmd.exe","CommandLine":"C:\\WINDOWS\\system32\\cmd.exe /d /s /c \"whoami\"","User":"ws1\\alice","ParentImage":"C:\\Program Files\\node.exe","Hashes":"MD5=352B525E9C26CB92693899528FE007C2,SHA256=1F1D918EC49E0B7C59B704FF412E1A6E224DA81C08CDA657E1CB482ABAAC146C","_id":"x:1"}`)
	for _, impl := range []struct {
		name string
		w    func(string, *visitor) error
	}{{"sonic", walkSonic}, {"std", walkStd}} {
		b.Run(impl.name, func(b *testing.B) {
			bl := mdr.NewBuilder(32)
			b.ReportAllocs()
			b.SetBytes(int64(len(line)))
			for i := 0; i < b.N; i++ {
				v := visitor{b: bl}
				if err := impl.w(string(line), &v); err != nil {
					b.Fatal(err)
				}
				bl.Finish(mdr.Origin{}, line)
			}
		})
	}
}
