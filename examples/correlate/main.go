// Command correlate shows how a host program runs mdrkit's correlation
// rules over a stream of events and survives a restart: the correlator's
// state is saved to the embedded badger store, the process "restarts" (the
// store is closed, a new correlator is built), the state is loaded back, and
// the stream goes on — the correlation fires with the events seen before the
// restart counted, exactly as in an uninterrupted run.
//
// The rules: failed-logon matches Windows Security 4625 (an account failed
// to log on); password-guessing is an event_count correlation over it —
// five or more failures from one source address within five minutes.
//
// Usage:
//
//	go run ./examples/correlate [-dir DIR] [-restart-after N]
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"time"

	"github.com/mdrkit/mdr"
	"github.com/mdrkit/mdr/detect"
	"github.com/mdrkit/mdr/store/badger"
)

// rulesYAML are the rules of the example, in detect's native format.
const rulesYAML = `
- id: failed-logon
  title: Failed logon
  severity: informational
  tags: [attack.credential-access]
  logsource: {product: windows, service: security}
  condition: e.EventID.numEq(4625) && e.Channel.equalsFold("Security")
  fields: [TargetUserName, IpAddress, WorkstationName]

- id: password-guessing
  title: Password guessing from one address
  severity: high
  tags: [attack.credential-access, attack.t1110.001]
  correlation:
    type: event_count
    rules: [failed-logon]
    group-by: [IpAddress]
    timespan: 5m
    condition: {gte: 5}
`

func main() {
	dir := flag.String("dir", "", "store directory for the correlation state (default: a temporary directory, removed)")
	after := flag.Int("restart-after", 4, "restart after this many events of the stream")
	flag.Parse()
	if *dir == "" {
		tmp, err := os.MkdirTemp("", "mdr-example-correlate-*")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		defer os.RemoveAll(tmp)
		*dir = tmp
	}
	if err := run(context.Background(), os.Stdout, *dir, *after); err != nil {
		fmt.Fprintln(os.Stderr, "correlate:", err)
		os.Exit(1)
	}
}

// stream returns the events of the example: failed logons from an
// attacker's address against several accounts, a user's typo from an
// office address, and a successful logon.
func stream() []*mdr.Event {
	start := time.Date(2026, 5, 4, 7, 30, 0, 0, time.UTC)
	type logon struct {
		id       int
		offset   time.Duration
		user, ip string
	}
	ls := []logon{
		{4625, 0, "administrator", "203.0.113.9"},
		{4625, 9 * time.Second, "admin", "203.0.113.9"},
		{4625, 20 * time.Second, "j.smith", "10.9.0.21"}, // a typo
		{4625, 31 * time.Second, "backup", "203.0.113.9"},
		{4624, 35 * time.Second, "j.smith", "10.9.0.21"},
		{4625, 48 * time.Second, "sql", "203.0.113.9"},
		{4625, 61 * time.Second, "test", "203.0.113.9"},
		{4625, 75 * time.Second, "guest", "203.0.113.9"},
	}
	evs := make([]*mdr.Event, len(ls))
	for i, l := range ls {
		evs[i] = mdr.NewEvent(mdr.Origin{Source: "stream", Line: int64(i + 1)},
			mdr.Field{Key: "EventID", Value: mdr.Int(int64(l.id))},
			mdr.Field{Key: "Channel", Value: mdr.String("Security")},
			mdr.Field{Key: "Computer", Value: mdr.String("SRV-WEB01.lab.example")},
			mdr.Field{Key: "TimeCreated", Value: mdr.String(start.Add(l.offset).Format(time.RFC3339Nano))},
			mdr.Field{Key: "TargetUserName", Value: mdr.String(l.user)},
			mdr.Field{Key: "IpAddress", Value: mdr.String(l.ip)},
			mdr.Field{Key: "LogonType", Value: mdr.String("3")},
			mdr.Field{Key: "_id", Value: mdr.String("ev-" + strconv.Itoa(i+1))},
		)
	}
	return evs
}

// compile builds the ruleset once; it is immutable and shared by every
// correlator.
func compile() (*detect.Ruleset, error) {
	rules, err := detect.ParseRules([]byte(rulesYAML), "rules.yaml")
	if err != nil {
		return nil, err
	}
	return detect.Compile(rules)
}

// feed matches events and feeds the matches to the correlator, returning
// the correlation matches it raised.
func feed(ctx context.Context, rs *detect.Ruleset, c *detect.Correlator, evs []*mdr.Event) ([]detect.CorrelationMatch, error) {
	var out []detect.CorrelationMatch
	var ms []detect.Match
	for _, ev := range evs {
		var err error
		if ms, err = rs.AppendMatches(ctx, ms[:0], ev); err != nil {
			return nil, err
		}
		cms, err := c.Observe(ctx, ev, ms)
		if err != nil {
			return nil, err
		}
		out = append(out, cms...)
	}
	return out, nil
}

// run streams the events, saving the correlator's state to the badger store
// in dir after the first `after` events and restoring it into a new
// correlator (a restart) before the rest.
func run(ctx context.Context, w io.Writer, dir string, after int) error {
	rs, err := compile()
	if err != nil {
		return err
	}
	evs := stream()
	after = max(0, min(after, len(evs)))
	cfg := detect.DefaultCorrelatorConfig()

	// Before the restart.
	c1, err := detect.NewCorrelator(rs, cfg)
	if err != nil {
		return err
	}
	got, err := feed(ctx, rs, c1, evs[:after])
	if err != nil {
		return err
	}
	st, err := badger.Open(badger.DefaultConfig(dir))
	if err != nil {
		return err
	}
	if err := c1.SaveState(ctx, st); err != nil {
		st.Close()
		return err
	}
	if err := st.Close(); err != nil {
		return err
	}
	fmt.Fprintf(w, "processed %d events, %d correlation matches; state saved to %s; restarting\n", after, len(got), dir)

	// After the restart: a new correlator, its state loaded from the store.
	st, err = badger.Open(badger.DefaultConfig(dir))
	if err != nil {
		return err
	}
	defer st.Close()
	c2, err := detect.NewCorrelator(rs, cfg)
	if err != nil {
		return err
	}
	if err := c2.LoadState(ctx, st); err != nil {
		return err
	}
	more, err := feed(ctx, rs, c2, evs[after:])
	if err != nil {
		return err
	}
	flushed, err := c2.Flush(ctx)
	if err != nil {
		return err
	}
	got = append(append(got, more...), flushed...)
	fmt.Fprintf(w, "processed %d more events after the restart\n", len(evs)-after)
	for _, cm := range got {
		printMatch(w, cm)
	}
	if len(got) == 0 {
		fmt.Fprintln(w, "no correlation matched")
	}
	return nil
}

func printMatch(w io.Writer, cm detect.CorrelationMatch) {
	fmt.Fprintf(w, "%s  %s (%s)\n", cm.Rule.Severity, cm.Rule.Title, cm.Rule.ID)
	fmt.Fprintf(w, "  %s\n", cm.Explain())
	fmt.Fprintf(w, "  from %s to %s, base events %v\n", cm.Start.UTC().Format("15:04:05"), cm.End.UTC().Format("15:04:05"), cm.EventIDs)
}
