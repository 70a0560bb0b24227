package mdr_test

import (
	"encoding/json"
	"math"
	"testing"
	"time"

	"github.com/mdrkit/mdr"
)

func ev(fields ...mdr.Field) *mdr.Event {
	return mdr.NewEvent(mdr.Origin{Source: "t", Line: 1}, fields...)
}

func f(k string, v mdr.Value) mdr.Field { return mdr.Field{Key: k, Value: v} }

func TestEventGetters(t *testing.T) {
	e := ev(
		f("Image", mdr.String(`C:\Windows\System32\cmd.exe`)),
		f("process.parent.executable", mdr.String(`C:\a.exe`)),
		f("EventID", mdr.Int(4688)),
		f("GrantedAccess", mdr.String("0x1010")),
		f("ProcessId", mdr.String(" 3412 ")),
		f("Ratio", mdr.Float(2.5)),
		f("Whole", mdr.Float(3)),
		f("Flag", mdr.String("TRUE")),
		f("Nothing", mdr.Null()),
		f("List", mdr.List([]mdr.Value{mdr.String("a"), mdr.Int(2)})),
	)
	if s, ok := e.String("Image"); !ok || s != `C:\Windows\System32\cmd.exe` {
		t.Errorf("Image = %q %v", s, ok)
	}
	if s, ok := e.String("process.parent.executable"); !ok || s != `C:\a.exe` {
		t.Errorf("nested = %q", s)
	}
	if !e.HasPrefix("process") || !e.HasPrefix("process.parent") || e.HasPrefix("process.parent.executable") {
		t.Error("HasPrefix")
	}
	for _, c := range []struct {
		k    string
		want int64
		ok   bool
	}{{"EventID", 4688, true}, {"GrantedAccess", 0x1010, true}, {"ProcessId", 3412, true}, {"Ratio", 0, false}, {"Whole", 3, true}, {"Image", 0, false}, {"Missing", 0, false}, {"Nothing", 0, false}} {
		if got, ok := e.Int(c.k); got != c.want || ok != c.ok {
			t.Errorf("Int(%s) = %d,%v want %d,%v", c.k, got, ok, c.want, c.ok)
		}
	}
	if v, ok := e.Float("GrantedAccess"); !ok || v != 4112 {
		t.Errorf("Float hex = %v", v)
	}
	if b, ok := e.Bool("Flag"); !ok || !b {
		t.Error("Bool")
	}
	if _, ok := e.String("EventID"); ok {
		t.Error("String on int should fail")
	}
	if s, _ := e.Text("EventID"); s != "4688" {
		t.Errorf("Text = %q", s)
	}
	if s, _ := e.Text("List"); s != "a, 2" {
		t.Errorf("Text list = %q", s)
	}
	if !e.Has("Nothing") || e.Has("Missing") {
		t.Error("Has")
	}
	var nilEv *mdr.Event
	if _, ok := nilEv.Get("x"); ok || nilEv.Len() != 0 {
		t.Error("nil event")
	}
	n := 0
	for range e.Fields() {
		n++
	}
	if n != e.Len() {
		t.Error("Fields")
	}
}

func TestDuplicateKeysLastWins(t *testing.T) {
	e := ev(f("A", mdr.String("1")), f("B", mdr.Int(2)), f("A", mdr.String("3")))
	if s, _ := e.String("A"); s != "3" || !e.DuplicateKeys() || e.Len() != 2 {
		t.Errorf("A=%q dup=%v len=%d", s, e.DuplicateKeys(), e.Len())
	}
	if ev(f("A", mdr.Int(1)), f("B", mdr.Int(1))).DuplicateKeys() {
		t.Error("false duplicate")
	}
	// many keys, hash-bucket collisions must not produce false duplicates
	b := mdr.NewBuilder(0)
	for i := 0; i < 500; i++ {
		b.Add("k"+string(rune('a'+i%26))+string(rune('a'+i/26)), mdr.Int(int64(i)))
	}
	if e := b.Finish(mdr.Origin{}, nil); e.DuplicateKeys() || e.Len() != 500 {
		t.Errorf("500 distinct keys: dup=%v len=%d", e.DuplicateKeys(), e.Len())
	}
}

func TestEventIDAndTime(t *testing.T) {
	e := ev(f("_id", mdr.String("abc")), f("UtcTime", mdr.String("2025-12-06 21:11:02.632")))
	if e.ID() != "abc" {
		t.Errorf("id %q", e.ID())
	}
	want := time.Date(2025, 12, 6, 21, 11, 2, 632e6, time.UTC)
	if !e.Time().Equal(want) {
		t.Errorf("time %v", e.Time())
	}
	a := mdr.NewBuilder(2)
	a.Add("x", mdr.Int(1))
	e1 := a.Finish(mdr.Origin{}, []byte(`{"x":1}`))
	a.Add("x", mdr.Int(1))
	e2 := a.Finish(mdr.Origin{Source: "other"}, []byte(`{"x":1}`))
	a.Add("x", mdr.Int(2))
	e3 := a.Finish(mdr.Origin{}, []byte(`{"x":2}`))
	if e1.ID() != e2.ID() || e1.ID() == e3.ID() || e1.ID()[:2] != "h:" {
		t.Errorf("content ids %s %s %s", e1.ID(), e2.ID(), e3.ID())
	}
	if e := ev(f("x", mdr.Int(1))); e.ID() != ev(f("x", mdr.Int(1))).ID() {
		t.Error("field hash not stable")
	}
}

func TestParseTime(t *testing.T) {
	utc := func(y, mo, d, h, mi, s, ns int) time.Time {
		return time.Date(y, time.Month(mo), d, h, mi, s, ns, time.UTC)
	}
	good := map[string]time.Time{
		"2025-12-06T21:11:02.649150800Z": utc(2025, 12, 6, 21, 11, 2, 649150800),
		"2025-12-06T21:11:02Z":           utc(2025, 12, 6, 21, 11, 2, 0),
		"2025-12-06 21:11:02.632":        utc(2025, 12, 6, 21, 11, 2, 632e6),
		"2025-12-06T21:11:02":            utc(2025, 12, 6, 21, 11, 2, 0),
		"2025-12-06T23:11:02+02:00":      utc(2025, 12, 6, 21, 11, 2, 0),
		"2025-12-06T16:11:02.5-0500":     utc(2025, 12, 6, 21, 11, 2, 5e8),
		" 2025-12-06T21:11:02Z ":         utc(2025, 12, 6, 21, 11, 2, 0),
		"1604996384":                     utc(2020, 11, 10, 8, 19, 44, 0),
		"1604996384.965":                 utc(2020, 11, 10, 8, 19, 44, 965e6),
		"1604996384965":                  utc(2020, 11, 10, 8, 19, 44, 965e6),
		"1604996384965123":               utc(2020, 11, 10, 8, 19, 44, 965123e3),
		"1604996384965123456":            utc(2020, 11, 10, 8, 19, 44, 965123456),
	}
	for s, want := range good {
		got, err := mdr.ParseTime(s)
		if err != nil || !got.Equal(want) {
			t.Errorf("ParseTime(%q) = %v, %v; want %v", s, got, err, want)
		}
	}
	for _, s := range []string{"", "yesterday", "2025-13-01T00:00:00Z", "2025-02-31 00:00:00", "2025-12-06T21:11:02+2", "2025-12-06T21:11:02.Z", "2025-12-06T25:00:00Z", "-5", "2025-12-06T21:11:02 junk"} {
		if _, err := mdr.ParseTime(s); err == nil {
			t.Errorf("ParseTime(%q) accepted", s)
		}
	}
	for _, c := range []struct {
		v    mdr.Value
		want time.Time
	}{
		{mdr.Int(1604996384), utc(2020, 11, 10, 8, 19, 44, 0)},
		{mdr.Int(1604996384965), utc(2020, 11, 10, 8, 19, 44, 965e6)},
		{mdr.Float(1604996384.5), utc(2020, 11, 10, 8, 19, 44, 5e8)},
	} {
		got, err := mdr.TimeOf(c.v)
		if err != nil || !got.Equal(c.want) {
			t.Errorf("TimeOf(%v) = %v %v", c.v.Text(), got, err)
		}
	}
	if _, err := mdr.TimeOf(mdr.Float(math.NaN())); err == nil {
		t.Error("NaN time accepted")
	}
}

func TestSeverity(t *testing.T) {
	for s, want := range map[string]mdr.Severity{"informational": mdr.SeverityInformational, "INFO": mdr.SeverityInformational, "low": mdr.SeverityLow, "Medium": mdr.SeverityMedium, "high": mdr.SeverityHigh, "critical": mdr.SeverityCritical} {
		got, err := mdr.ParseSeverity(s)
		if err != nil || got != want {
			t.Errorf("ParseSeverity(%q) = %v %v", s, got, err)
		}
		back, _ := mdr.ParseSeverity(got.String())
		if back != got {
			t.Errorf("round trip %v", got)
		}
	}
	if _, err := mdr.ParseSeverity("urgent"); err == nil {
		t.Error("bad severity accepted")
	}
	if !(mdr.SeverityCritical > mdr.SeverityHigh && mdr.SeverityHigh > mdr.SeverityLow) {
		t.Error("order")
	}
	b, _ := json.Marshal(struct{ S mdr.Severity }{mdr.SeverityHigh})
	if string(b) != `{"S":"high"}` {
		t.Errorf("json %s", b)
	}
	var x struct{ S mdr.Severity }
	if err := json.Unmarshal([]byte(`{"S":"critical"}`), &x); err != nil || x.S != mdr.SeverityCritical {
		t.Error("unmarshal")
	}
}

func TestTags(t *testing.T) {
	cases := map[string]mdr.Tag{
		"attack.t1059.001":         {Kind: mdr.TagTechnique, ID: "T1059.001"},
		"attack.T1003":             {Kind: mdr.TagTechnique, ID: "T1003"},
		"attack.g0032":             {Kind: mdr.TagGroup, ID: "G0032"},
		"attack.s0002":             {Kind: mdr.TagSoftware, ID: "S0002"},
		"cve.2021-44228":           {Kind: mdr.TagCVE, ID: "CVE-2021-44228"},
		"attack.t1059.abc":         {Kind: mdr.TagOther, ID: "attack.t1059.abc"},
		"detection.threat-hunting": {Kind: mdr.TagDetection, ID: "detection.threat-hunting"},
	}
	for in, want := range cases {
		got := mdr.ParseTag(in)
		if got.Kind != want.Kind || got.ID != want.ID {
			t.Errorf("ParseTag(%q) = %+v", in, got)
		}
	}
	if tg := mdr.ParseTag("attack.lateral_movement"); tg.Kind != mdr.TagTactic || tg.ID != "TA0008" {
		t.Errorf("tactic %+v", tg)
	}
	tags := []string{"attack.execution", "attack.t1059.001", "attack.execution", "attack.ta0005", "attack.t1059.001", "attack.t1027"}
	if got := mdr.TechniquesOf(tags); len(got) != 2 || got[0] != "T1059.001" || got[1] != "T1027" {
		t.Errorf("TechniquesOf = %v", got)
	}
	if got := mdr.TacticsOf(tags); len(got) != 2 || got[0].Name != "execution" || got[1].Name != "defense-evasion" {
		t.Errorf("TacticsOf = %v", got)
	}
}

func TestValueKinds(t *testing.T) {
	obj := mdr.Object([]mdr.Field{{Key: "a", Value: mdr.Int(1)}})
	if m, ok := obj.Members(); !ok || len(m) != 1 || m[0].Key != "a" {
		t.Error("Members")
	}
	if obj.Any().(map[string]any)["a"] != int64(1) {
		t.Error("Any object")
	}
	if !mdr.List([]mdr.Value{mdr.String("x")}).Equal(mdr.List([]mdr.Value{mdr.String("x")})) || mdr.Int(1).Equal(mdr.Float(1)) {
		t.Error("Equal")
	}
	if i, ok := mdr.ParseInt("0xFFFFFFFFFFFFFFFF"); !ok || i != -1 {
		t.Errorf("hex wrap %d", i)
	}
	if _, ok := mdr.ParseInt("99999999999999999999"); ok {
		t.Error("decimal overflow accepted")
	}
	if i, ok := mdr.ParseInt("-0x10"); !ok || i != -16 {
		t.Error("negative hex")
	}
}
