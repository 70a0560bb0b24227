// Command respond shows package respond embedded in a host program: a custom
// Actuator (the host's own firewall, which blocks IPv4 addresses per host and
// answers each block with its undo); a Dispatcher governing it with a CEL
// policy (blocks from a playbook and blocks on a high-score incident run by
// themselves, blocks on a server wait for an analyst); an approval answered by
// the named analyst j.analyst; the CACAO playbook block-address.json (written
// for this example) run by the playbook engine, its openc2-http step going
// through the dispatcher; an undo; and the audit chain verified.
//
//	go run ./examples/respond
package main

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/mdrkit/mdr/respond"
	"github.com/mdrkit/mdr/store"
)

//go:embed block-address.json
var blockPlaybook []byte

// firewall is the host product's firewall: the hosts it manages and, per
// host, the blocked addresses. It is safe for concurrent use, as the
// dispatcher requires; it passes the conformance suite of package
// respond/actuatortest (see main_test.go).
type firewall struct {
	mu      sync.Mutex
	blocked map[string][]string // host → addresses; a key for every managed host
}

func newFirewall(hosts ...string) *firewall {
	f := &firewall{blocked: map[string][]string{}}
	for _, h := range hosts {
		f.blocked[h] = nil
	}
	return f
}

func (f *firewall) Features(context.Context) (respond.Features, error) {
	return respond.Features{Versions: []string{"1.0"}, Profiles: []string{"er"}, Pairs: respond.Pairs{
		respond.ActionQuery: {respond.TargetFeatures},
		respond.ActionDeny:  {respond.TargetIPv4Net},
		respond.ActionAllow: {respond.TargetIPv4Net},
	}}, nil
}

func (f *firewall) Execute(ctx context.Context, c respond.Command) (respond.Response, error) {
	if err := ctx.Err(); err != nil {
		return respond.Response{}, err
	}
	if c.Action == respond.ActionQuery {
		fs, _ := f.Features(ctx)
		return respond.QueryFeatures(fs, c), nil
	}
	addr, hosts := c.Target.IPv4Net, c.Hosts()
	if addr == "" || len(hosts) == 0 {
		return respond.Response{Status: respond.StatusBadRequest, StatusText: "Downstream device argument not populated"}, nil
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, h := range hosts {
		if _, ok := f.blocked[h]; !ok {
			return respond.Response{Status: respond.StatusNotFound, StatusText: "Cannot access device " + h}, nil
		}
	}
	switch c.Action {
	case respond.ActionDeny:
		for _, h := range hosts {
			if !slices.Contains(f.blocked[h], addr) {
				f.blocked[h] = append(f.blocked[h], addr)
			}
		}
		undo := respond.Command{Action: respond.ActionAllow, Target: respond.Target{IPv4Net: addr}, Args: c.Args}
		return respond.Response{Status: respond.StatusOK, Undo: &undo}, nil
	case respond.ActionAllow:
		for _, h := range hosts {
			f.blocked[h] = slices.DeleteFunc(f.blocked[h], func(a string) bool { return a == addr })
		}
		return respond.Response{Status: respond.StatusOK}, nil
	}
	return respond.Response{Status: respond.StatusNotImplemented, StatusText: "action not supported"}, nil
}

func (f *firewall) rules(host string) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.blocked[host])
}

// block is the OpenC2 command that blocks addr on host.
func block(addr, host string) respond.Command {
	return respond.Command{Action: respond.ActionDeny, Target: respond.Target{IPv4Net: addr},
		Args: &respond.Args{ER: &respond.ERArgs{DownstreamDevice: []respond.DownstreamDevice{{Devices: []respond.Device{{Hostname: host}}}}}}}
}

// policy is the response policy: rules in order, the first that holds decides;
// when none holds, the automation level does (semi: ask an analyst).
var policy = respond.Policy{Level: respond.AutomationSemi, Rules: []respond.PolicyRule{
	{Name: "servers-need-an-analyst", When: `hosts.exists(h, h.startsWith("SRV-"))`, Decision: respond.DecisionApprove},
	{Name: "playbook-blocks", When: `action == "deny" && requester.startsWith("playbook")`, Decision: respond.DecisionAllow},
	{Name: "block-on-high-score", When: `action == "deny" && score >= 70.0`, Decision: respond.DecisionAllow},
}}

func main() {
	if err := run(context.Background(), os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "respond:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, w io.Writer) error {
	audit := store.NewMemory()
	defer audit.Close()
	d, err := respond.NewDispatcher(ctx, respond.Config{Store: audit, Enforce: true, Policy: policy})
	if err != nil {
		return err
	}
	defer d.Close()
	fw := newFirewall("WKS-FIN7", "SRV-DB1")
	if err := d.Register(ctx, "host-firewall", fw, "*"); err != nil {
		return err
	}

	// 1. A high-score incident: the policy lets the block run by itself.
	r, err := d.Dispatch(ctx, respond.Request{Command: block("203.0.113.9", "WKS-FIN7"), Incident: "inc-1", Score: 85, Requester: "triage"})
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "block on WKS-FIN7: %s by rule %s\n", r.State, r.Rule)
	auto := r.ID

	// 2. A server: the block waits until j.analyst approves it.
	done := make(chan error, 1)
	var srv respond.Result
	go func() {
		var err error
		srv, err = d.Dispatch(ctx, respond.Request{Command: block("203.0.113.9", "SRV-DB1"), Incident: "inc-1", Score: 85,
			Requester: "triage", Reason: "the database server talked to the C2 address"})
		done <- err
	}()
	pending, err := waitPending(ctx, d)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "block on SRV-DB1: %s by rule %s (%s)\n", pending.State, pending.Rule, pending.Request.Reason)
	if err := d.Approve(ctx, pending.ID, "j.analyst", "confirmed with the DBA team"); err != nil {
		return err
	}
	if err := <-done; err != nil {
		return err
	}
	fmt.Fprintf(w, "block on SRV-DB1: %s, approved by %s: %q\n", srv.State, srv.Approver, srv.Comment)

	// 3. The CACAO playbook blocks another address through the dispatcher.
	pbe, err := respond.NewPlaybookEngine(respond.WithDispatcher(d))
	if err != nil {
		return err
	}
	pb, err := pbe.Load(blockPlaybook, "block-address.json")
	if err != nil {
		return err
	}
	ex, err := pbe.Run(ctx, pb, respond.RunOptions{Incident: "inc-1",
		Inputs: map[string]string{"__host__": "WKS-FIN7", "__address__": "198.51.100.23"}})
	if err != nil {
		return err
	}
	fmt.Fprintln(w, "playbook block-address.json:")
	for _, s := range ex.Steps {
		fmt.Fprintf(w, "  %-12s %-40s %s %s\n", s.Type, s.Name, s.Status, s.Detail)
	}
	if ex.Failed {
		return errors.New("the playbook failed")
	}

	fmt.Fprintln(w, "firewall WKS-FIN7:", fw.rules("WKS-FIN7"))
	fmt.Fprintln(w, "firewall SRV-DB1: ", fw.rules("SRV-DB1"))

	// 4. The first block was a false positive: undo it.
	if _, err := d.Undo(ctx, auto, "j.analyst"); err != nil {
		return err
	}
	fmt.Fprintln(w, "after undo WKS-FIN7:", fw.rules("WKS-FIN7"))

	n, err := store.Verify(ctx, audit)
	if err != nil {
		return err
	}
	st := d.Stats()
	fmt.Fprintf(w, "%d executed, %d undone; audit chain of %d records verified\n", st.Executed, st.Undone, n)
	return nil
}

// waitPending waits until the dispatcher holds a command waiting for approval,
// as an analyst's console would show it.
func waitPending(ctx context.Context, d *respond.Dispatcher) (respond.Result, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	for {
		if p := d.Pending(); len(p) > 0 {
			return p[0], nil
		}
		select {
		case <-ctx.Done():
			return respond.Result{}, fmt.Errorf("no command waits for approval: %w", ctx.Err())
		case <-time.After(5 * time.Millisecond):
		}
	}
}
