package remediate

import (
	"encoding/json"
	"strings"

	"github.com/mdrkit/mdr/respond"
)

// The OpenC2 commands of the steps, and the queries and post-conditions
// that verify them, in one place. Every command names its actuator as
// {"er": {"hostname": host}} and, for targets that are not a device, the
// host as the er downstream_device argument, as the er profile requires.
//
// Post-conditions read the answer to a query of the step's target:
// response.status is 404 when the target does not exist; a 200 answer
// carries the target's state under response.results (see state()).

// The er profile cannot delete an account, remove a group membership or
// reset credentials (er:account is only enabled or disabled), and the
// mdr profile of package respond has no such command either. These steps
// use mdrkit's extension namespace x-mdr (OpenC2 reserves "x-" for
// non-standard extensions): targets TargetXAccount and TargetXMember,
// actuator {"x-mdr": {"hostname": host}}. An actuator that performs them
// declares the pairs (delete x-mdr:account, delete x-mdr:group_member, set
// x-mdr:account) and the profile "x-mdr" in its features.
const (
	XProfile       = "x-mdr"
	TargetXAccount = "x-mdr:account"
	TargetXMember  = "x-mdr:group_member"
)

// XAccount is the x-mdr:account target: a local or domain account.
// ResetCredentials asks, with action set, for the account's credentials to
// be reset.
type XAccount struct {
	AccountName      string `json:"account_name"`
	ResetCredentials bool   `json:"reset_credentials,omitempty"`
}

// XMember is the x-mdr:group_member target: a member of a local group.
type XMember struct {
	Group  string `json:"group"`
	Member string `json:"member"`
}

func xCommand(host string, action respond.Action, target string, v any) respond.Command {
	hb, _ := json.Marshal(host)
	return respond.Command{Action: action, Target: extTarget(target, v),
		Actuator: &respond.ActuatorSpec{Profile: XProfile, Specifiers: map[string]json.RawMessage{"hostname": hb}}}
}

// XHost returns the host an x-mdr command is addressed to.
func XHost(c *respond.Command) string {
	if c.Actuator == nil || c.Actuator.Profile != XProfile {
		return ""
	}
	var h string
	_ = json.Unmarshal(c.Actuator.Specifiers["hostname"], &h)
	return h
}

// onHost addresses c to host (as respond.Command.OnHost does, without its
// deep copy: c is freshly built and shares nothing).
func onHost(host string, c respond.Command) respond.Command {
	if c.Target.Device == nil {
		if c.Args == nil {
			c.Args = &respond.Args{}
		}
		if c.Args.ER == nil {
			c.Args.ER = &respond.ERArgs{}
		}
		c.Args.ER.DownstreamDevice = []respond.DownstreamDevice{{Devices: []respond.Device{{Hostname: host}}}}
	}
	c.Actuator = &respond.ActuatorSpec{Profile: "er", Hostname: host}
	return c
}

func query(host string, t respond.Target) *respond.Command {
	c := onHost(host, respond.Command{Action: respond.ActionQuery, Target: t})
	return &c
}

func extTarget(name string, v any) respond.Target {
	b, _ := json.Marshal(v)
	return respond.Target{Extensions: map[string]json.RawMessage{name: b}}
}

// absent is the post-condition of a step that removes its target: the
// actuator answers 404, or reports the target's state without it.
const absent = `response.status == 404 || (response.status == 200 && has(state.exists) && !state.exists)`

func stopProcess(host string, pid int64, image string) respond.Command {
	p := &respond.Process{Name: baseName(image)}
	if pid > 0 {
		p.PID = &pid
	}
	if image != "" {
		p.Executable = &respond.File{Path: image}
	}
	return onHost(host, respond.Command{Action: respond.ActionStop, Target: respond.Target{Process: p}})
}

func checkProcess(host string, pid int64, image string) *Check {
	c := stopProcess(host, pid, image)
	return &Check{Query: query(host, c.Target), Expr: absent}
}

func quarantineFile(host, path string) respond.Command {
	return onHost(host, respond.Command{Action: respond.ActionContain, Target: respond.Target{File: &respond.File{Path: path}}})
}

func deleteFile(host, path string) respond.Command {
	return onHost(host, respond.Command{Action: respond.ActionDelete, Target: respond.Target{File: &respond.File{Path: path}}})
}

func checkFileAbsent(host, path string) *Check {
	return &Check{Query: query(host, respond.Target{File: &respond.File{Path: path}}), Expr: absent}
}

// regType guesses a value's type from data as Sysmon's Details writes it.
func regType(data string) string {
	switch {
	case strings.HasPrefix(data, "DWORD ("):
		return "REG_DWORD"
	case strings.HasPrefix(data, "QWORD ("):
		return "REG_QWORD"
	case strings.HasPrefix(data, "Binary Data"):
		return "REG_BINARY"
	}
	return "REG_SZ"
}

func deleteRegistry(host, key, data string) respond.Command {
	return onHost(host, respond.Command{Action: respond.ActionDelete, Target: respond.Target{RegistryEntry: &respond.RegistryEntry{Key: key, Type: regType(data)}}})
}

func setRegistry(host, key, data string) respond.Command {
	return onHost(host, respond.Command{Action: respond.ActionSet, Target: respond.Target{RegistryEntry: &respond.RegistryEntry{Key: key, Type: regType(data), Value: data}}})
}

func checkRegistryAbsent(host, key string) *Check {
	return &Check{Query: query(host, respond.Target{RegistryEntry: &respond.RegistryEntry{Key: key, Type: "REG_SZ"}}), Expr: absent}
}

func checkRegistryValue(host, key, data string) *Check {
	return &Check{Query: query(host, respond.Target{RegistryEntry: &respond.RegistryEntry{Key: key, Type: regType(data)}}),
		Expr: `response.status == 200 && state.exists && has(state.registry) && state.registry.data == step.expect`, Expect: data}
}

func stopService(host, name string) respond.Command {
	return onHost(host, respond.Command{Action: respond.ActionStop, Target: respond.Target{Service: &respond.Service{Name: name}}})
}

func deleteService(host, name string) respond.Command {
	return onHost(host, respond.Command{Action: respond.ActionDelete, Target: respond.Target{Service: &respond.Service{Name: name}}})
}

func checkService(host, name, want string) *Check {
	q := query(host, respond.Target{Service: &respond.Service{Name: name}})
	if want == "absent" {
		return &Check{Query: q, Expr: absent}
	}
	return &Check{Query: q, Expr: absent + ` || (response.status == 200 && has(state.service) && state.service.state == step.expect)`, Expect: want}
}

func deleteTask(host, name, command string) respond.Command {
	return onHost(host, respond.Command{Action: respond.ActionDelete, Target: respond.Target{ScheduledTask: &respond.ScheduledTask{Name: taskName(name), CommandLine: command}}})
}

func checkTask(host, name string) *Check {
	return &Check{Query: query(host, respond.Target{ScheduledTask: &respond.ScheduledTask{Name: taskName(name)}}), Expr: absent}
}

func accountName(name string) string {
	if i := strings.LastIndexByte(name, '\\'); i >= 0 {
		return name[i+1:]
	}
	return name
}

func disableAccount(host, name string) respond.Command {
	c := onHost(host, respond.Command{Action: respond.ActionSet, Target: respond.Target{Account: &respond.Account{AccountName: accountName(name)}}})
	c.Args.ER.AccountStatus = respond.AccountDisabled
	return c
}

func checkAccount(host, name, want string) *Check {
	q := query(host, respond.Target{Account: &respond.Account{AccountName: accountName(name)}})
	if want == "absent" {
		return &Check{Query: q, Expr: absent}
	}
	return &Check{Query: q, Expr: absent + ` || (response.status == 200 && has(state.account) && state.account.enabled == false)`}
}

func deleteAccount(host, name string) respond.Command {
	return xCommand(host, respond.ActionDelete, TargetXAccount, XAccount{AccountName: accountName(name)})
}

func resetCredentials(host, name string) respond.Command {
	return xCommand(host, respond.ActionSet, TargetXAccount, XAccount{AccountName: name, ResetCredentials: true})
}

func removeMember(host, group, member string) respond.Command {
	return xCommand(host, respond.ActionDelete, TargetXMember, XMember{Group: group, Member: member})
}

// checkMember verifies a membership's removal through the state of the
// member's local account: gone, or its groups no longer list the group.
// A domain member has no local account to ask about: no check (the step
// stays applied, not verified).
func checkMember(host, group, member string) *Check {
	if dom, _, ok := strings.Cut(member, `\`); ok {
		short, _, _ := strings.Cut(host, ".")
		if !strings.EqualFold(dom, short) && !strings.EqualFold(dom, host) && dom != "." {
			return nil
		}
	}
	q := query(host, respond.Target{Account: &respond.Account{AccountName: accountName(member)}})
	return &Check{Query: q, Expr: absent + ` || (response.status == 200 && (!has(state.account) || !has(state.account.groups) || !state.account.groups.exists(g, g.lowerAscii() == step.expect.lowerAscii())))`,
		Expect: group}
}

func releaseContainment(host string) respond.Command {
	c := onHost(host, respond.Command{Action: respond.ActionAllow, Target: respond.Target{Device: &respond.Device{Hostname: host}},
		Args: &respond.Args{ER: &respond.ERArgs{DeviceContainment: respond.NetworkIsolation}}})
	return c
}

func checkReleased(host string) *Check {
	return &Check{Query: query(host, respond.Target{Device: &respond.Device{Hostname: host}}),
		Expr: `response.status == 200 && (!has(state.containment) || !has(state.containment.mode) || state.containment.mode == "")`}
}

// asciiLower lower-cases ASCII letters only, keeping byte offsets.
func asciiLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

// imageOf returns the executable of a command line or service image path:
// the quoted first word, else up to the first ".exe"; environment
// variables and the \SystemRoot\ prefix Windows uses are expanded.
func imageOf(cmd string) string {
	s := strings.TrimSpace(cmd)
	if s == "" {
		return ""
	}
	if s[0] == '"' {
		if i := strings.IndexByte(s[1:], '"'); i >= 0 {
			s = s[1 : 1+i]
		}
	} else if i := indexASCIIFold(s, ".exe"); i >= 0 {
		s = s[:i+4]
	} else if i := strings.IndexByte(s, ' '); i >= 0 {
		s = s[:i]
	}
	img := expandPath(s)
	if baseName(img) == "" {
		return "" // a bare variable or a directory names no image
	}
	return img
}

// indexASCIIFold is strings.Index ignoring ASCII case (sub lower-case),
// with byte offsets into s whatever its encoding.
func indexASCIIFold(s, sub string) int {
	for i := 0; i+len(sub) <= len(s); i++ {
		j := 0
		for ; j < len(sub); j++ {
			c := s[i+j]
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			if c != sub[j] {
				break
			}
		}
		if j == len(sub) {
			return i
		}
	}
	return -1
}

var envDirs = []struct{ v, dir string }{
	{"%systemroot%", `C:\Windows`}, {"%windir%", `C:\Windows`}, {"%programdata%", `C:\ProgramData`},
	{"%programfiles%", `C:\Program Files`}, {"%programfiles(x86)%", `C:\Program Files (x86)`}, {"%systemdrive%", `C:`},
	{"%public%", `C:\Users\Public`},
}

func expandPath(p string) string {
	l := asciiLower(p)
	for _, e := range envDirs {
		if strings.HasPrefix(l, e.v) {
			if rest := p[len(e.v):]; len(rest) > 1 && rest[0] == '\\' {
				return e.dir + rest
			}
			return "" // the variable alone, or glued to a name: no path of the input
		}
	}
	switch {
	case strings.HasPrefix(l, `\systemroot\`):
		return `C:\Windows` + p[len(`\systemroot`):]
	case strings.HasPrefix(l, `system32\`):
		return `C:\Windows\` + p
	case strings.HasPrefix(l, `\??\`):
		return p[4:]
	}
	return p
}
