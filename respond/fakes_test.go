package respond

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"time"
)

// fakeEDR is a host-supplied actuator stand-in for the dispatcher tests: it
// keeps which devices are contained and which accounts disabled, answers
// per the er profile, and can be told to fail.
type fakeEDR struct {
	mu        sync.Mutex
	contained map[string]bool
	disabled  map[string]bool
	calls     int
	failNext  []error      // errors returned by the next calls
	statusSeq []StatusCode // statuses answered by the next calls
	delay     time.Duration
	rate      float64
	hook      func(Command)
}

func newFakeEDR() *fakeEDR {
	return &fakeEDR{contained: map[string]bool{}, disabled: map[string]bool{}}
}

func (f *fakeEDR) Features(context.Context) (Features, error) {
	return Features{Versions: []string{"1.0"}, Profiles: []string{"er", "mdr"}, Pairs: MDRPairs(), RateLimit: f.rate}, nil
}

func (f *fakeEDR) Execute(ctx context.Context, c Command) (Response, error) {
	f.mu.Lock()
	f.calls++
	if f.hook != nil {
		f.hook(c)
	}
	if len(f.failNext) > 0 {
		err := f.failNext[0]
		f.failNext = f.failNext[1:]
		f.mu.Unlock()
		return Response{}, err
	}
	if len(f.statusSeq) > 0 {
		st := f.statusSeq[0]
		f.statusSeq = f.statusSeq[1:]
		f.mu.Unlock()
		return Response{Status: st, StatusText: st.Text()}, nil
	}
	delay := f.delay
	f.mu.Unlock()
	if delay > 0 {
		select {
		case <-time.After(delay):
		case <-ctx.Done():
			return Response{}, context.Cause(ctx)
		}
	}
	if c.Action == ActionQuery && c.Target.Features != nil {
		r, _ := f.Features(ctx)
		return QueryFeatures(r, c), nil
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	switch name := c.Target.Name(); {
	case c.Action == ActionContain && name == TargetDevice:
		if c.Args == nil || c.Args.ER == nil || c.Args.ER.DeviceContainment == "" {
			return Response{Status: StatusBadRequest, StatusText: "Containment type argument not populated"}, nil
		}
		h := c.Target.Device.Host()
		f.contained[h] = true
		undo := Command{Action: ActionAllow, Target: Target{Device: &Device{Hostname: h}},
			Args: &Args{ER: &ERArgs{DeviceContainment: c.Args.ER.DeviceContainment}}, Actuator: &ActuatorSpec{Profile: "er"}}
		return Response{Status: StatusOK, Undo: &undo}, nil
	case c.Action == ActionAllow && name == TargetDevice:
		delete(f.contained, c.Target.Device.Host())
		return Response{Status: StatusOK}, nil
	case c.Action == ActionSet && name == TargetAccount:
		acct := c.Target.Account.AccountName
		old := f.disabled[acct]
		f.disabled[acct] = c.Args.ER.AccountStatus == AccountDisabled
		st := AccountEnabled
		if old {
			st = AccountDisabled
		}
		undo := Command{Action: ActionSet, Target: Target{Account: &Account{AccountName: acct}},
			Args: &Args{ER: &ERArgs{AccountStatus: st, DownstreamDevice: c.Args.ER.DownstreamDevice}}}
		return Response{Status: StatusOK, Undo: &undo}, nil
	}
	return Response{Status: StatusNotImplemented, StatusText: "Command not supported"}, nil
}

func (f *fakeEDR) isContained(h string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.contained[h]
}

func (f *fakeEDR) callCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls
}

// fakeClock is a manual clock: time moves only by Advance.
type fakeClock struct {
	mu     sync.Mutex
	now    time.Time
	timers []*fakeTimer
}

type fakeTimer struct {
	at      time.Time
	f       func()
	stopped bool
}

func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) AfterFunc(d time.Duration, f func()) func() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := &fakeTimer{at: c.now.Add(d), f: f}
	if d <= 0 {
		go f()
		return func() bool { return false }
	}
	c.timers = append(c.timers, t)
	return func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		was := !t.stopped
		t.stopped = true
		return was
	}
}

// Advance moves time by d and runs the timers that come due, in order.
func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	var due []*fakeTimer
	kept := c.timers[:0]
	for _, t := range c.timers {
		if !t.stopped && !t.at.After(c.now) {
			t.stopped = true
			due = append(due, t)
		} else if !t.stopped {
			kept = append(kept, t)
		}
	}
	c.timers = kept
	c.mu.Unlock()
	sort.Slice(due, func(i, j int) bool { return due[i].at.Before(due[j].at) })
	for _, t := range due {
		go t.f()
	}
}

// Waiting returns how many timers are armed.
func (c *fakeClock) Waiting() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, t := range c.timers {
		if !t.stopped {
			n++
		}
	}
	return n
}

func containCmd(host string) Command {
	return Command{Action: ActionContain, Target: Target{Device: &Device{Hostname: host}},
		Args: &Args{ER: &ERArgs{DeviceContainment: NetworkIsolation}}, Actuator: &ActuatorSpec{Profile: "er"}}
}

var _ = fmt.Sprint
