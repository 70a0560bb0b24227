package sim

import (
	"fmt"
	"slices"
	"strings"
)

// The methods below are the fleet's response actions, as an EDR console
// offers them; the Actuator calls them and Go code may too. Each applies
// on one host, logs what Windows and Sysmon would write (the EDR sensor
// is the acting process), and labels those events ResponseLabel. All are
// safe for concurrent use.

// withHost runs fn on the named host with the lock held and the response
// label set.
func (f *Fleet) withHost(name string, fn func(h *host) error) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	h, err := f.host(name)
	if err != nil {
		return err
	}
	f.label = ResponseLabel
	defer func() { f.label = "" }()
	return fn(h)
}

// KillProcess ends the process with pid on host (Sysmon 5).
func (f *Fleet) KillProcess(hostName string, pid int) (Process, error) {
	var out Process
	err := f.withHost(hostName, func(h *host) error {
		p, err := f.proc(h, pid)
		if err != nil {
			return err
		}
		if p.PID == 4 || p.PID == h.lsassPID || p.PID == h.servicesPID || p.PID == h.sysmonPID {
			return fmt.Errorf("%w: %s (pid %d) is critical", ErrInvalid, baseName(p.Image), pid)
		}
		out = *p
		f.exitProcess(h, p)
		return nil
	})
	return out, err
}

// RestartProcess ends a process and starts its image again with the same
// command line, parent (when still running) and user.
func (f *Fleet) RestartProcess(hostName string, pid int) (Process, error) {
	var out Process
	err := f.withHost(hostName, func(h *host) error {
		p, err := f.proc(h, pid)
		if err != nil {
			return err
		}
		old := *p
		f.exitProcess(h, p)
		parent := h.procs[old.ParentPID]
		np, err := f.startProcess(h, parent, old.Image, old.CommandLine, old.User, old.Integrity, old.CurrentDirectory, imageMeta{})
		if err != nil {
			return err
		}
		out = *np
		return nil
	})
	return out, err
}

// DeleteFile deletes a file (Sysmon 23, not archived).
func (f *Fleet) DeleteFile(hostName, path string) (File, error) {
	var out File
	err := f.withHost(hostName, func(h *host) error {
		fl, err := f.deleteFile(h, f.sensor(h), path, false)
		if err == nil {
			out = *fl
		}
		return err
	})
	return out, err
}

// QuarantineFile moves a file into the host's quarantine (Sysmon 23,
// archived) from where RestoreFile brings it back.
func (f *Fleet) QuarantineFile(hostName, path string) (File, error) {
	var out File
	err := f.withHost(hostName, func(h *host) error {
		if err := f.checkLimit(len(h.quarantine), "quarantined files"); err != nil {
			return err
		}
		fl, err := f.deleteFile(h, f.sensor(h), path, true)
		if err == nil {
			out = *fl
		}
		return err
	})
	return out, err
}

// RestoreFile brings a quarantined file back to its path (Sysmon 11).
func (f *Fleet) RestoreFile(hostName, path string) (File, error) {
	var out File
	err := f.withHost(hostName, func(h *host) error {
		fl, err := f.restoreFile(h, path)
		if err == nil {
			out = *fl
		}
		return err
	})
	return out, err
}

// SetRegistry sets a registry value (Sysmon 12 when the key is new, 13)
// and returns the previous value, if there was one.
func (f *Fleet) SetRegistry(hostName, path, typ, data string) (prev *RegistryValue, err error) {
	err = f.withHost(hostName, func(h *host) error {
		if old, ok := h.reg[strings.ToLower(path)]; ok {
			c := *old
			prev = &c
		}
		_, err := f.setReg(h, f.sensor(h), path, typ, data)
		return err
	})
	return prev, err
}

// DeleteRegistry deletes a registry value (Sysmon 12 DeleteValue) and
// returns it.
func (f *Fleet) DeleteRegistry(hostName, path string) (RegistryValue, error) {
	var out RegistryValue
	err := f.withHost(hostName, func(h *host) error {
		v, err := f.deleteReg(h, f.sensor(h), path)
		if err == nil {
			out = *v
		}
		return err
	})
	return out, err
}

// StartService starts a service (its process, System 7036).
func (f *Fleet) StartService(hostName, name string) (Service, error) {
	var out Service
	err := f.withHost(hostName, func(h *host) error {
		s, _, err := f.startService(h, name)
		if err == nil {
			out = *s
		}
		return err
	})
	return out, err
}

// StopService stops a service (Sysmon 5 of its process, System 7036).
func (f *Fleet) StopService(hostName, name string) (Service, error) {
	var out Service
	err := f.withHost(hostName, func(h *host) error {
		s, err := f.stopService(h, name)
		if err == nil {
			out = *s
		}
		return err
	})
	return out, err
}

// DeleteService stops and deletes a service and its registry key; the
// fleet keeps its definition so that CreateService can restore it.
func (f *Fleet) DeleteService(hostName, name string) (Service, error) {
	var out Service
	err := f.withHost(hostName, func(h *host) error {
		running := false
		if s, ok := h.services[strings.ToLower(name)]; ok {
			running = s.State == "running"
		}
		s, err := f.deleteService(h, name)
		if err != nil {
			return err
		}
		out = *s
		if running {
			out.State = "running" // as it was: CreateService starts it again
		}
		if h.deletedServices == nil {
			h.deletedServices = map[string]Service{}
		}
		if err := f.checkLimit(len(h.deletedServices), "deleted services kept"); err == nil {
			h.deletedServices[strings.ToLower(s.Name)] = out
		}
		return nil
	})
	return out, err
}

// CreateService installs a service (System 7045, Security 4697). When def
// has no image path, the definition of the service last deleted with that
// name is restored (the undo of DeleteService); a service that was running
// when deleted is started again.
func (f *Fleet) CreateService(hostName string, def Service) (Service, error) {
	var out Service
	err := f.withHost(hostName, func(h *host) error {
		restart := false
		if def.ImagePath == "" {
			old, ok := h.deletedServices[strings.ToLower(def.Name)]
			if !ok {
				return fmt.Errorf("%w: service %s was not deleted here and has no image path", ErrNotFound, def.Name)
			}
			def, restart = old, old.State == "running"
		}
		s, err := f.createService(h, userSystem, def.Name, def.ImagePath, def.StartType, def.Account)
		if err != nil {
			return err
		}
		delete(h.deletedServices, strings.ToLower(def.Name))
		if restart {
			if s, _, err = f.startService(h, s.Name); err != nil {
				return err
			}
		}
		out = *s
		return nil
	})
	return out, err
}

// SetServiceStart changes a service's start type (auto, demand, disabled).
func (f *Fleet) SetServiceStart(hostName, name, start string) (Service, error) {
	var out Service
	err := f.withHost(hostName, func(h *host) error {
		s, err := f.setServiceStart(h, name, start)
		if err == nil {
			out = *s
		}
		return err
	})
	return out, err
}

// CreateTask registers a scheduled task (Security 4698) as SYSTEM.
func (f *Fleet) CreateTask(hostName string, t Task) (Task, error) {
	var out Task
	err := f.withHost(hostName, func(h *host) error {
		nt, err := f.createTask(h, userSystem, t)
		if err == nil {
			out = *nt
		}
		return err
	})
	return out, err
}

// DeleteTask deletes a scheduled task (Security 4699) and returns it.
func (f *Fleet) DeleteTask(hostName, name string) (Task, error) {
	var out Task
	err := f.withHost(hostName, func(h *host) error {
		t, err := f.deleteTask(h, userSystem, name)
		if err == nil {
			out = *t
		}
		return err
	})
	return out, err
}

// RunTask starts a task's command now, as the Task Scheduler does.
func (f *Fleet) RunTask(hostName, name string) (Process, error) {
	var out Process
	err := f.withHost(hostName, func(h *host) error {
		t, ok := h.tasks[strings.ToLower(ensureSlash(name))]
		if !ok {
			return fmt.Errorf("%w: task %s on %s", ErrNotFound, name, h.short)
		}
		user := t.RunAs
		if strings.EqualFold(user, "SYSTEM") {
			user = userSystem
		}
		image, _ := serviceImage(t.Command)
		cmd := t.Command
		if t.Arguments != "" {
			cmd += " " + t.Arguments
		}
		p, err := f.startProcess(h, f.schedProc(h), image, cmd, user, "", "", imageMeta{})
		if err == nil {
			out = *p
		}
		return err
	})
	return out, err
}

// StopTask ends the running instances of a task: the processes the Task
// Scheduler started with the task's command.
func (f *Fleet) StopTask(hostName, name string) ([]Process, error) {
	var out []Process
	err := f.withHost(hostName, func(h *host) error {
		t, ok := h.tasks[strings.ToLower(ensureSlash(name))]
		if !ok {
			return fmt.Errorf("%w: task %s on %s", ErrNotFound, name, h.short)
		}
		image, _ := serviceImage(t.Command)
		for _, pid := range sortedPIDs(h) {
			p := h.procs[pid]
			if p.ParentPID == h.schedPID && strings.EqualFold(p.Image, image) {
				out = append(out, *p)
				f.exitProcess(h, p)
			}
		}
		return nil
	})
	return out, err
}

// SetAccountEnabled enables or disables a local account (Security 4722,
// 4725) and returns its state before.
func (f *Fleet) SetAccountEnabled(hostName, name string, enabled bool) (before Account, err error) {
	err = f.withHost(hostName, func(h *host) error {
		a, err := f.account(h, name)
		if err != nil {
			return err
		}
		before = *a
		_, err = f.setAccountEnabled(h, userSystem, name, enabled)
		return err
	})
	return before, err
}

// DeleteAccount deletes a local account and its group memberships
// (Security 4733, 4726).
func (f *Fleet) DeleteAccount(hostName, name string) (Account, error) {
	var out Account
	err := f.withHost(hostName, func(h *host) error {
		a, err := f.deleteAccount(h, userSystem, name)
		if err == nil {
			out = *a
		}
		return err
	})
	return out, err
}

// RemoveGroupMember removes a member (DOMAIN\name, or a local account's
// name) from a local group (Security 4733).
func (f *Fleet) RemoveGroupMember(hostName, group, member string) error {
	return f.withHost(hostName, func(h *host) error {
		_, err := f.removeMember(h, userSystem, group, member)
		return err
	})
}

// Contain sets a host's network containment (network_isolation with the
// permitted addresses, app_restriction, or disable_nic) and returns the
// containment before.
func (f *Fleet) Contain(hostName, mode string, permitted []string) (before Containment, err error) {
	err = f.withHost(hostName, func(h *host) error {
		before = h.contain
		return f.contain(h, mode, permitted)
	})
	return before, err
}

// Release lifts a host's containment and returns the containment before.
func (f *Fleet) Release(hostName string) (before Containment, err error) {
	err = f.withHost(hostName, func(h *host) error {
		before = h.contain
		f.release(h)
		return nil
	})
	return before, err
}

func ensureSlash(name string) string {
	if strings.HasPrefix(name, `\`) {
		return name
	}
	return `\` + name
}

// Connections returns a host's open network connections.
func (f *Fleet) Connections(hostName string) ([]Connection, error) {
	var out []Connection
	err := f.view(hostName, func(h *host) error {
		out = slices.Clone(h.conns)
		return nil
	})
	return out, err
}
