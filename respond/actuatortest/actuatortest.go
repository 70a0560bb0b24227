package actuatortest

import (
	"context"
	"fmt"
	"reflect"
	"slices"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/mdrkit/mdr/respond"
)

// Fixture is an actuator under test and what exists on it. Run calls the
// fixture function once per subtest, so that destructive commands (stop
// process, delete file) find their objects; fields left empty make the
// suite skip the pairs that need them (it logs which).
type Fixture struct {
	// Actuator is the implementation under test (required).
	Actuator respond.Actuator
	// Host is a host the actuator serves (required).
	Host string
	// UnknownHost is a host it does not serve (default
	// "no-such-host.invalid").
	UnknownHost string
	// File is an existing file on Host (path and, if the actuator checks
	// them, hashes).
	File *respond.File
	// Process is a running process on Host.
	Process *respond.Process
	// Account is an existing local account on Host.
	Account string
	// Service is an existing service on Host.
	Service string
	// Registry is an existing registry value on Host (key including the
	// value name, type and value).
	Registry *respond.RegistryEntry
	// ScheduledTask is the full name of an existing scheduled task on
	// Host (mdr:scheduled_task).
	ScheduledTask string
	// Domain, IPv4 and IPv6 are addresses to deny and allow (defaults
	// "blocked.example", "203.0.113.7", "2001:db8::7").
	Domain, IPv4, IPv6 string
	// State, when set, returns Host's state in a comparable form
	// (reflect.DeepEqual); the suite then checks that executing a
	// command's undo restores the state from before the command. It must
	// leave out what changes by itself (clocks, event counters).
	State func() (any, error)
}

func (f *Fixture) defaults() {
	if f.UnknownHost == "" {
		f.UnknownHost = "no-such-host.invalid"
	}
	if f.Domain == "" {
		f.Domain = "blocked.example"
	}
	if f.IPv4 == "" {
		f.IPv4 = "203.0.113.7"
	}
	if f.IPv6 == "" {
		f.IPv6 = "2001:db8::7"
	}
}

const callTimeout = 30 * time.Second

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	t.Cleanup(cancel)
	return ctx
}

func fresh(t *testing.T, newFixture func(t *testing.T) Fixture) Fixture {
	t.Helper()
	f := newFixture(t)
	if f.Actuator == nil || f.Host == "" {
		t.Fatal("actuatortest: the fixture needs an Actuator and a Host")
	}
	f.defaults()
	return f
}

// Run runs the conformance suite against the actuators newFixture makes.
func Run(t *testing.T, newFixture func(t *testing.T) Fixture) {
	f0 := fresh(t, newFixture)
	feats, err := f0.Actuator.Features(ctxT(t))
	if err != nil {
		t.Fatalf("Features: %v", err)
	}
	t.Run("Features", func(t *testing.T) { checkFeatures(t, feats) })
	t.Run("QueryFeatures", func(t *testing.T) { checkQueryFeatures(t, fresh(t, newFixture), feats) })

	type pair struct {
		action respond.Action
		target string
	}
	var pairs []pair
	for a, ts := range feats.Pairs {
		for _, tg := range ts {
			if a == respond.ActionQuery && tg == respond.TargetFeatures {
				continue
			}
			pairs = append(pairs, pair{a, tg})
		}
	}
	sort.Slice(pairs, func(i, j int) bool {
		if pairs[i].action != pairs[j].action {
			return pairs[i].action < pairs[j].action
		}
		return pairs[i].target < pairs[j].target
	})
	for _, p := range pairs {
		t.Run(fmt.Sprintf("Pair/%s_%s", p.action, p.target), func(t *testing.T) {
			f := fresh(t, newFixture)
			cmd, ok := buildFor(&f, feats, p.action, p.target)
			if !ok {
				t.Logf("the fixture has nothing for %s %s; pair not exercised", p.action, p.target)
				return
			}
			checkPair(t, &f, feats, cmd)
		})
	}
	t.Run("RequiredArguments", func(t *testing.T) { checkRequired(t, fresh(t, newFixture), feats) })
	t.Run("UndeclaredPair", func(t *testing.T) { checkUndeclared(t, fresh(t, newFixture), feats) })
	t.Run("UnknownHost", func(t *testing.T) { checkUnknownHost(t, fresh(t, newFixture), feats) })
	t.Run("CancelledContext", func(t *testing.T) { checkCancelled(t, fresh(t, newFixture), feats) })
	t.Run("Concurrent", func(t *testing.T) { checkConcurrent(t, fresh(t, newFixture), feats) })
}

func checkFeatures(t *testing.T, f respond.Features) {
	if !slices.Contains(f.Versions, "1.0") {
		t.Errorf("versions %v do not include 1.0", f.Versions)
	}
	if len(f.Pairs) == 0 {
		t.Fatal("no pairs declared")
	}
	if !f.Pairs.Has(respond.ActionQuery, respond.TargetFeatures) {
		t.Error("query features is not declared; OpenC2 requires it of every consumer (LS §4.1)")
	}
	if f.RateLimit < 0 {
		t.Errorf("negative rate limit %v", f.RateLimit)
	}
	r := respond.Response{Status: respond.StatusOK, Results: f.Results([]respond.Feature{respond.FeatureVersions, respond.FeatureProfiles, respond.FeaturePairs})}
	if err := r.Validate(); err != nil {
		t.Errorf("features are not valid OpenC2 results: %v", err)
	}
}

func execute(t *testing.T, a respond.Actuator, c respond.Command) respond.Response {
	t.Helper()
	r, err := a.Execute(ctxT(t), c)
	if err != nil {
		t.Fatalf("Execute(%s): %v", c, err)
	}
	if err := r.Validate(); err != nil {
		t.Fatalf("Execute(%s) answered an invalid response: %v", c, err)
	}
	return r
}

func checkQueryFeatures(t *testing.T, f Fixture, feats respond.Features) {
	q := func(fs ...respond.Feature) respond.Command {
		l := append([]respond.Feature{}, fs...)
		return respond.Command{Action: respond.ActionQuery, Target: respond.Target{Features: &l}}
	}
	r := execute(t, f.Actuator, q())
	if r.Status != respond.StatusOK {
		t.Errorf("query features [] (heartbeat): status %d, want 200", r.Status)
	}
	r = execute(t, f.Actuator, q(respond.FeatureVersions, respond.FeatureProfiles, respond.FeaturePairs))
	if r.Status != respond.StatusOK || r.Results == nil {
		t.Fatalf("query features versions, profiles, pairs: %+v", r)
	}
	if !slices.Equal(r.Results.Versions, feats.Versions) || !slices.Equal(r.Results.Profiles, feats.Profiles) {
		t.Errorf("query features answers versions %v profiles %v; Features says %v %v", r.Results.Versions, r.Results.Profiles, feats.Versions, feats.Profiles)
	}
	for a, ts := range feats.Pairs {
		for _, tg := range ts {
			if !r.Results.Pairs.Has(a, tg) {
				t.Errorf("query features pairs lacks %s %s that Features declares", a, tg)
			}
		}
	}
	r = execute(t, f.Actuator, q(respond.FeatureRateLimit))
	if r.Status != respond.StatusOK {
		t.Errorf("query features rate_limit: status %d", r.Status)
	}
	if feats.RateLimit > 0 && (r.Results == nil || r.Results.RateLimit == nil || *r.Results.RateLimit != feats.RateLimit) {
		t.Errorf("query features rate_limit does not answer the declared %v: %+v", feats.RateLimit, r.Results)
	}
	c := q(respond.FeatureVersions)
	d := int64(1000)
	c.Args = &respond.Args{Duration: &d}
	if r := execute(t, f.Actuator, c); r.Status == respond.StatusOK {
		t.Error("query features with a duration argument answered 200; LS §4.1 forbids it (400)")
	}
}

// downstream returns er args naming host.
func downstream(host string) *respond.Args {
	return &respond.Args{ER: &respond.ERArgs{DownstreamDevice: []respond.DownstreamDevice{{Devices: []respond.Device{{Hostname: host}}}}}}
}

// buildFor builds as Build does and, when the command is outside the er
// matrix but the actuator declares mdrkit's "mdr" extension, addresses it
// to an mdr actuator.
func buildFor(f *Fixture, feats respond.Features, a respond.Action, target string) (respond.Command, bool) {
	c, ok := Build(f, a, target)
	if ok || !slices.Contains(feats.Profiles, "mdr") {
		return c, ok
	}
	c, _ = build(f, a, target)
	c.Actuator = &respond.ActuatorSpec{Profile: "mdr"}
	return c, c.Validate() == nil
}

// Build returns a valid command for action × target on the fixture's
// host, or false when the fixture has nothing for it.
func Build(f *Fixture, a respond.Action, target string) (respond.Command, bool) {
	c, ok := build(f, a, target)
	return c, ok && c.Validate() == nil
}

func build(f *Fixture, a respond.Action, target string) (respond.Command, bool) {
	c := respond.Command{Action: a, CommandID: respond.NewCommandID()}
	dev := &respond.Device{Hostname: f.Host}
	switch target {
	case respond.TargetDevice:
		c.Target.Device = dev
		if a == respond.ActionContain || a == respond.ActionAllow {
			c.Args = &respond.Args{ER: &respond.ERArgs{DeviceContainment: respond.NetworkIsolation}}
		}
	case respond.TargetFile:
		if f.File == nil {
			return c, false
		}
		fl := *f.File
		c.Target.File = &fl
		c.Args = downstream(f.Host)
	case respond.TargetProcess:
		if f.Process == nil {
			return c, false
		}
		p := *f.Process
		c.Target.Process = &p
		c.Args = downstream(f.Host)
	case respond.TargetDomainName:
		c.Target.DomainName = f.Domain
		c.Args = downstream(f.Host)
	case respond.TargetIPv4Net:
		c.Target.IPv4Net = f.IPv4
		c.Args = downstream(f.Host)
	case respond.TargetIPv6Net:
		c.Target.IPv6Net = f.IPv6
		c.Args = downstream(f.Host)
	case respond.TargetAccount, "er/account":
		if f.Account == "" {
			return c, false
		}
		c.Target.Account = &respond.Account{AccountName: f.Account}
		c.Args = downstream(f.Host)
		if a == respond.ActionSet {
			c.Args.ER.AccountStatus = respond.AccountDisabled
		}
	case respond.TargetService, "er/service":
		if f.Service == "" {
			return c, false
		}
		c.Target.Service = &respond.Service{Name: f.Service}
		c.Args = downstream(f.Host)
	case respond.TargetRegistryEntry, "er/registry_entry":
		if f.Registry == nil {
			return c, false
		}
		r := *f.Registry
		if a == respond.ActionSet {
			r.Value = "actuatortest"
		}
		c.Target.RegistryEntry = &r
		c.Args = downstream(f.Host)
	case respond.TargetScheduledTask, "mdr/scheduled_task":
		if f.ScheduledTask == "" {
			return c, false
		}
		c.Target.ScheduledTask = &respond.ScheduledTask{Name: f.ScheduledTask}
		c.Args = downstream(f.Host)
	default:
		return c, false
	}
	// every non-device target names its host through downstream_device
	return c, true
}

func checkPair(t *testing.T, f *Fixture, feats respond.Features, c respond.Command) {
	var before any
	if f.State != nil {
		var err error
		if before, err = f.State(); err != nil {
			t.Fatalf("State: %v", err)
		}
	}
	r := execute(t, f.Actuator, c)
	if r.Status != respond.StatusOK && r.Status != respond.StatusProcessing {
		t.Fatalf("%s: status %d %q, want 200 for a declared pair on existing objects", c, r.Status, r.StatusText)
	}
	if r.Undo == nil {
		return
	}
	u := *r.Undo
	if err := u.Validate(); err != nil {
		t.Fatalf("undo of %s is invalid: %v", c, err)
	}
	if name := u.Target.Name(); !feats.Pairs.Has(u.Action, name) {
		t.Fatalf("undo of %s is %s %s, which the actuator does not declare", c, u.Action, name)
	}
	ur := execute(t, f.Actuator, u)
	if ur.Status != respond.StatusOK {
		t.Fatalf("undo %s: status %d %q", u, ur.Status, ur.StatusText)
	}
	if f.State != nil {
		after, err := f.State()
		if err != nil {
			t.Fatalf("State: %v", err)
		}
		if !reflect.DeepEqual(before, after) {
			t.Errorf("undo of %s did not restore the state:\nbefore %+v\nafter  %+v", c, before, after)
		}
	}
}

func mustNotSucceed(t *testing.T, f Fixture, c respond.Command, why string) {
	t.Helper()
	r, err := f.Actuator.Execute(ctxT(t), c)
	if err != nil {
		return // refused
	}
	if r.Status == respond.StatusOK || r.Status == respond.StatusProcessing {
		t.Errorf("%s: %s answered %d; it must not succeed", why, c, r.Status)
	}
	if err := r.Validate(); err != nil {
		t.Errorf("%s: invalid response: %v", why, err)
	}
}

func checkRequired(t *testing.T, f Fixture, feats respond.Features) {
	n := 0
	if feats.Pairs.Has(respond.ActionContain, respond.TargetDevice) {
		n++
		mustNotSucceed(t, f, respond.Command{Action: respond.ActionContain, Target: respond.Target{Device: &respond.Device{Hostname: f.Host}}},
			"contain device without device_containment (er §2.3.3.1)")
	}
	if feats.Pairs.Has(respond.ActionSet, respond.TargetAccount) && f.Account != "" {
		n++
		mustNotSucceed(t, f, respond.Command{Action: respond.ActionSet, Target: respond.Target{Account: &respond.Account{AccountName: f.Account}}, Args: downstream(f.Host)},
			"set er:account without account_status (er §2.3.8.4)")
	}
	for a, ts := range feats.Pairs {
		for _, tg := range ts {
			c, ok := buildFor(&f, feats, a, tg)
			if !ok || c.Args == nil || c.Args.ER == nil || len(c.Args.ER.DownstreamDevice) == 0 {
				continue
			}
			c.Args.ER.DownstreamDevice = nil
			if c.Args.ER.AccountStatus == "" {
				c.Args = nil
			}
			if c.Validate() == nil {
				continue // the profile does not require downstream_device here
			}
			n++
			mustNotSucceed(t, f, c, fmt.Sprintf("%s %s without er:downstream_device", a, tg))
		}
	}
	t.Logf("%d required-argument checks", n)
}

func checkUndeclared(t *testing.T, f Fixture, feats respond.Features) {
	for _, c := range []respond.Command{
		{Action: respond.ActionDetonate, Target: respond.Target{URI: "https://example.com/x.exe"}},
		{Action: respond.ActionRedirect, Target: respond.Target{DomainName: "example.com"}},
		{Action: respond.ActionCopy, Target: respond.Target{Device: &respond.Device{Hostname: f.Host}}},
	} {
		if feats.Pairs.Has(c.Action, c.Target.Name()) {
			continue
		}
		r, err := f.Actuator.Execute(ctxT(t), c)
		if err != nil {
			continue
		}
		if r.Status == respond.StatusOK {
			t.Errorf("undeclared %s answered 200", c)
		} else if r.Status != respond.StatusNotImplemented {
			t.Logf("undeclared %s answered %d (501 is what LS and er recommend)", c, r.Status)
		}
	}
}

func checkUnknownHost(t *testing.T, f Fixture, feats respond.Features) {
	for a, ts := range feats.Pairs {
		for _, tg := range ts {
			if tg != respond.TargetDevice {
				continue
			}
			g := f
			g.Host = f.UnknownHost
			c, ok := Build(&g, a, tg)
			if !ok {
				continue
			}
			mustNotSucceed(t, f, c, "a host the actuator does not serve")
		}
	}
}

func checkCancelled(t *testing.T, f Fixture, feats respond.Features) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	done := make(chan struct{})
	go func() {
		defer close(done)
		l := []respond.Feature{}
		_, _ = f.Actuator.Execute(ctx, respond.Command{Action: respond.ActionQuery, Target: respond.Target{Features: &l}})
		if feats.Pairs.Has(respond.ActionContain, respond.TargetDevice) {
			c, _ := Build(&f, respond.ActionContain, respond.TargetDevice)
			_, _ = f.Actuator.Execute(ctx, c)
		}
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Execute with a cancelled context did not return within 10s")
	}
}

func checkConcurrent(t *testing.T, f Fixture, feats respond.Features) {
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for i := range 8 {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			for range 10 {
				l := []respond.Feature{respond.FeaturePairs}
				r, err := f.Actuator.Execute(context.Background(), respond.Command{Action: respond.ActionQuery, Target: respond.Target{Features: &l}})
				if err != nil || r.Status != respond.StatusOK {
					errs <- fmt.Errorf("concurrent query features: %v %d", err, r.Status)
					return
				}
				if _, err := f.Actuator.Features(context.Background()); err != nil {
					errs <- err
					return
				}
			}
			if i%2 == 0 && feats.Pairs.Has(respond.ActionContain, respond.TargetDevice) && feats.Pairs.Has(respond.ActionAllow, respond.TargetDevice) {
				c, _ := Build(&f, respond.ActionContain, respond.TargetDevice)
				a, _ := Build(&f, respond.ActionAllow, respond.TargetDevice)
				for _, x := range []respond.Command{c, a} {
					if _, err := f.Actuator.Execute(context.Background(), x); err != nil {
						errs <- err
						return
					}
				}
			}
		}(i)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
