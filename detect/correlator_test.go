package detect_test

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mdrkit/mdr"
	"github.com/mdrkit/mdr/detect"
	"github.com/mdrkit/mdr/detect/sigma"
	"github.com/mdrkit/mdr/internal/shareddata"
	"github.com/mdrkit/mdr/reader"
	"github.com/mdrkit/mdr/store/badger"
)

// Base rules and correlations written for the tests over the shared logs.
const corrLogonRules = `
- id: failed-logon
  title: Failed logon
  severity: low
  hidden: true
  condition: e.EventID.numEq(4625)
- id: kerberos-preauth-failed
  title: Kerberos pre-authentication failed
  severity: low
  hidden: true
  condition: e.EventID.numEq(4771)
- id: kerberos-tgt
  title: Kerberos TGT requested
  severity: informational
  hidden: true
  condition: e.EventID.numEq(4768)
- id: logon-brute-force
  title: Repeated failed logons for one account
  severity: medium
  tags: [attack.credential_access, attack.t1110]
  correlation:
    type: event_count
    rules: [failed-logon]
    group-by: [TargetUserName, Computer]
    timespan: 1m
    condition: {gte: 5}
- id: kerberos-user-enumeration
  title: Kerberos requests for many accounts from one address
  severity: high
  tags: [attack.discovery, attack.t1087]
  correlation:
    type: value_count
    rules: [kerberos-preauth-failed, kerberos-tgt]
    group-by: [IpAddress]
    timespan: 1m
    condition: {field: TargetUserName, gte: 10}
- id: kerberos-brute-force
  title: Repeated Kerberos pre-authentication failures for one account
  severity: medium
  hidden: true
  correlation:
    type: event_count
    rules: [kerberos-preauth-failed]
    group-by: [TargetUserName, IpAddress]
    timespan: 1m
    condition: {gte: 10}
- id: sustained-kerberos-brute-force
  title: Sustained Kerberos brute force from one address
  severity: high
  tags: [attack.credential_access, attack.t1110.001]
  correlation:
    type: event_count
    rules: [kerberos-brute-force]
    group-by: [IpAddress]
    timespan: 5m
    condition: {gte: 3}
`

const corrSysmonRules = `
- id: lolbin-start
  title: Script host or LOLBin started
  severity: low
  hidden: true
  condition: >
    e.Channel.equalsFold("Microsoft-Windows-Sysmon/Operational") && e.EventID.numEq(1) &&
    e.Image.endsWithFold(["\\mshta.exe", "\\regsvr32.exe", "\\rundll32.exe", "\\wmic.exe", "\\powershell.exe"])
- id: lolbin-network
  title: Script host or LOLBin connected out
  severity: low
  hidden: true
  condition: >
    e.Channel.equalsFold("Microsoft-Windows-Sysmon/Operational") && e.EventID.numEq(3) &&
    e.Image.endsWithFold(["\\mshta.exe", "\\regsvr32.exe", "\\rundll32.exe", "\\wmic.exe", "\\powershell.exe"])
- id: lolbin-start-then-network
  title: LOLBin started and connected out within a minute
  severity: high
  tags: [attack.defense_evasion, attack.t1218]
  correlation:
    type: temporal_ordered
    rules: [lolbin-start, lolbin-network]
    group-by: [ProcessGuid]
    timespan: 1m
`

func corrCompile(t testing.TB, src string) *detect.Ruleset {
	t.Helper()
	rules, err := detect.ParseRules([]byte(src), "test.yml")
	if err != nil {
		t.Fatal(err)
	}
	rs, err := detect.Compile(rules)
	if err != nil {
		t.Fatal(err)
	}
	return rs
}

func corrNew(t testing.TB, rs *detect.Ruleset, cfg detect.CorrelatorConfig) *detect.Correlator {
	t.Helper()
	c, err := detect.NewCorrelator(rs, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// corrRecordings reads a shared event log and splits it into its source
// corrRecordings (field _src), each sorted by event time: replaying one
// recording after the other, with Flush between them.
func corrRecordings(t testing.TB, name string) [][]*mdr.Event {
	t.Helper()
	rd, err := reader.Open(shareddata.Path(t, "events", name), reader.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Close()
	var out [][]*mdr.Event
	last := "\x00"
	for rd.Next() {
		ev := rd.Event()
		src, _ := ev.Text("_src")
		if src != last {
			out = append(out, nil)
			last = src
		}
		out[len(out)-1] = append(out[len(out)-1], ev)
	}
	if err := rd.Err(); err != nil {
		t.Fatal(err)
	}
	for _, r := range out {
		slices.SortStableFunc(r, func(a, b *mdr.Event) int { return a.Time().Compare(b.Time()) })
	}
	return out
}

// corrStepFunc is called before event i of the whole corrReplay; it may
// replace the ruleset and correlator the replay goes on with.
type corrStepFunc func(i int, rs **detect.Ruleset, c **detect.Correlator)

// corrReplay runs rs and c over the corrRecordings, flushing after each.
func corrReplay(t testing.TB, rs *detect.Ruleset, c *detect.Correlator, recs [][]*mdr.Event, before corrStepFunc) []detect.CorrelationMatch {
	t.Helper()
	ctx := context.Background()
	var out []detect.CorrelationMatch
	i := 0
	for _, rec := range recs {
		for _, ev := range rec {
			if before != nil {
				before(i, &rs, &c)
			}
			i++
			ms, err := rs.Match(ctx, ev)
			if err != nil {
				t.Fatal(err)
			}
			cms, err := c.Observe(ctx, ev, ms)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, cms...)
		}
		cms, err := c.Flush(ctx)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, cms...)
	}
	return out
}

func corrRender(m detect.CorrelationMatch) string {
	var g []string
	for _, v := range m.Group {
		g = append(g, v.Field+"="+v.Value)
	}
	return fmt.Sprintf("%s {%s} %v n=%d v=%g", m.Rule.ID, strings.Join(g, ","), m.EventIDs, m.Events, m.Value)
}

// corrRefItem is one base match for the reference model.
type corrRefItem struct {
	t     time.Time
	id    string
	group string
	value string
}

// corrRefCount is a plain model of an eager event_count / value_count: per
// group, the events of the last span; a hit when the count (or the number
// of distinct values) reaches n, after which the group starts afresh.
func corrRefCount(items []corrRefItem, span time.Duration, n int, distinct bool) map[string][][]string {
	type st struct{ items []corrRefItem }
	groups := map[string]*st{}
	hits := map[string][][]string{}
	for _, it := range items {
		g := groups[it.group]
		if g == nil {
			g = &st{}
			groups[it.group] = g
		}
		keep := g.items[:0]
		for _, x := range g.items {
			if !x.t.Before(it.t.Add(-span)) {
				keep = append(keep, x)
			}
		}
		g.items = append(keep, it)
		count := len(g.items)
		if distinct {
			vals := map[string]bool{}
			for _, x := range g.items {
				vals[x.value] = true
			}
			count = len(vals)
		}
		if count >= n {
			var ids []string
			for _, x := range g.items {
				ids = append(ids, x.id)
			}
			hits[it.group] = append(hits[it.group], ids)
			g.items = nil
		}
	}
	return hits
}

func corrText(ev *mdr.Event, f string) (string, bool) {
	v, ok := ev.Get(f)
	if !ok || v.IsNull() {
		return "", false
	}
	return v.Text(), true
}

func TestCorrelatorLogonsRealEvents(t *testing.T) {
	rs := corrCompile(t, corrLogonRules)
	c := corrNew(t, rs, detect.DefaultCorrelatorConfig())
	recs := corrRecordings(t, "evtx_to_mitre_attack.jsonl")
	got := corrReplay(t, rs, c, recs, nil)

	// The reference: the same events through the plain model, recording by
	// recording.
	byRule := map[string][]string{}
	for _, m := range got {
		byRule[m.Rule.ID] = append(byRule[m.Rule.ID], fmt.Sprintf("{%s} %v", corrGroupText(m), m.EventIDs))
	}
	want := map[string][]string{}
	var innerHits []corrRefItem // kerberos-brute-force hits, for the chained correlation
	for _, rec := range recs {
		var failed, kerb, k4771 []corrRefItem
		for _, ev := range rec {
			id, _ := ev.Int("EventID")
			user, uok := corrText(ev, "TargetUserName")
			ip, iok := corrText(ev, "IpAddress")
			comp, cok := corrText(ev, "Computer")
			switch {
			case id == 4625 && uok && cok:
				failed = append(failed, corrRefItem{t: ev.Time(), id: ev.ID(), group: "TargetUserName=" + user + ",Computer=" + comp})
			}
			if (id == 4771 || id == 4768) && iok {
				it := corrRefItem{t: ev.Time(), id: ev.ID(), group: "IpAddress=" + ip, value: user}
				if uok {
					kerb = append(kerb, it)
				}
				if id == 4771 && uok {
					k4771 = append(k4771, corrRefItem{t: ev.Time(), id: ev.ID(), group: "TargetUserName=" + user + ",IpAddress=" + ip})
				}
			}
		}
		add := func(rule string, hits map[string][][]string, order []corrRefItem) {
			// Emit in the order the model produced them: by the time of
			// the event that completed each hit.
			type h struct {
				last  string
				group string
				ids   []string
			}
			var all []h
			for g, list := range hits {
				for _, ids := range list {
					all = append(all, h{ids[len(ids)-1], g, ids})
				}
			}
			pos := map[string]int{}
			for i, it := range order {
				pos[it.id] = i
			}
			slices.SortFunc(all, func(a, b h) int { return cmp.Compare(pos[a.last], pos[b.last]) })
			for _, x := range all {
				want[rule] = append(want[rule], fmt.Sprintf("{%s} %v", x.group, x.ids))
			}
		}
		add("logon-brute-force", corrRefCount(failed, time.Minute, 5, false), failed)
		add("kerberos-user-enumeration", corrRefCount(kerb, time.Minute, 10, true), kerb)
		inner := corrRefCount(k4771, time.Minute, 10, false)
		add("kerberos-brute-force", inner, k4771)
		// Chained: each inner hit is one input of the outer correlation,
		// at the time of its last event, grouped by its IpAddress.
		pos := map[string]int{}
		for i, it := range k4771 {
			pos[it.id] = i
		}
		var rec4 []corrRefItem
		for g, list := range inner {
			ip := g[strings.Index(g, ",IpAddress=")+len(",IpAddress="):]
			for _, ids := range list {
				last := ids[len(ids)-1]
				rec4 = append(rec4, corrRefItem{t: k4771[pos[last]].t, id: ids[0], group: "IpAddress=" + ip, value: last})
			}
		}
		slices.SortFunc(rec4, func(a, b corrRefItem) int { return cmp.Compare(pos[a.value], pos[b.value]) })
		innerHits = append(innerHits, rec4...)
		outer := corrRefCount(rec4, 5*time.Minute, 3, false)
		for g, list := range outer {
			for range list {
				want["sustained-kerberos-brute-force"] = append(want["sustained-kerberos-brute-force"], "{"+g+"}")
			}
		}
	}
	for _, rule := range []string{"logon-brute-force", "kerberos-user-enumeration", "kerberos-brute-force"} {
		if !slices.Equal(byRule[rule], want[rule]) {
			t.Errorf("%s:\n got %q\nwant %q", rule, byRule[rule], want[rule])
		}
	}
	var outerGot []string
	for _, m := range got {
		if m.Rule.ID == "sustained-kerberos-brute-force" {
			outerGot = append(outerGot, "{"+corrGroupText(m)+"}")
			if m.Events != 30 {
				t.Errorf("sustained brute force should carry the 3×10 base events, has %d", m.Events)
			}
		}
	}
	if !slices.Equal(outerGot, want["sustained-kerberos-brute-force"]) {
		t.Errorf("chained:\n got %q\nwant %q", outerGot, want["sustained-kerberos-brute-force"])
	}
	// What an analyst expects from these corrRecordings.
	for _, s := range []string{
		"logon-brute-force {TargetUserName=Administrator,Computer=WIN}",
		"logon-brute-force {TargetUserName=Admin,Computer=WIN}",
		"logon-brute-force {TargetUserName=admmig@offsec.lan,Computer=fs01.offsec.lan}",
		"kerberos-user-enumeration {IpAddress=::ffff:10.23.123.11}",
		"sustained-kerberos-brute-force {IpAddress=::ffff:10.23.123.11}",
	} {
		if !slices.ContainsFunc(got, func(m detect.CorrelationMatch) bool { return strings.HasPrefix(corrRender(m), s+" ") }) {
			t.Errorf("missing %s", s)
		}
	}
	st := c.Stats()
	if st.Late != 0 || st.GroupsEvicted != 0 || st.Matches != uint64(len(got)) {
		t.Errorf("stats %+v", st)
	}
	t.Logf("%d events in %d recordings: %d correlation matches (%d inner kerberos hits); stats %+v", corrCountEvents(recs), len(recs), len(got), len(innerHits), st)
	for _, m := range got {
		if !m.Hidden {
			t.Logf("  %s", m.Explain())
			break
		}
	}
}

func corrGroupText(m detect.CorrelationMatch) string {
	var g []string
	for _, v := range m.Group {
		g = append(g, v.Field+"="+v.Value)
	}
	return strings.Join(g, ",")
}

func corrCountEvents(recs [][]*mdr.Event) int {
	n := 0
	for _, r := range recs {
		n += len(r)
	}
	return n
}

func TestCorrelatorSequenceRealEvents(t *testing.T) {
	rs := corrCompile(t, corrSysmonRules)
	c := corrNew(t, rs, detect.DefaultCorrelatorConfig())
	recs := corrRecordings(t, "evtx_attack_samples.jsonl")
	got := corrReplay(t, rs, c, recs, nil)
	// Reference: per ProcessGuid, the latest start; a connection within a
	// minute after it completes the sequence and consumes the start.
	var want []string
	ctx := context.Background()
	for _, rec := range recs {
		starts := map[string]*mdr.Event{}
		for _, ev := range rec {
			ms, err := rs.Match(ctx, ev)
			if err != nil {
				t.Fatal(err)
			}
			guid, ok := corrText(ev, "ProcessGuid")
			if !ok {
				continue
			}
			for _, m := range ms {
				switch m.Rule.ID {
				case "lolbin-start":
					starts[guid] = ev
				case "lolbin-network":
					s := starts[guid]
					if s != nil && !ev.Time().After(s.Time().Add(time.Minute)) {
						want = append(want, fmt.Sprintf("{ProcessGuid=%s} [%s %s]", guid, s.ID(), ev.ID()))
						delete(starts, guid)
					}
				}
			}
		}
	}
	var have []string
	for _, m := range got {
		have = append(have, fmt.Sprintf("{%s} %v", corrGroupText(m), m.EventIDs))
		if m.Start.After(m.End) || m.End.Sub(m.Start) > time.Minute || m.Value != 2 {
			t.Errorf("bad window or value: %s", m.Explain())
		}
	}
	if len(want) < 5 {
		t.Fatalf("the recordings should hold several LOLBin start→connect sequences, the reference finds %d", len(want))
	}
	if !slices.Equal(have, want) {
		t.Fatalf("sequences:\n got %q\nwant %q", have, want)
	}
	t.Logf("%d events: %d LOLBin start→connect sequences; first: %s", corrCountEvents(recs), len(got), got[0].Explain())
}

func TestCorrelatorLatenessRealEvents(t *testing.T) {
	// The corrRecordings in file order are out of order by up to days (one
	// channel after another): without lateness events are dropped, and
	// counted; with a lateness of a month none is, and the matches equal
	// those of the time-sorted corrReplay.
	rs := corrCompile(t, corrLogonRules+`
- id: any-event
  title: Any event
  severity: informational
  hidden: true
  condition: has(e.EventID)
- id: event-burst
  title: Many events on one computer
  severity: low
  correlation: {type: event_count, rules: [any-event], group-by: [Computer], timespan: 1m, condition: {gte: 50}}
`)
	sorted := corrRecordings(t, "evtx_to_mitre_attack.jsonl")
	want := corrReplay(t, rs, corrNew(t, rs, detect.DefaultCorrelatorConfig()), sorted, nil)

	rd, err := reader.Open(shareddata.Path(t, "events", "evtx_to_mitre_attack.jsonl"), reader.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var fileOrder [][]*mdr.Event
	last := "\x00"
	for rd.Next() {
		ev := rd.Event()
		src, _ := ev.Text("_src")
		if src != last {
			fileOrder = append(fileOrder, nil)
			last = src
		}
		fileOrder[len(fileOrder)-1] = append(fileOrder[len(fileOrder)-1], ev)
	}
	rd.Close()

	strict := corrNew(t, rs, detect.DefaultCorrelatorConfig())
	corrReplay(t, rs, strict, fileOrder, nil)
	if strict.Stats().Late == 0 {
		t.Fatal("file order without lateness dropped nothing")
	}
	cfg := detect.DefaultCorrelatorConfig()
	cfg.Lateness = 31 * 24 * time.Hour
	lenient := corrNew(t, rs, cfg)
	got := corrReplay(t, rs, lenient, fileOrder, nil)
	if lenient.Stats().Late != 0 {
		t.Fatalf("late with a month of lateness: %+v", lenient.Stats())
	}
	// Each group keeps its own clock, so across groups the matches
	// interleave by arrival; as a set, and within each group, they are
	// those of the time-sorted corrReplay.
	g, w := corrRenderAll(got), corrRenderAll(want)
	slices.Sort(g)
	slices.Sort(w)
	if !slices.Equal(g, w) {
		t.Fatalf("file order with lateness differs from time order: %d vs %d matches; first difference %q", len(g), len(w), corrFirstDiff(g, w))
	}
	t.Logf("file order, no lateness: %d late drops; with lateness: %d matches, as time-sorted", strict.Stats().Late, len(got))
}

func corrFirstDiff(a, b []string) []string {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return []string{a[i], b[i]}
		}
	}
	return nil
}

func corrRenderAll(ms []detect.CorrelationMatch) []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = corrRender(m) + " " + m.Start.Format(time.RFC3339Nano) + " " + m.End.Format(time.RFC3339Nano)
	}
	return out
}

// corrStateStore opens the embedded badger store in dir; it implements
// detect.StateStore.
func corrStateStore(t testing.TB, dir string) *badger.Store {
	t.Helper()
	st, err := badger.Open(badger.DefaultConfig(dir))
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func TestCorrelatorSaveLoadState(t *testing.T) {
	// A restart in the middle of the stream (save, new ruleset and
	// correlator, load) gives the matches and counters of an uninterrupted
	// run, wherever the restart falls.
	src := corrLogonRules + strings.TrimPrefix(corrSysmonRules, "\n")
	rs := corrCompile(t, src)
	recs := append(corrRecordings(t, "evtx_to_mitre_attack.jsonl"), corrRecordings(t, "evtx_attack_samples.jsonl")...)
	cfg := detect.DefaultCorrelatorConfig()
	cfg.Lateness = 30 * time.Second
	c0 := corrNew(t, rs, cfg)
	want := corrRenderAll(corrReplay(t, rs, c0, recs, nil))
	wantStats := c0.Stats()
	if len(want) < 20 {
		t.Fatalf("only %d matches", len(want))
	}
	ctx := context.Background()
	dir := t.TempDir()
	total := corrCountEvents(recs)
	for _, cut := range []int{1, total / 7, total / 3, total / 2, 8531, total - 1} {
		rs1 := corrCompile(t, src)
		c := corrNew(t, rs1, cfg)
		restart := func(i int, rs **detect.Ruleset, cp **detect.Correlator) {
			if i != cut {
				return
			}
			// Save, close the store as a stopping process would, reopen
			// it, and load into a new ruleset and correlator.
			st := corrStateStore(t, dir)
			if err := c.SaveState(ctx, st); err != nil {
				t.Fatal(err)
			}
			if err := st.Close(); err != nil {
				t.Fatal(err)
			}
			st = corrStateStore(t, dir)
			*rs = corrCompile(t, src)
			c = corrNew(t, *rs, cfg)
			*cp = c
			if err := c.LoadState(ctx, st); err != nil {
				t.Fatal(err)
			}
			if err := st.Close(); err != nil {
				t.Fatal(err)
			}
		}
		got := corrReplay(t, rs1, c, recs, restart)
		if r := corrRenderAll(got); !slices.Equal(r, want) {
			t.Fatalf("restart before event %d: %d matches, uninterrupted %d", cut, len(r), len(want))
		}
		if s := c.Stats(); s != wantStats {
			t.Fatalf("restart before event %d: stats %+v, uninterrupted %+v", cut, s, wantStats)
		}
	}
}

func TestCorrelatorLoadStateFirstStartAndErrors(t *testing.T) {
	ctx := context.Background()
	rs := corrCompile(t, corrLogonRules)
	c := corrNew(t, rs, detect.DefaultCorrelatorConfig())
	st := corrStateStore(t, t.TempDir())
	defer st.Close()
	if err := c.LoadState(ctx, st); err != nil {
		t.Fatalf("first start: %v", err)
	}
	if err := st.PutState(ctx, "detect/correlator", []byte(`{"version":7}`)); err != nil {
		t.Fatal(err)
	}
	err := c.LoadState(ctx, st)
	if !errors.Is(err, detect.ErrCorrelatorState) || !errors.Is(err, mdr.ErrInvalid) || !strings.Contains(err.Error(), "version 7") {
		t.Fatalf("future state: %v", err)
	}
	if err := st.PutState(ctx, "detect/correlator", []byte(`{"version":1,"engine":{"version":2,"groups":[{"spec":"nope","vals":[]}]}}`)); err != nil {
		t.Fatal(err)
	}
	if err := c.LoadState(ctx, st); err != nil {
		t.Fatal(err)
	}
	if s := c.Stats(); s.RestoreDropped != 1 {
		t.Fatalf("state of an unknown correlation should be dropped and counted: %+v", s)
	}
	cfg := detect.DefaultCorrelatorConfig()
	cfg.MaxGroups = 0
	if _, err := detect.NewCorrelator(rs, cfg); !errors.Is(err, detect.ErrCorrelatorConfig) {
		t.Fatalf("bad config: %v", err)
	}
}

func TestCorrelatorAliasesAndGroups(t *testing.T) {
	// An internal server error on a host and a new connection from that
	// host's address, in either order, within 10 s: the address is
	// destination.ip in one rule's events and source.ip in the other's.
	rs := corrCompile(t, `
- id: internal_error
  title: HTTP 500
  severity: low
  hidden: true
  condition: e["http.response.status_code"].numEq(500)
- id: new_connection
  title: New network connection
  severity: low
  hidden: true
  condition: e["event.category"] == "network"
- id: error-and-connection
  title: Server error and connection from the same address
  severity: medium
  correlation:
    type: temporal
    rules: [internal_error, new_connection]
    group-by: [internal_ip]
    timespan: 10s
    aliases:
      internal_ip:
        internal_error: destination.ip
        new_connection: source.ip
`)
	c := corrNew(t, rs, detect.DefaultCorrelatorConfig())
	ctx := context.Background()
	t0 := time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC)
	mk := func(sec int, id string, kv ...string) *mdr.Event {
		b := mdr.NewBuilder(4)
		for i := 0; i+1 < len(kv); i += 2 {
			if kv[i] == "http.response.status_code" {
				b.Add(kv[i], mdr.Int(500))
				continue
			}
			b.Add(kv[i], mdr.String(kv[i+1]))
		}
		return b.FinishAs(mdr.Origin{Source: "test"}, id, t0.Add(time.Duration(sec)*time.Second))
	}
	events := []*mdr.Event{
		mk(0, "e1", "http.response.status_code", "500", "destination.ip", "10.0.0.5"),
		mk(1, "c1", "event.category", "network", "source.ip", "10.0.0.9"),
		mk(2, "c2", "event.category", "network"), // no source.ip: cannot be grouped
		mk(3, "c3", "event.category", "network", "source.ip", "10.0.0.5"),
	}
	var got []string
	for _, ev := range events {
		ms, err := rs.Match(ctx, ev)
		if err != nil {
			t.Fatal(err)
		}
		cms, err := c.Observe(ctx, ev, ms)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range cms {
			got = append(got, corrRender(m))
		}
	}
	if want := []string{"error-and-connection {internal_ip=10.0.0.5} [e1 c3] n=2 v=2"}; !slices.Equal(got, want) {
		t.Fatalf("got %q want %q", got, want)
	}
	if s := c.Stats(); s.NoGroup != 1 {
		t.Fatalf("the event without the group field should be counted: %+v", s)
	}
}

func TestCorrelatorRejections(t *testing.T) {
	rs := corrCompile(t, `
- id: a
  title: A
  severity: low
  condition: e.EventID.numEq(1)
- id: by-user
  title: Per user
  severity: low
  correlation: {type: event_count, rules: [a], group-by: [User], timespan: 1m, condition: {gte: 2}}
- id: by-host-of-user
  title: Chained on a field the inner correlation does not group by
  severity: high
  correlation: {type: event_count, rules: [by-user], group-by: [Computer], timespan: 1h, condition: {gte: 2}}
- id: too-many
  title: More events than a group may hold
  severity: high
  correlation: {type: event_count, rules: [a], group-by: [User], timespan: 1m, condition: {gte: 100000}}
- id: fine
  title: Fine
  severity: high
  correlation: {type: event_count, rules: [by-user], group-by: [User], timespan: 1h, condition: {gte: 2}}
`)
	c, err := detect.NewCorrelator(rs, detect.DefaultCorrelatorConfig())
	var ce *detect.CompileError
	if !errors.As(err, &ce) || len(ce.Rejected) != 2 {
		t.Fatalf("want 2 rejections, got %v", err)
	}
	ids := []string{ce.Rejected[0].RuleID, ce.Rejected[1].RuleID}
	slices.Sort(ids)
	if !slices.Equal(ids, []string{"by-host-of-user", "too-many"}) || !strings.Contains(err.Error(), `"Computer"`) || ce.Rejected[0].File != "test.yml" {
		t.Fatalf("rejections: %v", err)
	}
	var kept []string
	for _, r := range c.Rules() {
		kept = append(kept, r.ID)
	}
	if !slices.Equal(kept, []string{"by-user", "fine"}) {
		t.Fatalf("kept %v", kept)
	}
}

func TestCorrelatorNoTime(t *testing.T) {
	rs := corrCompile(t, corrLogonRules)
	c := corrNew(t, rs, detect.DefaultCorrelatorConfig())
	ev := mdr.NewEvent(mdr.Origin{Source: "test"}, mdr.Field{Key: "EventID", Value: mdr.Int(4625)}, mdr.Field{Key: "TargetUserName", Value: mdr.String("bob")})
	ms, err := rs.Match(context.Background(), ev)
	if err != nil || len(ms) != 1 {
		t.Fatalf("base rule should match: %v %v", ms, err)
	}
	if _, err := c.Observe(context.Background(), ev, ms); err != nil {
		t.Fatal(err)
	}
	if s := c.Stats(); s.NoTime != 1 || s.Observed != 0 {
		t.Fatalf("an event without time is counted, not correlated: %+v", s)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := c.Observe(ctx, ev, ms); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled: %v", err)
	}
}

func BenchmarkCorrelatorObserve(b *testing.B) {
	rs := corrCompile(b, corrLogonRules)
	recs := corrRecordings(b, "evtx_to_mitre_attack.jsonl")
	type item struct {
		ev    *mdr.Event
		ms    []detect.Match
		first bool // first of its recording: flush before it
	}
	var items []item
	ctx := context.Background()
	for _, rec := range recs {
		first := true
		for _, ev := range rec {
			ms, err := rs.Match(ctx, ev)
			if err != nil {
				b.Fatal(err)
			}
			if len(ms) > 0 {
				items = append(items, item{ev, ms, first})
				first = false
			}
		}
	}
	c := corrNew(b, rs, detect.DefaultCorrelatorConfig())
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		it := items[i%len(items)]
		if it.first {
			if _, err := c.Flush(ctx); err != nil {
				b.Fatal(err)
			}
		}
		if _, err := c.Observe(ctx, it.ev, it.ms); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(items)), "matched-events")
}

// BenchmarkCorrelatorObserveUnreferenced is the common path: an event whose
// matches feed no correlation.
func BenchmarkCorrelatorObserveUnreferenced(b *testing.B) {
	rs := corrCompile(b, corrLogonRules+`
- id: other
  title: Other
  severity: low
  condition: e.EventID.numEq(1)
`)
	c := corrNew(b, rs, detect.DefaultCorrelatorConfig())
	ev := mdr.NewEvent(mdr.Origin{Source: "bench"}, mdr.Field{Key: "EventID", Value: mdr.Int(1)})
	ms, err := rs.Match(context.Background(), ev)
	if err != nil || len(ms) != 1 {
		b.Fatal(ms, err)
	}
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := c.Observe(ctx, ev, ms); err != nil {
			b.Fatal(err)
		}
	}
}

func TestCorrelatorMeasuredFields(t *testing.T) {
	rs := corrCompile(t, `
- id: upload
  title: Upload
  severity: low
  hidden: true
  condition: e.action == "upload"
- id: exfil-sum
  title: Large uploads
  severity: high
  correlation: {type: value_sum, rules: [upload], group-by: [user], timespan: 1h, condition: {field: bytes, gt: 1000}}
- id: exfil-avg
  title: Large average upload
  severity: medium
  correlation: {type: value_avg, rules: [upload], group-by: [user], timespan: 1h, condition: {field: bytes, gte: 300}}
- id: exfil-p90
  title: Large 90th percentile upload, decided per hour
  severity: medium
  correlation: {type: value_percentile, rules: [upload], group-by: [user], timespan: 1h, condition: {field: bytes, percentile: 90, lte: 100}}
`)
	c := corrNew(t, rs, detect.DefaultCorrelatorConfig())
	ctx := context.Background()
	t0 := time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC)
	up := func(min int, id string, bytes mdr.Value) *mdr.Event {
		b := mdr.NewBuilder(3)
		b.Add("action", mdr.String("upload"))
		b.Add("user", mdr.String("carol"))
		if !bytes.IsNull() {
			b.Add("bytes", bytes)
		}
		return b.FinishAs(mdr.Origin{Source: "test"}, id, t0.Add(time.Duration(min)*time.Minute))
	}
	var got []string
	for _, ev := range []*mdr.Event{
		up(0, "a", mdr.Int(200)),
		up(1, "b", mdr.String("0x190")), // 400, as Windows writes numbers
		up(2, "c", mdr.String("n/a")),   // not a number: ignored, counted
		up(3, "d", mdr.Null()),          // absent: ignored, counted
		up(4, "e", mdr.Float(450.5)),    // sum 1050.5 > 1000
	} {
		ms, err := rs.Match(ctx, ev)
		if err != nil {
			t.Fatal(err)
		}
		cms, err := c.Observe(ctx, ev, ms)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range cms {
			got = append(got, corrRender(m))
		}
	}
	cms, err := c.Flush(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range cms {
		got = append(got, corrRender(m))
	}
	want := []string{
		"exfil-avg {user=carol} [a b] n=2 v=300",
		"exfil-sum {user=carol} [a b e] n=3 v=1050.5",
		"exfil-avg {user=carol} [e] n=1 v=450.5", // the group started afresh after its first hit
	}
	if !slices.Equal(got, want) {
		t.Fatalf("got %q\nwant %q", got, want)
	}
	// The 90th percentile of the hour from 10:00 (200, 400, 450.5) is 440.4,
	// above 100: no hit; the measured-field gaps are counted per correlation.
	if s := c.Stats(); s.NoValue != 6 {
		t.Fatalf("stats %+v", s)
	}
}

func TestCorrelatorConcurrentUse(t *testing.T) {
	// The contract: every method may be called from any goroutine.
	rs := corrCompile(t, corrLogonRules)
	c := corrNew(t, rs, detect.DefaultCorrelatorConfig())
	recs := corrRecordings(t, "evtx_to_mitre_attack.jsonl")
	done := make(chan struct{})
	go func() {
		defer close(done)
		for range 200 {
			_ = c.Stats()
		}
	}()
	corrReplay(t, rs, c, recs[:40], nil)
	<-done
}

func TestCorrelatorValueCountOfSeveralFields(t *testing.T) {
	// Sigma's value_count may name several fields: their combinations are
	// counted (detect/sigma joins the names with commas).
	rs := corrCompile(t, `
- id: logon
  title: Logon
  severity: low
  hidden: true
  condition: e.EventID.numEq(4624)
- id: many-pairs
  title: Many user and workstation pairs on one host
  severity: medium
  correlation: {type: value_count, rules: [logon], group-by: [Computer], timespan: 1h, condition: {field: "User, Workstation", gte: 3}}
- id: sum-of-two
  title: A sum cannot measure two fields
  severity: low
  correlation: {type: value_sum, rules: [logon], group-by: [Computer], timespan: 1h, condition: {field: "a,b", gt: 1}}
`)
	c, err := detect.NewCorrelator(rs, detect.DefaultCorrelatorConfig())
	if rj := detect.Rejections(err); len(rj) != 1 || rj[0].RuleID != "sum-of-two" {
		t.Fatalf("want sum-of-two rejected, got %v", err)
	}
	ctx := context.Background()
	t0 := time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC)
	var got []string
	for i, uw := range [][2]string{{"ann", "ws1"}, {"ann", "ws1"}, {"ann", "ws2"}, {"bob", ""}, {"bob", "ws1"}} {
		b := mdr.NewBuilder(4)
		b.Add("EventID", mdr.Int(4624))
		b.Add("Computer", mdr.String("dc1"))
		b.Add("User", mdr.String(uw[0]))
		if uw[1] != "" {
			b.Add("Workstation", mdr.String(uw[1]))
		}
		ev := b.FinishAs(mdr.Origin{Source: "test"}, fmt.Sprint(i), t0.Add(time.Duration(i)*time.Minute))
		ms, err := rs.Match(ctx, ev)
		if err != nil {
			t.Fatal(err)
		}
		cms, err := c.Observe(ctx, ev, ms)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range cms {
			got = append(got, corrRender(m))
		}
	}
	if want := []string{"many-pairs {Computer=dc1} [0 1 2 4] n=4 v=3"}; !slices.Equal(got, want) {
		t.Fatalf("got %q want %q", got, want)
	}
	if s := c.Stats(); s.NoValue != 1 {
		t.Fatalf("the event without Workstation is counted: %+v", s)
	}
}

// A Sigma correlation chain written for this test in the specification's
// format: repeated failed logons of one account, then a successful logon
// of that account.
const corrSigmaChain = `title: Failed logons then a success for one account
id: 6f1f0a4e-3c55-4d1e-9a52-0c1f5e7a9b01
status: experimental
correlation:
    type: temporal_ordered
    rules:
        - repeated_failures
        - logon_ok
    group-by:
        - TargetUserName
    timespan: 1m
level: high
---
title: Repeated failed logons
id: 6f1f0a4e-3c55-4d1e-9a52-0c1f5e7a9b02
name: repeated_failures
correlation:
    type: event_count
    rules:
        - logon_failed
    group-by:
        - TargetUserName
    timespan: 1m
    condition:
        gte: 3
---
title: Failed logon
id: 6f1f0a4e-3c55-4d1e-9a52-0c1f5e7a9b03
name: logon_failed
logsource:
    product: windows
    service: security
detection:
    selection:
        EventID: 4625
    condition: selection
---
title: Successful logon
id: 6f1f0a4e-3c55-4d1e-9a52-0c1f5e7a9b04
name: logon_ok
logsource:
    product: windows
    service: security
detection:
    selection:
        EventID: 4624
    condition: selection
`

func TestCorrelatorSigmaChainRealEvents(t *testing.T) {
	comp, err := sigma.New()
	if err != nil {
		t.Fatal(err)
	}
	rules, err := comp.Compile(sigma.Source{Name: "chain.yml", Data: []byte(corrSigmaChain)})
	if err != nil {
		t.Fatal(err)
	}
	rs, err := detect.Compile(rules)
	if err != nil {
		t.Fatal(err)
	}
	c := corrNew(t, rs, detect.DefaultCorrelatorConfig())
	got := corrReplay(t, rs, c, corrRecordings(t, "benign_baseline.jsonl"), nil)
	var visible []string
	for _, m := range got {
		if !m.Hidden {
			visible = append(visible, corrRender(m))
		}
	}
	// Security_with_size_t.evtx: three failed logons of Administrator within
	// 33 s (lines 7308-7310 of the log), then its logon 16 ms later.
	want := []string{"6f1f0a4e-3c55-4d1e-9a52-0c1f5e7a9b01 {TargetUserName=Administrator} [ben:7308 ben:7309 ben:7310 ben:7313] n=4 v=2"}
	if !slices.Equal(visible, want) {
		t.Fatalf("got %q\nwant %q", visible, want)
	}
	t.Logf("%d correlation matches (hidden inner ones included); %+v", len(got), c.Stats())
}

func TestCorrelatorRejectsCycles(t *testing.T) {
	rs := corrCompile(t, `
- id: a
  title: A
  severity: low
  condition: e.EventID.numEq(1)
- id: x
  title: X
  severity: low
  correlation: {type: temporal, rules: [a, y], group-by: [Computer], timespan: 1m}
- id: y
  title: Y
  severity: low
  correlation: {type: temporal, rules: [a, x], group-by: [Computer], timespan: 1m}
- id: z
  title: Z
  severity: low
  correlation: {type: event_count, rules: [a], group-by: [Computer], timespan: 1m, condition: {gte: 2}}
`)
	c, err := detect.NewCorrelator(rs, detect.DefaultCorrelatorConfig())
	rj := detect.Rejections(err)
	if len(rj) != 2 || !strings.Contains(err.Error(), "cycle") {
		t.Fatalf("want x and y rejected for their cycle, got %v", err)
	}
	if rules := c.Rules(); len(rules) != 1 || rules[0].ID != "z" {
		t.Fatalf("kept %v", rules)
	}
}
