package triage_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/mdrkit/mdr"
	"github.com/mdrkit/mdr/store"
	"github.com/mdrkit/mdr/triage"
)

var t0 = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

func mkAlert(id, rule, host string, sev mdr.Severity, at time.Duration, tags ...string) mdr.Alert {
	return mdr.Alert{ID: id, RuleID: rule, RuleTitle: "Rule " + rule, Severity: sev, Tags: tags, Time: t0.Add(at),
		EventIDs: []string{"ev-" + id}, Host: host,
		Entities: []mdr.Entity{{Kind: mdr.EntityHost, ID: "host:" + strings.ToLower(host), Name: host}}}
}

func openMem(t *testing.T, cfg triage.Config, opts ...triage.Option) (*triage.Queue, *store.Memory) {
	t.Helper()
	st := store.NewMemory()
	q, err := triage.Open(context.Background(), st, cfg, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return q, st
}

func push(t *testing.T, q *triage.Queue, as ...mdr.Alert) []triage.Pushed {
	t.Helper()
	var out []triage.Pushed
	for _, a := range as {
		p, err := q.Push(context.Background(), a, nil)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, p)
	}
	return out
}

func TestScorePartsRecompute(t *testing.T) {
	ctx := context.Background()
	cfg := triage.DefaultConfig()
	cfg.Criticality = []triage.CriticalityRule{{Kind: "host", Patterns: []string{"dc*"}, Level: "critical"}}
	q, _ := openMem(t, cfg)
	push(t, q,
		mkAlert("a1", "r-high", "DC01", mdr.SeverityHigh, 0, "attack.execution", "attack.t1059.001"),
		mkAlert("a2", "r-med", "DC01", mdr.SeverityMedium, time.Minute, "attack.persistence"),
		mkAlert("a3", "r-high", "WS7", mdr.SeverityHigh, 2*time.Minute))
	top, err := q.Top(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(top) != 2 {
		t.Fatalf("%d incidents, want 2 (one per host)", len(top))
	}
	dc := top[0]
	if dc.Hosts[0] != "DC01" || dc.Score <= top[1].Score {
		t.Fatalf("critical host first: %+v", top)
	}
	for _, in := range top {
		if in.Score != triage.Recompute(in.Parts) || in.Level != triage.LevelOf(in.Score) {
			t.Errorf("incident %s: score %v level %v, parts %v", in.ID, in.Score, in.Level, in.Parts)
		}
	}
	if got := strings.Join(dc.Tactics, ","); got != "execution,persistence" {
		t.Errorf("tactics %q", got)
	}
	if len(dc.Techniques) != 1 || dc.Techniques[0] != "T1059.001" || dc.Alerts != 2 || len(dc.Rules) != 2 {
		t.Errorf("incident %+v", dc)
	}
	as, err := q.Alerts(ctx, dc.ID)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, a := range as {
		if a.Score.Total != triage.Recompute(a.Score.Parts) {
			t.Errorf("alert %s: total %v, parts %v", a.ID, a.Score.Total, a.Score.Parts)
		}
		for _, p := range a.Score.Parts {
			found = found || (p.Name == "criticality" && p.Value > 0)
		}
	}
	if !found {
		t.Errorf("no criticality part on DC01's alerts: %+v", as)
	}
}

func TestDedupWindow(t *testing.T) {
	ctx := context.Background()
	q, _ := openMem(t, triage.DefaultConfig())
	ps := push(t, q,
		mkAlert("a1", "r", "H", mdr.SeverityLow, 0),
		mkAlert("a2", "r", "H", mdr.SeverityLow, 30*time.Minute),
		mkAlert("a3", "r", "H", mdr.SeverityLow, 3*time.Hour), // outside the 1 h window of a2's time
		mkAlert("a1", "r", "H", mdr.SeverityLow, 0),           // the same alert again
	)
	if !ps[1].Deduplicated || ps[1].AlertID != "a1" || ps[2].Deduplicated || !ps[3].Replayed {
		t.Fatalf("pushed %+v", ps)
	}
	as, err := q.Alerts(ctx, ps[0].IncidentID)
	if err != nil {
		t.Fatal(err)
	}
	if len(as) != 2 || as[0].Count != 2 || !as[0].First.Equal(t0) || !as[0].Time.Equal(t0.Add(30*time.Minute)) ||
		len(as[0].EventIDs) != 2 {
		t.Fatalf("alerts %+v", as)
	}
	s := q.Stats()
	if s.Pushed != 4 || s.Deduplicated != 1 || s.Replayed != 1 {
		t.Errorf("stats %+v", s)
	}
	in, _ := q.Incident(ctx, ps[0].IncidentID)
	if in.Alerts != 3 {
		t.Errorf("incident counts %d alerts, want 3", in.Alerts)
	}
}

func TestSuppression(t *testing.T) {
	ctx := context.Background()
	cfg := triage.DefaultConfig()
	cfg.Suppressions = []triage.Suppression{{ID: "backup", When: `alert.rule_id == "vss" && event.Image.endsWith("\\backup.exe")`,
		Reason: "nightly backup", Author: "ana", Expires: t0.Add(24 * time.Hour)}}
	q, st := openMem(t, cfg)
	ev := func(img string) *mdr.Event {
		return mdr.NewEvent(mdr.Origin{Source: "t"}, mdr.Field{Key: "Image", Value: mdr.String(img)})
	}
	push1 := func(a mdr.Alert, e *mdr.Event) triage.Pushed {
		p, err := q.Push(ctx, a, e)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	p0 := push1(mkAlert("x", "other", "H", mdr.SeverityHigh, 0), nil)
	p1 := push1(mkAlert("a1", "vss", "H", mdr.SeverityHigh, time.Minute), ev(`C:\tools\backup.exe`))
	p2 := push1(mkAlert("a2", "vss", "H", mdr.SeverityHigh, 2*time.Minute), ev(`C:\evil\vssadmin.exe`))
	p3 := push1(mkAlert("a3", "vss", "H2", mdr.SeverityHigh, 25*time.Hour), ev(`C:\tools\backup.exe`)) // expired
	if !p1.Suppressed || p2.Suppressed || p3.Suppressed || p1.IncidentID != p0.IncidentID {
		t.Fatalf("pushed %+v %+v %+v", p1, p2, p3)
	}
	if err := q.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	rec, err := st.GetAlert(ctx, "a1")
	if err != nil || rec.Status != triage.AlertSuppressed || rec.Reason != "backup" {
		t.Fatalf("suppressed alert stored as %+v, %v", rec, err)
	}
	in, _ := q.Incident(ctx, p0.IncidentID)
	if in.Suppressed != 1 || in.Alerts != 3 {
		t.Errorf("incident counts alerts %d suppressed %d", in.Alerts, in.Suppressed)
	}
	if s := q.Stats(); s.Suppressed != 1 {
		t.Errorf("stats %+v", s)
	}
	bad := triage.DefaultConfig()
	bad.Suppressions = []triage.Suppression{{ID: "x", When: `alert.rule_id ==`, Reason: "r", Author: "a"}}
	if err := bad.Validate(); err == nil || !errors.Is(err, triage.ErrConfig) {
		t.Errorf("bad CEL accepted: %v", err)
	}
}

func TestConfigErrorsNameTheLine(t *testing.T) {
	_, err := triage.ParseConfig("t.yaml", []byte("lookback: 2h\nmatch: any\ncolour: blue\n"))
	var ce *triage.ConfigError
	if !errors.As(err, &ce) || ce.Line != 3 || !strings.Contains(err.Error(), "t.yaml:3") {
		t.Fatalf("unknown key: %v", err)
	}
	_, err = triage.ParseConfig("t.yaml", []byte("lookback: 2h\nsuppressions:\n  - id: s1\n    reason: r\n    author: a\n    when: alert.rule_id = 'x'\n"))
	if !errors.As(err, &ce) || ce.Line != 6 || !strings.Contains(err.Error(), "t.yaml:6") {
		t.Fatalf("bad CEL: %v", err)
	}
	c, err := triage.ParseConfig("t.yaml", []byte("lookback: 2h\nmatch_kinds: [host, user]\nweights:\n  tactic: 3\ncriticality:\n  - {kind: host, names: [dc01], level: critical}\n"))
	if err != nil || c.Lookback != 2*time.Hour || c.Weights.Tactic != 3 || c.Weights.Levels["high"] != 55 || len(c.Criticality) != 1 {
		t.Fatalf("config %+v, %v", c, err)
	}
}

func TestGrouping(t *testing.T) {
	user := func(a mdr.Alert, name string) mdr.Alert {
		a.Entities = append(a.Entities, mdr.Entity{Kind: mdr.EntityUser, ID: "user:" + name, Name: name})
		return a
	}
	cases := []struct {
		name  string
		kinds []string
		match triage.Matching
		want  int
	}{
		{"host", []string{"host"}, triage.MatchAny, 2},
		{"user", []string{"user"}, triage.MatchAny, 2},
		{"any", []string{"host", "user"}, triage.MatchAny, 1},
		{"all", []string{"host", "user"}, triage.MatchAll, 3},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := triage.DefaultConfig()
			cfg.MatchKinds, cfg.Match = c.kinds, c.match
			q, _ := openMem(t, cfg)
			push(t, q,
				user(mkAlert("a1", "r1", "H1", mdr.SeverityHigh, 0), "bob"),
				user(mkAlert("a2", "r2", "H2", mdr.SeverityHigh, time.Minute), "bob"),
				user(mkAlert("a3", "r3", "H1", mdr.SeverityHigh, 2*time.Minute), "eve"),
				user(mkAlert("a4", "r4", "H1", mdr.SeverityHigh, 48*time.Hour), "SYSTEM"), // beyond the lookback
			)
			top, err := q.Top(context.Background(), 0)
			if err != nil {
				t.Fatal(err)
			}
			if len(top) != c.want+1 {
				t.Errorf("%d incidents, want %d", len(top), c.want+1)
			}
		})
	}
}

func TestReopenPolicy(t *testing.T) {
	ctx := context.Background()
	for _, pol := range []triage.Reopen{triage.ReopenIncident, triage.ReopenNever} {
		cfg := triage.DefaultConfig()
		cfg.Reopen = pol
		cfg.Suppressions = []triage.Suppression{{ID: "quiet", When: `alert.rule_id == "noise"`, Reason: "noise", Author: "ana"}}
		q, _ := openMem(t, cfg)
		p := push(t, q, mkAlert("a1", "r", "H", mdr.SeverityHigh, 0))
		if err := q.SetStatus(ctx, p[0].IncidentID, mdr.IncidentClosed, "ana", "done"); err != nil {
			t.Fatal(err)
		}
		// a suppressed alert never reopens
		if ps := push(t, q, mkAlert("n1", "noise", "H", mdr.SeverityHigh, time.Minute)); !ps[0].Suppressed || ps[0].IncidentID != "" {
			t.Fatalf("suppressed alert %+v", ps[0])
		}
		p2 := push(t, q, mkAlert("a2", "r2", "H", mdr.SeverityHigh, time.Hour))
		in, _ := q.Incident(ctx, p[0].IncidentID)
		switch pol {
		case triage.ReopenIncident:
			if p2[0].IncidentID != in.ID || in.Status != mdr.IncidentNew || in.Reopened != 1 {
				t.Errorf("reopen: %+v %+v", p2, in)
			}
		case triage.ReopenNever:
			if p2[0].IncidentID == in.ID || in.Status != mdr.IncidentClosed {
				t.Errorf("new: %+v %+v", p2, in)
			}
		}
	}
}

func TestTransitionsAudited(t *testing.T) {
	ctx := context.Background()
	q, st := openMem(t, triage.DefaultConfig())
	p := push(t, q, mkAlert("a1", "r", "H", mdr.SeverityHigh, 0))
	id := p[0].IncidentID
	if err := q.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		to string
		ok bool
	}{
		{mdr.IncidentRemediated, false}, {mdr.IncidentTriaged, true}, {mdr.IncidentNew, false},
		{mdr.IncidentInvestigating, true}, {mdr.IncidentContained, true}, {mdr.IncidentRemediated, true},
		{mdr.IncidentClosed, true}, {mdr.IncidentTriaged, false}, {mdr.IncidentNew, true}, {mdr.IncidentFalsePositive, true},
	}
	version, audits := uint64(1), 0
	for _, s := range steps {
		before, _ := st.GetIncident(ctx, id)
		err := q.SetStatus(ctx, id, s.to, "ana", "step")
		after, _ := st.GetIncident(ctx, id)
		if s.ok {
			version++
			audits++
			if err != nil || after.Status != s.to || after.Version != version {
				t.Fatalf("%s → %s: %v, stored %s v%d", before.Status, s.to, err, after.Status, after.Version)
			}
		} else if !errors.Is(err, triage.ErrTransition) || after.Version != before.Version || triage.Allowed(before.Status, s.to) {
			t.Fatalf("%s → %s allowed: %v", before.Status, s.to, err)
		}
	}
	if err := q.Assign(ctx, id, "bob", "ana"); err != nil {
		t.Fatal(err)
	}
	audits++
	n, err := store.Verify(ctx, st)
	if err != nil || int(n) != audits {
		t.Fatalf("audit chain: %d records, want %d: %v", n, audits, err)
	}
	in, _ := st.GetIncident(ctx, id)
	if in.Assignee != "bob" || in.Version != version+1 {
		t.Errorf("assign: %+v", in)
	}
	// a stale writer loses: a second queue on the same store tries to move
	// the incident after the first did.
	q2, err := triage.Open(ctx, st, triage.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	if err := q.SetStatus(ctx, id, mdr.IncidentNew, "ana", "reopen"); err != nil {
		t.Fatal(err)
	}
	if err := q2.SetStatus(ctx, id, mdr.IncidentNew, "bob", "stale"); !errors.Is(err, mdr.ErrConflict) {
		t.Fatalf("stale version: %v", err)
	}
}

func TestVerdictFeedbackAndSuppression(t *testing.T) {
	ctx := context.Background()
	q, st := openMem(t, triage.DefaultConfig())
	p := push(t, q, mkAlert("a1", "r", "H", mdr.SeverityHigh, 0))
	in0, _ := q.Incident(ctx, p[0].IncidentID)
	err := q.VerdictIncident(ctx, p[0].IncidentID, triage.Verdict{Reason: "admin script", Author: "ana",
		Suppress: &triage.SuppressFor{Expires: t0.Add(48 * time.Hour).Format(time.RFC3339)}})
	if err != nil {
		t.Fatal(err)
	}
	in, _ := q.Incident(ctx, p[0].IncidentID)
	if in.Status != mdr.IncidentFalsePositive || len(in.Notes) != 1 {
		t.Fatalf("after verdict %+v", in)
	}
	// the same pattern on the same host is suppressed until the expiry; on
	// another host it scores lower than before
	ps := push(t, q, mkAlert("a2", "r", "H", mdr.SeverityHigh, 72*time.Hour), mkAlert("a3", "r", "H", mdr.SeverityHigh, 24*time.Hour),
		mkAlert("b1", "r", "OTHER", mdr.SeverityHigh, 0))
	if ps[0].Suppressed || !ps[1].Suppressed {
		t.Fatalf("pushed %+v", ps)
	}
	other, _ := q.Incident(ctx, ps[2].IncidentID)
	after, _ := q.Incident(ctx, ps[0].IncidentID)
	if other.Score >= in0.Score || after.Score >= other.Score {
		t.Errorf("scores: before %v, other host %v, same host %v", in0.Score, other.Score, after.Score)
	}
	if n, err := store.Verify(ctx, st); err != nil || n < 1 {
		t.Errorf("audit: %d, %v", n, err)
	}
	if err := q.VerdictAlert(ctx, "b1", triage.Verdict{Malicious: true, Reason: "confirmed", Author: "ana"}); err != nil {
		t.Fatal(err)
	}
	f, d := q.Feedback().Factor("r", "OTHER")
	if f <= 0.8 || !strings.Contains(d, "malicious") {
		t.Errorf("feedback %v %q", f, d)
	}
}

func TestEvictionBounded(t *testing.T) {
	ctx := context.Background()
	cfg := triage.DefaultConfig()
	cfg.MaxIncidents = 16
	q, st := openMem(t, cfg)
	for i := range 100 {
		push(t, q, mkAlert(fmt.Sprint("a", i), "r", fmt.Sprint("host", i), mdr.SeverityMedium, time.Duration(i)*time.Second))
	}
	s := q.Stats()
	if s.OpenIncidents > 16 || s.EvictedIncidents < 84 || s.IncidentsCreated != 100 {
		t.Fatalf("stats %+v", s)
	}
	if err := q.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, err := range st.ListIncidents(ctx, store.ListQuery{}) {
		if err != nil {
			t.Fatal(err)
		}
		n++
	}
	if n != 100 {
		t.Errorf("%d incidents stored, want every one of 100", n)
	}
	// an evicted incident is read back on demand
	if err := q.SetStatus(ctx, "inc:a0", mdr.IncidentTriaged, "ana", ""); err != nil {
		t.Fatal(err)
	}
}

// TestEvictedThenReplayed: an evicted incident that was not yet written is
// found in memory, and alerts pushed again after they left memory do not
// make Flush fail.
func TestEvictedThenReplayed(t *testing.T) {
	ctx := context.Background()
	cfg := triage.DefaultConfig()
	cfg.MaxIncidents = 8
	q, st := openMem(t, cfg)
	var as []mdr.Alert
	for i := range 40 {
		as = append(as, mkAlert(fmt.Sprint("a", i), "r", fmt.Sprint("host", i), mdr.SeverityMedium, time.Duration(i)*time.Second))
	}
	push(t, q, as...)
	if err := q.SetStatus(ctx, "inc:a0", mdr.IncidentTriaged, "ana", ""); err != nil {
		t.Fatal(err)
	}
	in, err := st.GetIncident(ctx, "inc:a0")
	if err != nil || in.Status != mdr.IncidentTriaged || in.Alerts != 1 {
		t.Fatalf("stored %+v, %v", in, err)
	}
	if err := q.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	push(t, q, as[:20]...)
	if err := q.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if s := q.Stats(); s.ReplayedStored == 0 {
		t.Errorf("stats %+v", s)
	}
}
