// Command hunt shows package hunt embedded in a host program: a simulated
// attack stored in the embedded badger store, then searched three ways. A hunt
// query (a CEL condition over the stored events, with a projection of the
// fields worth reading). A retro-hunt (the whole native ruleset run again over
// the stored range, as a team does when a new rule arrives and it wants to know
// whether last week already held the attack). A promotion (the hunt saved in a
// hunt.Library, promoted into a detect rule, and that rule run live over the
// same telemetry arriving again: it finds the events the hunt found).
//
//	go run ./examples/hunt
package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"slices"
	"time"

	"github.com/mdrkit/mdr"
	"github.com/mdrkit/mdr/detect"
	"github.com/mdrkit/mdr/engine"
	"github.com/mdrkit/mdr/hunt"
	"github.com/mdrkit/mdr/loop"
	"github.com/mdrkit/mdr/reader"
	"github.com/mdrkit/mdr/sim"
	"github.com/mdrkit/mdr/store/badger"
)

// discovery is the hunt: reconnaissance tools started by a command shell.
const discovery = `e.EventID == 1 && e.ParentImage.endsWithFold("\\cmd.exe") &&
	(e.Image.endsWithFold("\\whoami.exe") || e.Image.endsWithFold("\\net.exe") || e.Image.endsWithFold("\\nltest.exe"))`

func main() {
	dir, err := os.MkdirTemp("", "mdr-hunt-example-*")
	if err != nil {
		fmt.Fprintln(os.Stderr, "hunt:", err)
		os.Exit(1)
	}
	err = run(context.Background(), dir, os.Stdout)
	os.RemoveAll(dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, "hunt:", err)
		os.Exit(1)
	}
}

// telemetry returns the events of a simulated attack as NDJSON, the form a
// host program receives them in.
func telemetry(ctx context.Context) ([]byte, error) {
	r, err := sim.Generate(ctx, "phish-lateral", 7)
	if err != nil {
		return nil, err
	}
	var nd bytes.Buffer
	if err := r.Fleet.WriteNDJSON(&nd, 0); err != nil {
		return nil, err
	}
	return nd.Bytes(), nil
}

func run(ctx context.Context, dir string, w io.Writer) error {
	nd, err := telemetry(ctx)
	if err != nil {
		return err
	}
	st, err := badger.Open(badger.DefaultConfig(dir))
	if err != nil {
		return err
	}
	defer st.Close()

	// Store the telemetry in batches, as an ingest pipeline does.
	rd, err := reader.New(bytes.NewReader(nd), "sim", reader.Options{})
	if err != nil {
		return err
	}
	var batch []*mdr.Event
	stored := 0
	for ev, err := range rd.All() {
		if err != nil {
			return err
		}
		batch = append(batch, ev)
		if len(batch) == 64 {
			res, err := st.AppendEvents(ctx, batch)
			if err != nil {
				return err
			}
			stored += res.Added
			batch = batch[:0]
		}
	}
	res, err := st.AppendEvents(ctx, batch)
	if err != nil {
		return err
	}
	stored += res.Added
	fmt.Fprintf(w, "stored %d events\n", stored)

	// 1. A hunt query.
	q, err := hunt.Compile(ctx, hunt.Query{Condition: discovery, Fields: []string{"Computer", "Image"}})
	if err != nil {
		return err
	}
	fmt.Fprintln(w, "\n== hunt query")
	fmt.Fprintln(w, "plan:", q.Plan())
	var found []string
	for r, err := range q.Run(ctx, st) {
		if err != nil {
			return err
		}
		found = append(found, r.Event.ID())
		fmt.Fprintf(w, "  %s  %s %s\n", r.Event.Time().Format("15:04:05"), r.Values[0].Value.Text(), r.Values[1].Value.Text())
	}
	fmt.Fprintf(w, "%d events found\n", len(found))

	// 2. A retro-hunt of the native rules over the stored range.
	rules, err := engine.LoadSources(ctx, []engine.Source{loop.NativeRules()})
	if err != nil {
		return err
	}
	var stats hunt.RetroStats
	perRule := map[string]int{}
	for a, err := range hunt.RetroHunt(ctx, st, rules, hunt.Retro{Alerts: st}, &stats) {
		if err != nil {
			return err
		}
		perRule[a.RuleID]++
	}
	fmt.Fprintln(w, "\n== retro-hunt")
	fmt.Fprintf(w, "%d events read, %d alerts stored\n", stats.Scanned, stats.Stored)
	ids := make([]string, 0, len(perRule))
	for id := range perRule {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		fmt.Fprintf(w, "  %3d  %s\n", perRule[id], id)
	}

	// 3. Save the hunt, promote it into a rule, run the rule live.
	lib := hunt.NewLibrary(st)
	h := hunt.Hunt{Name: "shell-discovery", Query: hunt.Query{Condition: discovery}, Interval: time.Hour,
		Severity: mdr.SeverityMedium, Tags: []string{"attack.discovery", "attack.t1033"}}
	if err := lib.Save(ctx, h); err != nil {
		return err
	}
	rs, err := lib.Run(ctx, st, h.Name, time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC), func(hunt.Result) error { return nil })
	if err != nil {
		return err
	}
	fmt.Fprintln(w, "\n== promotion")
	fmt.Fprintf(w, "saved hunt %q ran: %d new results\n", h.Name, rs.New)
	rule, err := hunt.Promote(h)
	if err != nil {
		return err
	}
	yml, err := hunt.RuleYAML(rule)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "rule file:\n%s", yml)
	rules2, err := detect.ParseRules(yml, h.Name+".yml")
	if err != nil {
		return err
	}
	live, err := detect.Compile(rules2)
	if err != nil {
		return err
	}
	rd, err = reader.New(bytes.NewReader(nd), "sim-live", reader.Options{})
	if err != nil {
		return err
	}
	var matched []string
	for ev, err := range rd.All() {
		if err != nil {
			return err
		}
		ms, err := live.Match(ctx, ev)
		if err != nil {
			return err
		}
		if len(ms) > 0 {
			matched = append(matched, ev.ID())
		}
	}
	slices.Sort(found)
	slices.Sort(matched)
	fmt.Fprintf(w, "live rule matched %d events; the same as the hunt: %t\n", len(matched), slices.Equal(found, matched))
	if !slices.Equal(found, matched) {
		return fmt.Errorf("promoted rule found %v, the hunt %v", matched, found)
	}
	return nil
}
