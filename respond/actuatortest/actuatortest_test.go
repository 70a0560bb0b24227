package actuatortest_test

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"

	"github.com/mdrkit/mdr/respond"
	"github.com/mdrkit/mdr/respond/actuatortest"
)

// memEDR is a small host-side EDR fake: one host, containment, accounts,
// denied domains and processes. broken selects a defect for the tests
// that check the suite catches it.
type memEDR struct {
	mu        sync.Mutex
	host      string
	contained respond.DeviceContainment
	disabled  map[string]bool
	denied    map[string]bool
	procs     map[string]bool
	broken    string
}

func newMemEDR(broken string) *memEDR {
	return &memEDR{host: "ws1", disabled: map[string]bool{}, denied: map[string]bool{}, procs: map[string]bool{"evil.exe": true}, broken: broken}
}

func (m *memEDR) Features(context.Context) (respond.Features, error) {
	return respond.Features{Versions: []string{"1.0"}, Profiles: []string{"er"}, RateLimit: 600, Pairs: respond.Pairs{
		respond.ActionQuery:   {respond.TargetFeatures},
		respond.ActionContain: {respond.TargetDevice},
		respond.ActionAllow:   {respond.TargetDevice, respond.TargetDomainName},
		respond.ActionDeny:    {respond.TargetDomainName},
		respond.ActionSet:     {respond.TargetAccount},
		respond.ActionStop:    {respond.TargetProcess},
	}}, nil
}

type state struct {
	Contained respond.DeviceContainment
	Disabled  string
	Denied    string
	Procs     string
}

func keys(m map[string]bool) string {
	var out []string
	for k, v := range m {
		if v {
			out = append(out, k)
		}
	}
	return strings.Join(sortStrings(out), ",")
}

func sortStrings(s []string) []string {
	for i := range s {
		for j := i + 1; j < len(s); j++ {
			if s[j] < s[i] {
				s[i], s[j] = s[j], s[i]
			}
		}
	}
	return s
}

func (m *memEDR) state() (any, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return state{m.contained, keys(m.disabled), keys(m.denied), keys(m.procs)}, nil
}

func (m *memEDR) Execute(ctx context.Context, c respond.Command) (respond.Response, error) {
	if err := ctx.Err(); err != nil {
		return respond.Response{}, err
	}
	f, _ := m.Features(ctx)
	if c.Action == respond.ActionQuery && c.Target.Features != nil {
		return respond.QueryFeatures(f, c), nil
	}
	name := c.Target.Name()
	if !f.Pairs.Has(c.Action, name) {
		return respond.Response{Status: respond.StatusNotImplemented, StatusText: "Command not supported"}, nil
	}
	if err := c.ValidateFor(f); err != nil && m.broken != "contain-no-arg" {
		return respond.Response{Status: respond.StatusBadRequest, StatusText: err.Error()}, nil
	}
	hosts := c.Hosts()
	if len(hosts) != 1 || hosts[0] != m.host {
		return respond.Response{Status: respond.StatusNotFound, StatusText: "Cannot access device"}, nil
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	ok := respond.Response{Status: respond.StatusOK}
	switch {
	case c.Action == respond.ActionContain:
		dc := respond.NetworkIsolation
		if c.Args != nil && c.Args.ER != nil && c.Args.ER.DeviceContainment != "" {
			dc = c.Args.ER.DeviceContainment
		}
		prev := m.contained
		m.contained = dc
		if prev == "" {
			u := respond.Command{Action: respond.ActionAllow, Target: respond.Target{Device: &respond.Device{Hostname: m.host}}}
			ok.Undo = &u
		}
	case c.Action == respond.ActionAllow && name == respond.TargetDevice:
		m.contained = ""
	case name == respond.TargetDomainName:
		was := m.denied[c.Target.DomainName]
		m.denied[c.Target.DomainName] = c.Action == respond.ActionDeny
		if c.Action == respond.ActionDeny && !was {
			u := c.Clone()
			u.Action = respond.ActionAllow
			u.CommandID = ""
			ok.Undo = &u
		}
	case name == respond.TargetAccount:
		acct := c.Target.Account.AccountName
		was := m.disabled[acct]
		m.disabled[acct] = c.Args.ER.AccountStatus == respond.AccountDisabled
		u := c.Clone()
		u.CommandID = ""
		u.Args.ER.AccountStatus = respond.AccountEnabled
		if was || m.broken == "bad-undo" {
			u.Args.ER.AccountStatus = respond.AccountDisabled
		}
		ok.Undo = &u
	case name == respond.TargetProcess:
		if !m.procs[c.Target.Process.Name] {
			return respond.Response{Status: respond.StatusInternalError, StatusText: "Cannot access process"}, nil
		}
		delete(m.procs, c.Target.Process.Name)
	}
	return ok, nil
}

func fixture(broken string) func(t *testing.T) actuatortest.Fixture {
	return func(t *testing.T) actuatortest.Fixture {
		m := newMemEDR(broken)
		return actuatortest.Fixture{Actuator: m, Host: "ws1", Account: "alice",
			Process: &respond.Process{Name: "evil.exe"}, State: m.state}
	}
}

func TestConformingActuatorPasses(t *testing.T) {
	actuatortest.Run(t, fixture(""))
}

// TestBrokenActuator is run in a child process by TestSuiteCatchesDefects.
func TestBrokenActuator(t *testing.T) {
	broken := os.Getenv("ACTUATORTEST_BROKEN")
	if broken == "" {
		return // only meaningful in the child process
	}
	actuatortest.Run(t, fixture(broken))
}

func TestSuiteCatchesDefects(t *testing.T) {
	for broken, want := range map[string]string{
		"contain-no-arg": "contain device without device_containment",
		"bad-undo":       "did not restore the state",
	} {
		cmd := exec.Command(os.Args[0], "-test.run=^TestBrokenActuator$", "-test.v")
		cmd.Env = append(os.Environ(), "ACTUATORTEST_BROKEN="+broken)
		out, err := cmd.CombinedOutput()
		if err == nil {
			t.Errorf("%s: the suite passed a broken actuator", broken)
			continue
		}
		if !strings.Contains(string(out), want) {
			t.Errorf("%s: the failure does not say %q:\n%s", broken, want, out)
		}
	}
}
