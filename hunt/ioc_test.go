package hunt_test

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/mdrkit/mdr"
	"github.com/mdrkit/mdr/hunt"
	"github.com/mdrkit/mdr/store"
)

// realIndicators picks indicators of every kind from values that occur in
// the events, plus some that occur nowhere.
const realIndicators = `# indicators for the tests: values seen in evtx_attack_samples
cmdline:sekurlsa::logonpasswords
mimikatz.exe
psexesvc.exe
C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe
HKLM\System\CurrentControlSet\Services
10.0.2.17
172.16.66.0/24
ffffffffffffffffffffffffffffffff
no-such-domain.example
`

// oracle finds the hits of one indicator in an event with plain string
// functions: a whole-token match (bounded by non-token bytes) for hashes,
// addresses, domains and single-token file names, a substring otherwise.
func oracle(in hunt.Indicator, ev *mdr.Event) []string {
	v := strings.ToLower(in.Value)
	tokenLike := (in.Kind == hunt.KindHash || in.Kind == hunt.KindIP || in.Kind == hunt.KindDomain || in.Kind == hunt.KindFilename) && !strings.ContainsAny(v, ` \/:`)
	isTok := func(c byte) bool {
		return ('a' <= c && c <= 'z') || ('0' <= c && c <= '9') || c == '.' || c == '-' || c == '_'
	}
	var fields []string
	for k, val := range ev.Fields() {
		var texts []string
		if l, ok := val.List(); ok {
			for _, x := range l {
				texts = append(texts, x.Text())
			}
		} else if val.Kind() != mdr.KindObject {
			texts = []string{val.Text()}
		}
		for _, t := range texts {
			t = strings.ToLower(t)
			hit := false
			for off := 0; !hit; {
				i := strings.Index(t[off:], v)
				if i < 0 {
					break
				}
				i += off
				if !tokenLike || ((i == 0 || !isTok(t[i-1])) && (i+len(v) == len(t) || !isTok(t[i+len(v)]))) {
					hit = true
				}
				off = i + 1
			}
			if hit && !slices.Contains(fields, k) {
				fields = append(fields, k)
			}
		}
	}
	return fields
}

func sweepKeys(t *testing.T, sw *hunt.Sweeper, src store.Events) ([]string, hunt.Progress) {
	t.Helper()
	var last hunt.Progress
	var keys []string
	for h, err := range sw.Sweep(t.Context(), src, hunt.Sweep{Progress: func(p hunt.Progress) { last = p }}) {
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, h.Indicator.Value+" "+h.Field+" "+h.Event.ID())
	}
	slices.Sort(keys)
	return keys, last
}

// TestSweep checks a sweep finds exactly what the oracle finds, on badger
// and memory; that 10,000 indicators find the same as the 10 real ones
// among them; and that a selective sweep skips segments.
func TestSweep(t *testing.T) {
	inds, rej, err := hunt.ParseIndicators("test.txt", []byte(realIndicators))
	if err != nil || len(rej) > 0 {
		t.Fatal(err, rej)
	}
	kinds := map[hunt.Kind]int{}
	for _, in := range inds {
		kinds[in.Kind]++
	}
	t.Logf("kinds: %v", kinds)
	evs := readFile(t, "evtx_attack_samples.jsonl", 0)
	var want []string
	for _, ev := range evs {
		for _, in := range inds {
			if in.Kind == hunt.KindCIDR {
				continue
			}
			for _, f := range oracle(in, ev) {
				want = append(want, in.Value+" "+f+" "+ev.ID())
			}
		}
	}
	sw, err := hunt.NewSweeper(inds)
	if err != nil {
		t.Fatal(err)
	}
	bs := badgerWith(t, evs)
	got, _ := sweepKeys(t, sw, bs)
	var gotNoCIDR []string
	cidr := 0
	for _, k := range got {
		if strings.HasPrefix(k, "172.16.66.0/24 ") {
			cidr++
			continue
		}
		gotNoCIDR = append(gotNoCIDR, k)
	}
	slices.Sort(want)
	if a, b := diff(gotNoCIDR, want); len(a)+len(b) > 0 {
		t.Fatalf("%d hits, oracle %d; only in the sweep %.5q, only in the oracle %.5q", len(gotNoCIDR), len(want), a, b)
	}
	if cidr == 0 || len(want) == 0 {
		t.Fatalf("%d hits, %d in the CIDR: the data should have both", len(want), cidr)
	}
	mem, _ := sweepKeys(t, sw, memoryWith(t, evs))
	if !slices.Equal(mem, got) {
		t.Fatalf("memory store: %d hits, badger %d", len(mem), len(got))
	}
	// 10,000 indicators: the 10 and 9,990 that occur nowhere
	many := slices.Clone(inds)
	for i := len(many); i < 10_000; i++ {
		switch i % 3 {
		case 0:
			many = append(many, hunt.Indicator{ID: fmt.Sprint(i), Kind: hunt.KindHash, Value: fmt.Sprintf("%064x", i*7919)})
		case 1:
			many = append(many, hunt.Indicator{ID: fmt.Sprint(i), Kind: hunt.KindDomain, Value: fmt.Sprintf("host%d.bad.example", i)})
		default:
			many = append(many, hunt.Indicator{ID: fmt.Sprint(i), Kind: hunt.KindCmdline, Value: fmt.Sprintf("-payload-%d-x", i)})
		}
	}
	swMany, err := hunt.NewSweeper(many)
	if err != nil {
		t.Fatal(err)
	}
	if gotMany, _ := sweepKeys(t, swMany, bs); !slices.Equal(gotMany, got) {
		t.Fatalf("10,000 indicators: %d hits, 10: %d", len(gotMany), len(got))
	}
	// token-only indicators skip segments
	tokOnly, err := hunt.NewSweeper([]hunt.Indicator{{ID: "a", Kind: hunt.KindFilename, Value: "psexesvc.exe"}, {ID: "b", Kind: hunt.KindIP, Value: "10.0.2.17"}})
	if err != nil {
		t.Fatal(err)
	}
	_, p := sweepKeys(t, tokOnly, bs)
	t.Logf("%d hits; a sweep for two tokens read %d of %d events, %d of %d segments skipped", len(got), p.Scanned, len(evs), p.Skipped, p.Segments)
	if p.Skipped == 0 {
		t.Fatal("no segment skipped")
	}
}

// TestParseIndicators reads the three formats and checks rejections name
// their place and reason.
func TestParseIndicators(t *testing.T) {
	csvData := "type,value,description\nhash,352B525E9C26CB92693899528FE007C2,cmd\nip,10.1.2.3,\nbogus,x,\n,evil.example.com,guessed\n"
	inds, rej, err := hunt.ParseIndicators("iocs.csv", []byte(csvData))
	if err != nil {
		t.Fatal(err)
	}
	if len(inds) != 3 || len(rej) != 1 || rej[0].Line != 4 || !strings.Contains(rej[0].Reason, "unknown kind") || inds[2].Kind != hunt.KindDomain || inds[0].Name != "cmd" {
		t.Fatalf("csv: %+v, rejects %v", inds, rej)
	}
	stix := `{"type":"bundle","id":"bundle--1","objects":[
	 {"type":"indicator","id":"indicator--1","name":"bad hash","pattern_type":"stix","pattern":"[file:hashes.'SHA-256' = '1f1d918ec49e0b7c59b704ff412e1a6e224da81c08cda657e1cb482abaac146c']"},
	 {"type":"indicator","id":"indicator--2","pattern_type":"stix","pattern":"[ipv4-addr:value IN ('10.0.0.1', '192.168.0.0/16')]"},
	 {"type":"indicator","id":"indicator--3","pattern_type":"stix","pattern":"[file:name = 'a.exe' AND file:size > 10]"},
	 {"type":"indicator","id":"indicator--4","pattern_type":"stix","pattern":"[process:name MATCHES '^x']"},
	 {"type":"indicator","id":"indicator--5","pattern_type":"sigma","pattern":"title: x"},
	 {"type":"malware","id":"malware--1","name":"x"},
	 {"type":"indicator","id":"indicator--6","pattern_type":"stix","pattern":"[domain-name:value = 'evil.example']"}]}`
	inds, rej, err = hunt.ParseIndicators("bundle.json", []byte(stix))
	if err != nil {
		t.Fatal(err)
	}
	if len(inds) != 4 || len(rej) != 3 || inds[2].Kind != hunt.KindCIDR || inds[3].Kind != hunt.KindDomain {
		t.Fatalf("stix: %+v, rejects %v", inds, rej)
	}
	for _, r := range rej {
		if !errors.Is(r, hunt.ErrIndicator) || r.Line == 0 {
			t.Fatalf("reject %v", r)
		}
		t.Logf("rejected: %v", r)
	}
	if _, _, err := hunt.ParseIndicators("bad.json", []byte(`{"type":"report"}`)); !errors.Is(err, hunt.ErrIndicator) {
		t.Fatalf("not a bundle: %v", err)
	}
	list := "# c\nhash:zz\n2001:db8::1\nC:\\Users\\Public\\x.exe\nHKCU\\Software\\Run\nrundll32.exe\n-enc JAB\n"
	inds, rej, _ = hunt.ParseIndicators("l.txt", []byte(list))
	var ks []hunt.Kind
	for _, in := range inds {
		ks = append(ks, in.Kind)
	}
	if len(rej) != 1 || !slices.Equal(ks, []hunt.Kind{hunt.KindIP, hunt.KindPath, hunt.KindRegistry, hunt.KindFilename, hunt.KindCmdline}) {
		t.Fatalf("list kinds %v, rejects %v", ks, rej)
	}
}
