package sim

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/mdrkit/mdr/respond"
)

// ResultsKey is the results namespace in which the fleet reports the state
// of a command's target ({"results": {"x-sim": {...}}}, an x- namespace
// as OpenC2 requires of non-standard results): for query the
// target's state, for other actions its state after the action. See
// TargetState.
const ResultsKey = "x-sim"

// TargetState is what the fleet reports about a command's target under
// ResultsKey: whether it exists on the host, and its state. Exactly the
// field of the target's kind is set (Processes for a process target, which
// may match several). A plain value.
type TargetState struct {
	Host        string         `json:"host"`
	Exists      bool           `json:"exists"`
	Quarantined bool           `json:"quarantined,omitempty"` // file: held in quarantine
	Processes   []Process      `json:"processes,omitempty"`
	File        *File          `json:"file,omitempty"`
	Registry    *RegistryValue `json:"registry,omitempty"`
	Service     *Service       `json:"service,omitempty"`
	Task        *Task          `json:"task,omitempty"`
	Account     *Account       `json:"account,omitempty"`
	Containment *Containment   `json:"containment,omitempty"`
}

// actuatorPairs are the action × target pairs the fleet performs: the er
// profile's endpoint actions on devices, files, processes, registry
// entries, services and accounts, mdrkit's scheduled-task extension, and
// query of every target it models.
func actuatorPairs() respond.Pairs {
	return respond.Pairs{
		respond.ActionQuery: {respond.TargetFeatures, respond.TargetDevice, respond.TargetFile, respond.TargetProcess,
			respond.TargetRegistryEntry, respond.TargetAccount, respond.TargetService, respond.TargetScheduledTask},
		respond.ActionContain: {respond.TargetDevice, respond.TargetFile},
		respond.ActionAllow:   {respond.TargetDevice, respond.TargetFile},
		respond.ActionStop:    {respond.TargetProcess, respond.TargetService, respond.TargetScheduledTask},
		respond.ActionRestart: {respond.TargetProcess},
		respond.ActionStart:   {respond.TargetService, respond.TargetScheduledTask},
		respond.ActionSet:     {respond.TargetRegistryEntry, respond.TargetAccount},
		respond.ActionCreate:  {respond.TargetRegistryEntry, respond.TargetService, respond.TargetScheduledTask},
		respond.ActionDelete:  {respond.TargetFile, respond.TargetRegistryEntry, respond.TargetService, respond.TargetScheduledTask},
	}
}

// Features answers query features: OpenC2 1.0, the er and mdr profiles,
// the pairs the fleet performs.
func (f *Fleet) Features(ctx context.Context) (respond.Features, error) {
	if err := ctx.Err(); err != nil {
		return respond.Features{}, err
	}
	return respond.Features{Versions: []string{"1.0"}, Profiles: []string{"er", "mdr"}, Pairs: actuatorPairs()}, nil
}

// Execute performs an OpenC2 command on the fleet: respond.Actuator for
// the er profile (and mdrkit's mdr:scheduled_task). Commands other than
// query are validated as the er profile requires (Command.ValidateFor the
// fleet's features). The host is the device target's, else the er
// downstream_device argument's, else (for a query) the only host of a
// one-host fleet. Reversible actions answer with their undo command.
// Statuses: 200 done, 400 a missing or bad argument (contain device
// without device_containment, for one), 404 no such host or target, 501 a
// pair the fleet does not perform, 500 anything else. Safe for concurrent
// use.
func (f *Fleet) Execute(ctx context.Context, cmd respond.Command) (respond.Response, error) {
	if err := ctx.Err(); err != nil {
		return respond.Response{}, err
	}
	target := cmd.Target.Name()
	if !actuatorPairs().Has(cmd.Action, target) {
		return respond.Response{Status: respond.StatusNotImplemented, StatusText: fmt.Sprintf("%s %s is not supported", cmd.Action, target)}, nil
	}
	feat, err := f.Features(ctx)
	if err != nil {
		return respond.Response{}, err
	}
	if cmd.Action == respond.ActionQuery && target == respond.TargetFeatures {
		return respond.QueryFeatures(feat, cmd), nil
	}
	// Every command but a query is checked as the er profile (and the mdr
	// extension) require, downstream_device included; a query changes
	// nothing and is answered for any target the fleet models.
	if cmd.Action != respond.ActionQuery {
		if err := cmd.ValidateFor(feat); err != nil {
			return respond.Response{Status: respond.StatusBadRequest, StatusText: err.Error()}, nil
		}
	}
	host, resp, ok := f.commandHost(&cmd)
	if !ok {
		return resp, nil
	}
	x := &execution{f: f, cmd: cmd, host: host}
	if err := x.run(); err != nil {
		return errorResponse(err), nil
	}
	out := respond.Response{Status: respond.StatusOK, Undo: x.undo}
	if x.state != nil {
		raw, err := json.Marshal(x.state)
		if err != nil {
			return respond.Response{}, err
		}
		out.Results = &respond.Results{Extensions: map[string]json.RawMessage{ResultsKey: raw}}
	}
	return out, nil
}

// StateOf decodes the TargetState a response of the fleet carries.
func StateOf(r respond.Response) (TargetState, bool) {
	if r.Results == nil {
		return TargetState{}, false
	}
	raw, ok := r.Results.Extensions[ResultsKey]
	if !ok {
		return TargetState{}, false
	}
	var s TargetState
	if err := json.Unmarshal(raw, &s); err != nil {
		return TargetState{}, false
	}
	return s, true
}

// commandHost finds the host a command is for, or the response refusing
// it.
func (f *Fleet) commandHost(cmd *respond.Command) (string, respond.Response, bool) {
	hosts := cmd.Hosts()
	if len(hosts) == 0 {
		if cmd.Actuator != nil && cmd.Actuator.Hostname != "" {
			hosts = []string{cmd.Actuator.Hostname}
		} else if hs := f.Hosts(); len(hs) == 1 {
			hosts = hs
		}
	}
	switch {
	case len(hosts) == 0:
		return "", respond.Response{Status: respond.StatusBadRequest, StatusText: "Downstream device argument not populated"}, false
	case len(hosts) > 1:
		return "", respond.Response{Status: respond.StatusBadRequest, StatusText: "the simulated fleet takes one host per command; send one command per host"}, false
	}
	name, err := f.HostName(hosts[0])
	if err != nil {
		return "", respond.Response{Status: respond.StatusNotFound, StatusText: "Cannot access device " + hosts[0]}, false
	}
	return name, respond.Response{}, true
}

func errorResponse(err error) respond.Response {
	st := respond.StatusInternalError
	switch {
	case errors.Is(err, ErrNotFound):
		st = respond.StatusNotFound
	case errors.Is(err, ErrInvalid), errors.Is(err, ErrExists), errors.Is(err, ErrContained):
		st = respond.StatusBadRequest
	case errors.Is(err, ErrLimit):
		st = respond.StatusServiceUnavailable
	}
	return respond.Response{Status: st, StatusText: err.Error()}
}

// execution is one command being performed.
type execution struct {
	f     *Fleet
	cmd   respond.Command
	host  string
	undo  *respond.Command
	state *TargetState
}

// erPairs is the er profile's matrix: an undo outside it (start or create
// er:service, the scheduled-task commands) is addressed to the mdr
// profile, whose matrix has them.
var erPairs = respond.ERPairs()

// setUndo makes the compensating command: same actuator, same host.
func (x *execution) setUndo(action respond.Action, t respond.Target, er *respond.ERArgs) {
	c := respond.NewCommand(action, t)
	c.Actuator = x.cmd.Actuator
	if !erPairs.Has(action, t.Name()) {
		hostname := x.host
		if c.Actuator != nil && c.Actuator.Hostname != "" {
			hostname = c.Actuator.Hostname
		}
		c.Actuator = &respond.ActuatorSpec{Profile: "mdr", Hostname: hostname}
	}
	if er != nil {
		c.Args = &respond.Args{ER: er}
	}
	if t.Device == nil {
		c = c.OnHost(x.host)
	}
	x.undo = &c
}

func badArg(format string, a ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrInvalid}, a...)...)
}

func (x *execution) er() *respond.ERArgs {
	if x.cmd.Args == nil {
		return nil
	}
	return x.cmd.Args.ER
}

func (x *execution) run() error {
	t := x.cmd.Target
	switch x.cmd.Target.Name() {
	case respond.TargetDevice:
		return x.device()
	case respond.TargetFile:
		return x.file(t.File)
	case respond.TargetProcess:
		return x.process(t.Process)
	case respond.TargetRegistryEntry:
		return x.registry(t.RegistryEntry)
	case respond.TargetService:
		return x.service(t.Service)
	case respond.TargetAccount:
		return x.account(t.Account)
	case respond.TargetScheduledTask:
		return x.task(t.ScheduledTask)
	}
	return badArg("target %s", x.cmd.Target.Name())
}

func (x *execution) device() error {
	f := x.f
	switch x.cmd.Action {
	case respond.ActionQuery:
	case respond.ActionContain:
		er := x.er()
		if er == nil || er.DeviceContainment == "" {
			return badArg("Containment type argument not populated (device_containment)")
		}
		var permitted []string
		if er.PermittedAddresses != nil {
			for _, n := range append(slices.Clone(er.PermittedAddresses.IPv4Net), er.PermittedAddresses.IPv6Net...) {
				if p, err := netip.ParsePrefix(n); err == nil && p.IsSingleIP() {
					n = p.Addr().String()
				}
				permitted = append(permitted, n)
			}
			permitted = append(permitted, er.PermittedAddresses.DomainName...)
		}
		before, err := f.Contain(x.host, string(er.DeviceContainment), permitted)
		if err != nil {
			return err
		}
		x.undoContainment(before)
	case respond.ActionAllow:
		before, err := f.Release(x.host)
		if err != nil {
			return err
		}
		if before.Mode != "" {
			x.undoContainment(before)
		}
	}
	return x.report(func(h *host, st *TargetState) {
		c := Containment{Mode: h.contain.Mode, Permitted: slices.Clone(h.contain.Permitted)}
		st.Exists, st.Containment = true, &c
	})
}

// undoContainment sets the undo that returns the host to containment c.
func (x *execution) undoContainment(c Containment) {
	dev := respond.Target{Device: &respond.Device{Hostname: x.host}}
	if x.cmd.Target.Device != nil {
		d := *x.cmd.Target.Device
		dev.Device = &d
	}
	if c.Mode == "" {
		// Allow device takes the containment it lifts (er Annex E.1.3).
		x.setUndo(respond.ActionAllow, dev, &respond.ERArgs{DeviceContainment: x.er().DeviceContainment})
		return
	}
	er := &respond.ERArgs{DeviceContainment: respond.DeviceContainment(c.Mode)}
	if len(c.Permitted) > 0 && c.Mode == ContainIsolation {
		pa := &respond.PermittedAddresses{}
		for _, p := range c.Permitted {
			if a, err := netip.ParseAddr(p); err == nil {
				if a.Is4() {
					pa.IPv4Net = append(pa.IPv4Net, p)
				} else {
					pa.IPv6Net = append(pa.IPv6Net, p)
				}
			} else {
				pa.DomainName = append(pa.DomainName, p)
			}
		}
		er.PermittedAddresses = pa
	}
	x.setUndo(respond.ActionContain, dev, er)
}

// report fills the target's state from the host as it now is.
func (x *execution) report(fill func(*host, *TargetState)) error {
	st := &TargetState{Host: x.host}
	err := x.f.view(x.host, func(h *host) error {
		fill(h, st)
		return nil
	})
	x.state = st
	return err
}

func (x *execution) file(t *respond.File) error {
	path := t.Path
	if path == "" {
		path = t.Name
	}
	if path == "" {
		return badArg("file target needs a path")
	}
	f := x.f
	target := respond.Target{File: &respond.File{Path: path}}
	switch x.cmd.Action {
	case respond.ActionQuery:
	case respond.ActionContain:
		fl, err := f.QuarantineFile(x.host, path)
		if err != nil {
			return err
		}
		if err := checkHashes(t.Hashes, &fl); err != nil {
			if _, rerr := f.RestoreFile(x.host, path); rerr != nil {
				return errors.Join(err, rerr)
			}
			return err
		}
		x.setUndo(respond.ActionAllow, target, nil)
	case respond.ActionAllow:
		quarantined := false
		if err := f.view(x.host, func(h *host) error {
			_, quarantined = h.quarantine[strings.ToLower(path)]
			return nil
		}); err != nil {
			return err
		}
		if !quarantined {
			// Allowing a file nothing holds back changes nothing.
			if err := x.checkFileHashes(t.Hashes, path); err != nil {
				return err
			}
			break
		}
		if _, err := f.RestoreFile(x.host, path); err != nil {
			return err
		}
		x.setUndo(respond.ActionContain, target, nil)
	case respond.ActionDelete:
		if err := x.checkFileHashes(t.Hashes, path); err != nil {
			return err
		}
		if _, err := f.DeleteFile(x.host, path); err != nil {
			return err
		}
	}
	return x.report(func(h *host, st *TargetState) {
		if fl, ok := h.files[strings.ToLower(path)]; ok {
			c := *fl
			st.Exists, st.File = true, &c
		}
		if q, ok := h.quarantine[strings.ToLower(path)]; ok {
			st.Quarantined = true
			if st.File == nil {
				c := *q
				st.File = &c
			}
		}
	})
}

// checkFileHashes refuses to act on a file whose hashes differ from the
// command's.
func (x *execution) checkFileHashes(want *respond.Hashes, path string) error {
	if want == nil {
		return nil
	}
	s, err := x.f.Snapshot(x.host)
	if err != nil {
		return err
	}
	fl, ok := s.Files[strings.ToLower(path)]
	if !ok {
		return fmt.Errorf("%w: file %s on %s", ErrNotFound, path, x.host)
	}
	return checkHashes(want, &fl)
}

func checkHashes(want *respond.Hashes, fl *File) error {
	if want == nil {
		return nil
	}
	for _, c := range []struct{ want, got, name string }{{want.SHA256, fl.SHA256, "sha256"}, {want.SHA1, fl.SHA1, "sha1"}, {want.MD5, fl.MD5, "md5"}} {
		if c.want != "" && !strings.EqualFold(c.want, c.got) {
			return badArg("file %s: %s is %s, not %s", fl.Path, c.name, c.got, c.want)
		}
	}
	return nil
}

// matchProcesses returns the running processes a process target names:
// by pid (checked against the name or executable when given), else by
// executable path or image name.
func matchProcesses(s Snapshot, t *respond.Process) ([]Process, error) {
	exe := ""
	if t.Executable != nil {
		exe = t.Executable.Path
		if exe == "" {
			exe = t.Executable.Name
		}
	}
	matches := func(p Process) bool {
		if exe != "" && !strings.EqualFold(p.Image, exe) && !strings.EqualFold(baseName(p.Image), exe) {
			return false
		}
		if t.Name != "" && !strings.EqualFold(baseName(p.Image), t.Name) {
			return false
		}
		if t.CommandLine != "" && p.CommandLine != t.CommandLine {
			return false
		}
		return true
	}
	var out []Process
	if t.PID != nil {
		for _, p := range s.Processes {
			if int64(p.PID) == *t.PID && matches(p) {
				out = append(out, p)
			}
		}
		return out, nil
	}
	if exe == "" && t.Name == "" && t.CommandLine == "" {
		return nil, badArg("process target needs a pid, a name, an executable or a command line")
	}
	for _, p := range s.Processes {
		if matches(p) {
			out = append(out, p)
		}
	}
	slices.SortFunc(out, func(a, b Process) int { return a.PID - b.PID })
	return out, nil
}

func (x *execution) process(t *respond.Process) error {
	f := x.f
	s, err := f.Snapshot(x.host)
	if err != nil {
		return err
	}
	ps, err := matchProcesses(s, t)
	if err != nil {
		return err
	}
	switch x.cmd.Action {
	case respond.ActionQuery:
		x.state = &TargetState{Host: x.host, Exists: len(ps) > 0, Processes: ps}
		return nil
	case respond.ActionStop:
		if len(ps) == 0 {
			return fmt.Errorf("%w: no such process on %s", ErrNotFound, x.host)
		}
		for _, p := range ps {
			if _, err := f.KillProcess(x.host, p.PID); err != nil {
				return err
			}
		}
	case respond.ActionRestart:
		if len(ps) != 1 {
			return fmt.Errorf("%w: restart process needs exactly one process, %d match on %s", ErrNotFound, len(ps), x.host)
		}
		np, err := f.RestartProcess(x.host, ps[0].PID)
		if err != nil {
			return err
		}
		x.state = &TargetState{Host: x.host, Exists: true, Processes: []Process{np}}
		return nil
	}
	after, err := f.Snapshot(x.host)
	if err != nil {
		return err
	}
	left, _ := matchProcesses(after, t)
	x.state = &TargetState{Host: x.host, Exists: len(left) > 0, Processes: left}
	return nil
}

func (x *execution) registry(t *respond.RegistryEntry) error {
	path := t.Key
	if path == "" {
		path = t.Path
	}
	if path == "" || !strings.Contains(path, `\`) {
		return badArg("er:registry_entry needs key (the full path with the value name, as Sysmon's TargetObject)")
	}
	f := x.f
	entry := func(v RegistryValue) respond.Target {
		return respond.Target{RegistryEntry: &respond.RegistryEntry{Key: v.Path, Type: v.Type, Value: v.Data}}
	}
	switch x.cmd.Action {
	case respond.ActionQuery:
	case respond.ActionSet, respond.ActionCreate:
		// Create of an existing value sets it, as RegCreateKeyEx and
		// RegSetValueEx do; the undo restores the old data either way.
		prev, err := f.SetRegistry(x.host, path, t.Type, t.Value)
		if err != nil {
			return err
		}
		if prev != nil {
			x.setUndo(respond.ActionSet, entry(*prev), nil)
		} else {
			x.setUndo(respond.ActionDelete, respond.Target{RegistryEntry: &respond.RegistryEntry{Key: path, Type: registryType(t.Type)}}, nil)
		}
	case respond.ActionDelete:
		old, err := f.DeleteRegistry(x.host, path)
		if err != nil {
			return err
		}
		x.setUndo(respond.ActionCreate, entry(old), nil)
	}
	return x.report(func(h *host, st *TargetState) {
		if v, ok := h.reg[strings.ToLower(path)]; ok {
			c := *v
			st.Exists, st.Registry = true, &c
		}
	})
}

func registryType(t string) string {
	if t == "" {
		return "REG_SZ"
	}
	return t
}

func (x *execution) service(t *respond.Service) error {
	name := t.Name
	if name == "" {
		name = t.DisplayName
	}
	if name == "" {
		return badArg("er:service needs a name")
	}
	f := x.f
	target := respond.Target{Service: &respond.Service{Name: name}}
	var before Service
	exists := false
	if err := f.view(x.host, func(h *host) error {
		if v, ok := h.services[strings.ToLower(name)]; ok {
			before, exists = *v, true
		}
		return nil
	}); err != nil {
		return err
	}
	switch x.cmd.Action {
	case respond.ActionQuery:
	case respond.ActionStop:
		if !exists {
			return fmt.Errorf("%w: service %s on %s", ErrNotFound, name, x.host)
		}
		if _, err := f.StopService(x.host, name); err != nil {
			return err
		}
		if before.State == "running" {
			x.setUndo(respond.ActionStart, target, nil)
		}
	case respond.ActionStart:
		if _, err := f.StartService(x.host, name); err != nil {
			return err
		}
		if before.State != "running" {
			x.setUndo(respond.ActionStop, target, nil)
		}
	case respond.ActionDelete:
		if _, err := f.DeleteService(x.host, name); err != nil {
			return err
		}
		x.setUndo(respond.ActionCreate, target, nil)
	case respond.ActionCreate:
		if exists {
			break // already installed: nothing to create
		}
		if _, err := f.CreateService(x.host, Service{Name: name}); err != nil {
			return err
		}
		x.setUndo(respond.ActionDelete, target, nil)
	}
	return x.report(func(h *host, st *TargetState) {
		if v, ok := h.services[strings.ToLower(name)]; ok {
			c := *v
			st.Exists, st.Service = true, &c
		}
	})
}

func (x *execution) account(t *respond.Account) error {
	f := x.f
	name := t.AccountName
	if name == "" && t.UID != "" {
		s, err := f.Snapshot(x.host)
		if err != nil {
			return err
		}
		for _, a := range s.Accounts {
			if strings.EqualFold(a.SID, t.UID) {
				name = a.Name
			}
		}
		if name == "" {
			return fmt.Errorf("%w: account %s on %s", ErrNotFound, t.UID, x.host)
		}
	}
	if name == "" {
		return badArg("er:account needs account_name or uid")
	}
	_, name = splitUser(name)
	switch x.cmd.Action {
	case respond.ActionQuery:
	case respond.ActionSet:
		er := x.er()
		if er == nil || er.AccountStatus == "" {
			return badArg("set er:account needs account_status")
		}
		enable := er.AccountStatus == respond.AccountEnabled
		if !enable && er.AccountStatus != respond.AccountDisabled {
			return badArg("account_status %q", er.AccountStatus)
		}
		before, err := f.SetAccountEnabled(x.host, name, enable)
		if err != nil {
			return err
		}
		if before.Enabled != enable {
			back := respond.AccountDisabled
			if before.Enabled {
				back = respond.AccountEnabled
			}
			x.setUndo(respond.ActionSet, respond.Target{Account: &respond.Account{AccountName: before.Name}}, &respond.ERArgs{AccountStatus: back})
		}
	}
	return x.report(func(h *host, st *TargetState) {
		if _, ok := h.accounts[strings.ToLower(name)]; ok {
			a := x.f.snapshotAccount(h, strings.ToLower(name))
			st.Exists, st.Account = true, &a
		}
	})
}

func (x *execution) task(t *respond.ScheduledTask) error {
	if t.Name == "" {
		return badArg("mdr:scheduled_task needs a name")
	}
	f := x.f
	name := ensureSlash(t.Name)
	spec := func(k Task) respond.Target {
		en := k.Enabled
		cmd := k.Command
		if k.Arguments != "" {
			cmd += " " + k.Arguments
		}
		return respond.Target{ScheduledTask: &respond.ScheduledTask{Name: k.Name, CommandLine: cmd, User: k.RunAs, Trigger: k.Trigger, Enabled: &en}}
	}
	switch x.cmd.Action {
	case respond.ActionQuery:
	case respond.ActionDelete:
		old, err := f.DeleteTask(x.host, name)
		if err != nil {
			return err
		}
		x.setUndo(respond.ActionCreate, spec(old), nil)
	case respond.ActionCreate:
		image, _ := serviceImage(t.CommandLine)
		args := strings.TrimSpace(strings.TrimPrefix(strings.TrimPrefix(t.CommandLine, `"`+image+`"`), image))
		var existing *Task
		if err := f.view(x.host, func(h *host) error {
			if k, ok := h.tasks[strings.ToLower(name)]; ok {
				c := *k
				existing = &c
			}
			return nil
		}); err != nil {
			return err
		}
		if existing != nil {
			if t.CommandLine != "" && (!strings.EqualFold(existing.Command, image) || existing.Arguments != args) {
				return fmt.Errorf("%w: task %s on %s runs %s %s", ErrExists, name, x.host, existing.Command, existing.Arguments)
			}
			break // the task is already there as asked
		}
		if t.CommandLine == "" {
			return badArg("create mdr:scheduled_task needs command_line")
		}
		if _, err := f.CreateTask(x.host, Task{Name: name, Command: image, Arguments: args, Trigger: t.Trigger, RunAs: t.User}); err != nil {
			return err
		}
		x.setUndo(respond.ActionDelete, respond.Target{ScheduledTask: &respond.ScheduledTask{Name: name}}, nil)
	case respond.ActionStart:
		p, err := f.RunTask(x.host, name)
		if err != nil {
			return err
		}
		x.state = &TargetState{Host: x.host, Exists: true, Processes: []Process{p}}
		return nil
	case respond.ActionStop:
		ps, err := f.StopTask(x.host, name)
		if err != nil {
			return err
		}
		x.state = &TargetState{Host: x.host, Exists: true, Processes: ps}
		return nil
	}
	return x.report(func(h *host, st *TargetState) {
		if k, ok := h.tasks[strings.ToLower(name)]; ok {
			c := *k
			st.Exists, st.Task = true, &c
		}
	})
}

// pidOf is a helper for building process targets.
func pidOf(pid int) *int64 {
	v := int64(pid)
	return &v
}

var _ respond.Actuator = (*Fleet)(nil)

// ProcessTarget returns an er process target for pid, for callers that
// build commands from a Snapshot.
func ProcessTarget(pid int) respond.Target {
	return respond.Target{Process: &respond.Process{PID: pidOf(pid)}}
}
