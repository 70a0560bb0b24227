package sim

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
)

// The operations below change a host and log what Windows and Sysmon
// would write. They are called with the fleet's lock held.

// isAdmin reports whether user is in h's Administrators group, directly
// or as a domain admin (lock held).
func (f *Fleet) isAdmin(h *host, user string) bool {
	if strings.EqualFold(user, userSystem) {
		return true
	}
	g := h.groups["administrators"]
	if g == nil {
		return false
	}
	for _, m := range g.members {
		if strings.EqualFold(m, user) {
			return true
		}
	}
	_, name := splitUser(user)
	return strings.Contains(strings.ToLower(name), "admin")
}

func (f *Fleet) checkLimit(n int, what string) error {
	if n >= f.cfg.MaxObjects {
		return fmt.Errorf("%w: %d %s", ErrLimit, n, what)
	}
	return nil
}

func (f *Fleet) proc(h *host, pid int) (*Process, error) {
	p, ok := h.procs[pid]
	if !ok {
		return nil, fmt.Errorf("%w: process %d on %s", ErrNotFound, pid, h.short)
	}
	return p, nil
}

// sensor returns the host's EDR sensor process, the actor of response
// actions.
func (f *Fleet) sensor(h *host) *Process {
	if p, ok := h.procs[h.sysmonPID]; ok {
		return p
	}
	return &Process{PID: h.sysmonPID, Image: sensorImage, User: userSystem}
}

// newPID picks a free pid the way Windows hands them out (multiples of
// four); on a crowded host it takes the first free one above the usual
// range (lock held).
func (f *Fleet) newPID(h *host) int {
	for range 32 {
		pid := 4 * (300 + f.rng.IntN(4000))
		if _, used := h.procs[pid]; !used {
			return pid
		}
	}
	for pid := 4 * 4300; ; pid += 4 {
		if _, used := h.procs[pid]; !used {
			return pid
		}
	}
}

// NewLogonID returns a fresh logon id (lock held).
func (f *Fleet) newLogonID() string {
	return "0x" + strconv.FormatInt(int64(0x100000+f.rng.IntN(0xeffffff)), 16)
}

func allowedUnderAppRestriction(image string) bool {
	l := strings.ToLower(image)
	return strings.HasPrefix(l, `c:\windows\`) || strings.HasPrefix(l, `c:\program files\`) || strings.HasPrefix(l, `c:\program files (x86)\`)
}

// startProcess creates a process; parent may be nil.
func (f *Fleet) startProcess(h *host, parent *Process, image, cmdline, user, il, cwd string, meta imageMeta) (*Process, error) {
	if err := f.checkLimit(len(h.procs), "processes"); err != nil {
		return nil, err
	}
	if h.contain.Mode == ContainAppRestrict && !allowedUnderAppRestriction(image) {
		return nil, fmt.Errorf("%w: %s may not start %s", ErrContained, h.short, image)
	}
	if user == "" && parent != nil {
		user = parent.User
	}
	if il == "" {
		il = "Medium"
		if parent != nil {
			il = parent.Integrity
		}
	}
	if cwd == "" {
		cwd = `C:\Windows\system32\`
		if parent != nil && parent.CurrentDirectory != "" {
			cwd = parent.CurrentDirectory
		}
	}
	t := f.now()
	lid := h.sessions[strings.ToLower(user)]
	if lid == "" {
		lid = "0x3e7"
		if !strings.HasPrefix(strings.ToUpper(user), `NT AUTHORITY\`) {
			lid = f.newLogonID()
		}
	}
	// A binary's version resource travels with its content: a tool copied
	// to a second host shows the same OriginalFileName there.
	if fl, ok := h.files[strings.ToLower(image)]; ok {
		if meta.orig == "" {
			meta = f.contentMeta[fl.ContentID]
		} else if _, known := f.contentMeta[fl.ContentID]; known || len(f.contentMeta) < f.cfg.MaxObjects {
			f.contentMeta[fl.ContentID] = meta
		}
	}
	p := &Process{PID: f.newPID(h), GUID: f.newGUID(h, t), Image: image, CommandLine: cmdline, User: user, Integrity: il,
		CurrentDirectory: cwd, LogonID: lid, Start: t}
	if parent != nil {
		p.ParentPID, p.ParentGUID = parent.PID, parent.GUID
	}
	h.procs[p.PID] = p
	h.byGUID[p.GUID] = p
	f.touch(h, KindProcess, p.GUID)
	f.logProcessStart(h, t, p, parent, meta)
	return p, nil
}

// exitProcess ends p: its connections close, a service it ran stops.
func (f *Fleet) exitProcess(h *host, p *Process) {
	delete(h.procs, p.PID)
	delete(h.byGUID, p.GUID)
	f.touch(h, KindProcess, p.GUID)
	h.conns = slices.DeleteFunc(h.conns, func(c Connection) bool { return c.PID == p.PID })
	for _, s := range h.services {
		if s.PID == p.PID && s.State == "running" {
			s.State, s.PID = "stopped", 0
			f.touch(h, KindService, s.Name)
		}
	}
	f.logProcessEnd(h, f.now(), p)
}

func (f *Fleet) writeFile(h *host, actor *Process, path, content string) (*File, error) {
	key := strings.ToLower(path)
	if _, ok := h.files[key]; !ok {
		if err := f.checkLimit(len(h.files), "files"); err != nil {
			return nil, err
		}
	}
	fl := newFile(path, content)
	h.files[key] = fl
	f.touch(h, KindFile, path)
	f.logFileCreate(h, f.now(), actor, path)
	return fl, nil
}

// deleteFile removes a file; quarantine keeps it for restoreFile.
func (f *Fleet) deleteFile(h *host, actor *Process, path string, quarantine bool) (*File, error) {
	key := strings.ToLower(path)
	fl, ok := h.files[key]
	if !ok {
		return nil, fmt.Errorf("%w: file %s on %s", ErrNotFound, path, h.short)
	}
	delete(h.files, key)
	f.touch(h, KindFile, fl.Path)
	if quarantine {
		h.quarantine[key] = fl
	}
	f.logFileDelete(h, f.now(), actor, fl, quarantine)
	return fl, nil
}

func (f *Fleet) restoreFile(h *host, path string) (*File, error) {
	key := strings.ToLower(path)
	fl, ok := h.quarantine[key]
	if !ok {
		return nil, fmt.Errorf("%w: %s is not in quarantine on %s", ErrNotFound, path, h.short)
	}
	if _, exists := h.files[key]; exists {
		return nil, fmt.Errorf("%w: file %s on %s", ErrExists, path, h.short)
	}
	delete(h.quarantine, key)
	h.files[key] = fl
	f.touch(h, KindFile, fl.Path)
	f.logFileCreate(h, f.now(), f.sensor(h), fl.Path)
	return fl, nil
}

// regKeyOf splits a value path into its key and value name.
func regKeyOf(path string) string {
	if i := strings.LastIndexByte(path, '\\'); i > 0 {
		return path[:i]
	}
	return path
}

func (f *Fleet) keyExists(h *host, key string) bool {
	pre := strings.ToLower(key) + `\`
	for k := range h.reg {
		if strings.HasPrefix(k, pre) {
			return true
		}
	}
	return false
}

// normalizeRegData renders data as Sysmon's Details does for its type.
func normalizeRegData(typ, data string) (string, string) {
	switch strings.ToUpper(typ) {
	case "", "REG_SZ":
		return "REG_SZ", data
	case "REG_DWORD", "DWORD":
		if strings.HasPrefix(data, "DWORD (") {
			return "REG_DWORD", data
		}
		n, err := strconv.ParseInt(strings.TrimPrefix(strings.ToLower(data), "0x"), map[bool]int{true: 16, false: 10}[strings.HasPrefix(strings.ToLower(data), "0x")], 64)
		if err != nil {
			return "REG_DWORD", data
		}
		return "REG_DWORD", dword(int(n))
	}
	return strings.ToUpper(typ), data
}

func (f *Fleet) setReg(h *host, actor *Process, path, typ, data string) (*RegistryValue, error) {
	if !strings.Contains(path, `\`) {
		return nil, fmt.Errorf("%w: registry path %q", ErrInvalid, path)
	}
	key := strings.ToLower(path)
	if _, ok := h.reg[key]; !ok {
		if err := f.checkLimit(len(h.reg), "registry values"); err != nil {
			return nil, err
		}
	}
	t := f.now()
	if !f.keyExists(h, regKeyOf(path)) {
		f.logRegistry(h, t, actor, "CreateKey", regKeyOf(path), "")
	}
	typ, data = normalizeRegData(typ, data)
	v := &RegistryValue{Path: path, Type: typ, Data: data}
	h.reg[key] = v
	f.touch(h, KindRegistry, path)
	f.logRegistry(h, t, actor, "SetValue", path, data)
	return v, nil
}

func (f *Fleet) deleteReg(h *host, actor *Process, path string) (*RegistryValue, error) {
	key := strings.ToLower(path)
	v, ok := h.reg[key]
	if !ok {
		return nil, fmt.Errorf("%w: registry value %s on %s", ErrNotFound, path, h.short)
	}
	delete(h.reg, key)
	f.touch(h, KindRegistry, v.Path)
	f.logRegistry(h, f.now(), actor, "DeleteValue", v.Path, "")
	return v, nil
}

// reachable reports whether h's containment lets it reach ip.
func reachable(h *host, ip string) bool {
	switch h.contain.Mode {
	case ContainDisableNIC:
		return false
	case ContainIsolation:
		return slices.Contains(h.contain.Permitted, ip)
	}
	return true
}

func (f *Fleet) connect(h *host, p *Process, proto, ip string, port int, hostname string) (Connection, error) {
	if !reachable(h, ip) {
		return Connection{}, fmt.Errorf("%w: %s may not reach %s", ErrContained, h.short, ip)
	}
	if err := f.checkLimit(len(h.conns), "connections"); err != nil {
		return Connection{}, err
	}
	if proto == "" {
		proto = "tcp"
	}
	c := Connection{PID: p.PID, Protocol: proto, LocalIP: h.ip, LocalPort: 49700 + f.rng.IntN(15000), RemoteIP: ip, RemotePort: port, RemoteHost: hostname}
	h.conns = append(h.conns, c)
	f.logConnect(h, f.now(), p, c)
	return c, nil
}

func (f *Fleet) dns(h *host, p *Process, name, result string) error {
	if h.contain.Mode == ContainDisableNIC || (h.contain.Mode == ContainIsolation && !slices.Contains(h.contain.Permitted, result)) {
		return fmt.Errorf("%w: %s may not resolve %s", ErrContained, h.short, name)
	}
	f.sysmon(h, f.now(), 22, 5, Field{"ProcessGuid", p.GUID}, Field{"ProcessId", strconv.Itoa(p.PID)}, Field{"QueryName", name},
		Field{"QueryStatus", "0"}, Field{"QueryResults", "::ffff:" + result + ";"}, Field{"Image", p.Image}, Field{"User", p.User})
	return nil
}

// openProcess logs src opening dst with the access mask; via, when set,
// is the module (a DLL src loaded) whose code made the call, as it appears
// in the call trace.
func (f *Fleet) openProcess(h *host, src, dst *Process, access, via string) {
	caller := src.Image + `+6b2f1|` + src.Image + `+6a0e3`
	if via != "" {
		caller = `C:\Windows\System32\dbgcore.DLL+1a2b|` + via + `+3c4d|` + src.Image + `+3a1c`
	}
	trace := `C:\Windows\SYSTEM32\ntdll.dll+9d4c4|C:\Windows\System32\KERNELBASE.dll+2c13e|` + caller +
		`|C:\Windows\System32\KERNEL32.DLL+17034|C:\Windows\SYSTEM32\ntdll.dll+52651`
	f.sysmon(h, f.now(), 10, 3, Field{"SourceProcessGUID", src.GUID}, Field{"SourceProcessId", strconv.Itoa(src.PID)},
		Field{"SourceThreadId", strconv.Itoa(src.PID + 12)}, Field{"SourceImage", src.Image},
		Field{"TargetProcessGUID", dst.GUID}, Field{"TargetProcessId", strconv.Itoa(dst.PID)}, Field{"TargetImage", dst.Image},
		Field{"GrantedAccess", access}, Field{"CallTrace", trace}, Field{"SourceUser", src.User}, Field{"TargetUser", dst.User})
}

func (f *Fleet) loadImage(h *host, p *Process, dll string, signed bool) {
	sig, status := "Microsoft Windows", "Valid"
	if !signed {
		sig, status = "-", "Unavailable"
	}
	meta := metaOf(dll, imageMeta{})
	f.sysmon(h, f.now(), 7, 3, append(procFields(p), Field{"ImageLoaded", dll}, Field{"FileVersion", "-"},
		Field{"Description", meta.desc}, Field{"Product", meta.product}, Field{"Company", meta.company},
		Field{"OriginalFileName", baseName(dll)}, Field{"Hashes", f.hashesOf(h, dll)}, Field{"Signed", strconv.FormatBool(signed)},
		Field{"Signature", sig}, Field{"SignatureStatus", status}, Field{"User", p.User})...)
}

func (f *Fleet) servicesProc(h *host) *Process {
	if p, ok := h.procs[h.servicesPID]; ok {
		return p
	}
	return &Process{PID: h.servicesPID, Image: `C:\Windows\System32\services.exe`, User: userSystem}
}

func (f *Fleet) schedProc(h *host) *Process {
	if p, ok := h.procs[h.schedPID]; ok {
		return p
	}
	return &Process{PID: h.schedPID, Image: `C:\Windows\System32\svchost.exe`, User: userSystem}
}

var startTypeNames = map[string]string{"auto": "auto start", "demand": "demand start", "disabled": "disabled", "boot": "boot start", "system": "system start"}

// createService installs a service on h as by (DOMAIN\name).
func (f *Fleet) createService(h *host, by, name, image, start, account string) (*Service, error) {
	if name == "" || image == "" {
		return nil, fmt.Errorf("%w: service needs a name and an image path", ErrInvalid)
	}
	key := strings.ToLower(name)
	if _, ok := h.services[key]; ok {
		return nil, fmt.Errorf("%w: service %s on %s", ErrExists, name, h.short)
	}
	if err := f.checkLimit(len(h.services), "services"); err != nil {
		return nil, err
	}
	if start == "" {
		start = "demand"
	}
	if _, ok := startTypeNames[start]; !ok {
		return nil, fmt.Errorf("%w: service start type %q", ErrInvalid, start)
	}
	if account == "" {
		account = "LocalSystem"
	}
	s := &Service{Name: name, ImagePath: image, StartType: start, State: "stopped", Account: account}
	h.services[key] = s
	f.touch(h, KindService, name)
	t := f.now()
	f.system(h, t, 7045, f.sidOf(h, by), Field{"ServiceName", name}, Field{"ImagePath", image},
		Field{"ServiceType", "user mode service"}, Field{"StartType", startTypeNames[start]}, Field{"AccountName", account})
	f.security(h, t, 4697, 0, 12289, append(f.subjectFields(h, by), Field{"ServiceName", name}, Field{"ServiceFileName", image},
		Field{"ServiceType", "0x10"}, Field{"ServiceStartType", strconv.Itoa(startValue(start))}, Field{"ServiceAccount", account})...)
	sp := f.servicesProc(h)
	k := serviceKey(name)
	f.logRegistry(h, t, sp, "CreateKey", k, "")
	for _, v := range []RegistryValue{{k + `\ImagePath`, "REG_EXPAND_SZ", image}, {k + `\Start`, "REG_DWORD", dword(startValue(start))},
		{k + `\ObjectName`, "REG_SZ", account}} {
		h.reg[strings.ToLower(v.Path)] = &RegistryValue{Path: v.Path, Type: v.Type, Data: v.Data}
		f.touch(h, KindRegistry, v.Path)
		f.logRegistry(h, t, sp, "SetValue", v.Path, v.Data)
	}
	return s, nil
}

func (f *Fleet) service(h *host, name string) (*Service, error) {
	s, ok := h.services[strings.ToLower(name)]
	if !ok {
		return nil, fmt.Errorf("%w: service %s on %s", ErrNotFound, name, h.short)
	}
	return s, nil
}

// serviceImage returns the program a service's image path runs.
func serviceImage(path string) (image, cmdline string) {
	p := strings.TrimSpace(path)
	for _, v := range []string{"%systemroot%", "%windir%"} {
		if strings.HasPrefix(strings.ToLower(p), v) {
			p = `C:\Windows` + p[len(v):]
		}
	}
	cmdline = p
	if strings.HasPrefix(p, `"`) {
		if i := strings.IndexByte(p[1:], '"'); i >= 0 {
			return p[1 : i+1], cmdline
		}
	}
	if i := strings.Index(strings.ToLower(p), ".exe"); i >= 0 {
		return p[:i+4], cmdline
	}
	if i := strings.IndexByte(p, ' '); i >= 0 {
		return p[:i], cmdline
	}
	return p, cmdline
}

func (f *Fleet) startService(h *host, name string) (*Service, *Process, error) {
	s, err := f.service(h, name)
	if err != nil {
		return nil, nil, err
	}
	if s.State == "running" {
		return s, h.procs[s.PID], nil
	}
	if s.StartType == "disabled" {
		return nil, nil, fmt.Errorf("%w: service %s on %s is disabled", ErrInvalid, s.Name, h.short)
	}
	image, cmd := serviceImage(s.ImagePath)
	user := userSystem
	switch strings.ToLower(s.Account) {
	case `nt authority\localservice`:
		user = userLocal
	case `nt authority\networkservice`:
		user = userNetwork
	}
	p, err := f.startProcess(h, f.servicesProc(h), image, cmd, user, "System", `C:\Windows\system32\`, imageMeta{})
	if err != nil {
		return nil, nil, err
	}
	s.State, s.PID = "running", p.PID
	f.touch(h, KindService, s.Name)
	f.system(h, f.now(), 7036, "", Field{"param1", s.Name}, Field{"param2", "running"})
	return s, p, nil
}

func (f *Fleet) stopService(h *host, name string) (*Service, error) {
	s, err := f.service(h, name)
	if err != nil {
		return nil, err
	}
	if s.State != "running" {
		return s, nil
	}
	if p, ok := h.procs[s.PID]; ok {
		f.exitProcess(h, p)
	}
	s.State, s.PID = "stopped", 0
	f.touch(h, KindService, s.Name)
	f.system(h, f.now(), 7036, "", Field{"param1", s.Name}, Field{"param2", "stopped"})
	return s, nil
}

// deleteService stops and removes a service and its registry key.
func (f *Fleet) deleteService(h *host, name string) (*Service, error) {
	s, err := f.stopService(h, name)
	if err != nil {
		return nil, err
	}
	delete(h.services, strings.ToLower(s.Name))
	f.touch(h, KindService, s.Name)
	pre := strings.ToLower(serviceKey(s.Name)) + `\`
	for k, v := range h.reg {
		if strings.HasPrefix(k, pre) {
			f.touch(h, KindRegistry, v.Path)
			delete(h.reg, k)
		}
	}
	f.logRegistry(h, f.now(), f.servicesProc(h), "DeleteKey", serviceKey(s.Name), "")
	return s, nil
}

func (f *Fleet) setServiceStart(h *host, name, start string) (*Service, error) {
	s, err := f.service(h, name)
	if err != nil {
		return nil, err
	}
	if _, ok := startTypeNames[start]; !ok {
		return nil, fmt.Errorf("%w: service start type %q", ErrInvalid, start)
	}
	s.StartType = start
	p := serviceKey(s.Name) + `\Start`
	h.reg[strings.ToLower(p)] = &RegistryValue{Path: p, Type: "REG_DWORD", Data: dword(startValue(start))}
	f.touch(h, KindService, s.Name)
	f.touch(h, KindRegistry, p)
	f.logRegistry(h, f.now(), f.servicesProc(h), "SetValue", p, dword(startValue(start)))
	return s, nil
}

func taskFile(name string) string { return `C:\Windows\System32\Tasks` + name }

func (f *Fleet) createTask(h *host, by string, t Task) (*Task, error) {
	if !strings.HasPrefix(t.Name, `\`) {
		t.Name = `\` + t.Name
	}
	if t.Name == `\` || t.Command == "" {
		return nil, fmt.Errorf("%w: task needs a name and a command", ErrInvalid)
	}
	key := strings.ToLower(t.Name)
	if _, ok := h.tasks[key]; ok {
		return nil, fmt.Errorf("%w: task %s on %s", ErrExists, t.Name, h.short)
	}
	if err := f.checkLimit(len(h.tasks), "tasks"); err != nil {
		return nil, err
	}
	if t.Trigger == "" {
		t.Trigger = "logon"
	}
	if t.RunAs == "" {
		t.RunAs = by
	}
	t.Enabled = true
	task := &t
	h.tasks[key] = task
	f.touch(h, KindTask, t.Name)
	now := f.now()
	f.security(h, now, 4698, 1, 12804, append(f.subjectFields(h, by), Field{"TaskName", t.Name},
		Field{"TaskContent", taskXML(task, by, now)})...)
	fl := newFile(taskFile(t.Name), "task:"+key)
	h.files[strings.ToLower(fl.Path)] = fl
	f.touch(h, KindFile, fl.Path)
	f.logFileCreate(h, now, f.schedProc(h), fl.Path)
	return task, nil
}

func (f *Fleet) deleteTask(h *host, by, name string) (*Task, error) {
	if !strings.HasPrefix(name, `\`) {
		name = `\` + name
	}
	key := strings.ToLower(name)
	t, ok := h.tasks[key]
	if !ok {
		return nil, fmt.Errorf("%w: task %s on %s", ErrNotFound, name, h.short)
	}
	delete(h.tasks, key)
	f.touch(h, KindTask, t.Name)
	now := f.now()
	f.security(h, now, 4699, 0, 12804, append(f.subjectFields(h, by), Field{"TaskName", t.Name},
		Field{"TaskContent", taskXML(t, by, now)})...)
	fk := strings.ToLower(taskFile(t.Name))
	if fl, ok := h.files[fk]; ok {
		delete(h.files, fk)
		f.touch(h, KindFile, fl.Path)
		f.logFileDelete(h, now, f.schedProc(h), fl, false)
	}
	return t, nil
}

func (f *Fleet) account(h *host, name string) (*Account, error) {
	_, n := splitUser(name)
	a, ok := h.accounts[strings.ToLower(n)]
	if !ok {
		return nil, fmt.Errorf("%w: account %s on %s", ErrNotFound, name, h.short)
	}
	return a, nil
}

func (f *Fleet) accountFields(h *host, a *Account) []Field {
	return []Field{{"TargetUserName", a.Name}, {"TargetDomainName", strings.ToUpper(h.short)}, {"TargetSid", a.SID}}
}

// addAccount creates an enabled local account (in Users, as net user
// /add does).
func (f *Fleet) addAccount(h *host, by, name string) (*Account, error) {
	_, n := splitUser(name)
	if n == "" || strings.ContainsAny(n, `\/[]:;|=,+*?<>"@`) {
		return nil, fmt.Errorf("%w: account name %q", ErrInvalid, name)
	}
	if _, ok := h.accounts[strings.ToLower(n)]; ok {
		return nil, fmt.Errorf("%w: account %s on %s", ErrExists, n, h.short)
	}
	if err := f.checkLimit(len(h.accounts), "accounts"); err != nil {
		return nil, err
	}
	a := &Account{Name: n, SID: h.machineSID + "-" + strconv.Itoa(h.nextRID), Enabled: true}
	h.nextRID++
	h.accounts[strings.ToLower(n)] = a
	f.touch(h, KindAccount, n)
	t := f.now()
	subj := f.subjectFields(h, by)
	f.security(h, t, 4720, 0, 13824, append(append(append([]Field{}, f.accountFields(h, a)...), subj...),
		Field{"PrivilegeList", "-"}, Field{"SamAccountName", n}, Field{"DisplayName", "%%1793"}, Field{"UserPrincipalName", "-"},
		Field{"HomeDirectory", "%%1793"}, Field{"HomePath", "%%1793"}, Field{"ScriptPath", "%%1793"}, Field{"ProfilePath", "%%1793"},
		Field{"UserWorkstations", "%%1793"}, Field{"PasswordLastSet", "%%1794"}, Field{"AccountExpires", "%%1794"},
		Field{"PrimaryGroupId", "513"}, Field{"AllowedToDelegateTo", "-"}, Field{"OldUacValue", "0x0"}, Field{"NewUacValue", "0x15"},
		Field{"UserAccountControl", "\r\n\t\t%%2080\r\n\t\t%%2082\r\n\t\t%%2084"}, Field{"UserParameters", "%%1793"},
		Field{"SidHistory", "-"}, Field{"LogonHours", "%%1797"})...)
	f.security(h, t, 4722, 0, 13824, append(append([]Field{}, f.accountFields(h, a)...), subj...)...)
	if _, err := f.addMember(h, by, "Users", h.short+`\`+n); err != nil {
		return nil, err
	}
	return a, nil
}

func (f *Fleet) setAccountEnabled(h *host, by, name string, enabled bool) (*Account, error) {
	a, err := f.account(h, name)
	if err != nil {
		return nil, err
	}
	if a.Enabled == enabled {
		return a, nil
	}
	a.Enabled = enabled
	f.touch(h, KindAccount, a.Name)
	id := 4725
	if enabled {
		id = 4722
	}
	f.security(h, f.now(), id, 0, 13824, append(append([]Field{}, f.accountFields(h, a)...), f.subjectFields(h, by)...)...)
	return a, nil
}

func (f *Fleet) deleteAccount(h *host, by, name string) (*Account, error) {
	a, err := f.account(h, name)
	if err != nil {
		return nil, err
	}
	full := strings.ToLower(h.short + `\` + a.Name)
	for _, gk := range slices.Sorted(maps.Keys(h.groups)) {
		g := h.groups[gk]
		for _, m := range g.members {
			if strings.ToLower(m) == full {
				if _, err := f.removeMember(h, by, g.name, m); err != nil {
					return nil, err
				}
				break
			}
		}
	}
	delete(h.accounts, strings.ToLower(a.Name))
	f.touch(h, KindAccount, a.Name)
	f.security(h, f.now(), 4726, 0, 13824, append(append(append([]Field{}, f.accountFields(h, a)...), f.subjectFields(h, by)...),
		Field{"PrivilegeList", "-"})...)
	return a, nil
}

// qualify returns a group member as DOMAIN\name; a bare name is a local
// account of h.
func qualify(h *host, member string) string {
	if strings.Contains(member, `\`) {
		return member
	}
	return h.short + `\` + member
}

func (f *Fleet) memberEvent(h *host, by string, g *group, member string, id int) {
	f.security(h, f.now(), id, 0, 13826, append([]Field{{"MemberName", "-"}, {"MemberSid", f.sidOf(h, member)},
		{"TargetUserName", g.name}, {"TargetDomainName", "Builtin"}, {"TargetSid", g.sid}},
		append(f.subjectFields(h, by), Field{"PrivilegeList", "-"})...)...)
}

func (f *Fleet) addMember(h *host, by, groupName, member string) (*group, error) {
	g, ok := h.groups[strings.ToLower(groupName)]
	if !ok {
		return nil, fmt.Errorf("%w: group %s on %s", ErrNotFound, groupName, h.short)
	}
	member = qualify(h, member)
	dom, n := splitUser(member)
	if strings.EqualFold(dom, h.short) {
		if _, ok := h.accounts[strings.ToLower(n)]; !ok {
			return nil, fmt.Errorf("%w: account %s on %s", ErrNotFound, n, h.short)
		}
	}
	for _, m := range g.members {
		if strings.EqualFold(m, member) {
			return nil, fmt.Errorf("%w: %s is in %s on %s", ErrExists, member, g.name, h.short)
		}
	}
	if err := f.checkLimit(len(g.members), "group members"); err != nil {
		return nil, err
	}
	g.members = append(g.members, member)
	f.touch(h, KindGroupMember, strings.ToLower(g.name)+`\`+member)
	f.memberEvent(h, by, g, member, 4732)
	return g, nil
}

func (f *Fleet) removeMember(h *host, by, groupName, member string) (*group, error) {
	g, ok := h.groups[strings.ToLower(groupName)]
	if !ok {
		return nil, fmt.Errorf("%w: group %s on %s", ErrNotFound, groupName, h.short)
	}
	member = qualify(h, member)
	i := slices.IndexFunc(g.members, func(m string) bool { return strings.EqualFold(m, member) })
	if i < 0 {
		return nil, fmt.Errorf("%w: %s is not in %s on %s", ErrNotFound, member, g.name, h.short)
	}
	f.touch(h, KindGroupMember, strings.ToLower(g.name)+`\`+g.members[i])
	g.members = slices.Delete(g.members, i, i+1)
	f.memberEvent(h, by, g, member, 4733)
	return g, nil
}

// logon opens a session for user and returns its logon id.
func (f *Fleet) logon(h *host, user string, logonType int, ip, workstation, auth string) string {
	if auth == "" {
		auth = "Negotiate"
		if logonType == 3 {
			auth = "Kerberos"
		}
	}
	if ip == "" {
		ip = "127.0.0.1"
		if logonType == 3 {
			ip = "-"
		}
	}
	if workstation == "" {
		workstation = h.short
	}
	lid := f.newLogonID()
	if _, ok := h.sessions[strings.ToLower(user)]; ok || len(h.sessions) < f.cfg.MaxObjects {
		h.sessions[strings.ToLower(user)] = lid
	} else {
		f.droppedSessions++ // logged, but later processes of the user get a fresh logon id
	}
	t := f.now()
	f.logLogon(h, t, user, logonType, ip, workstation, lid, auth, false)
	if f.isAdmin(h, user) {
		dom, name := splitUser(user)
		f.security(h, t, 4672, 0, 12548, Field{"SubjectUserSid", f.sidOf(h, user)}, Field{"SubjectUserName", name},
			Field{"SubjectDomainName", dom}, Field{"SubjectLogonId", lid},
			Field{"PrivilegeList", "SeSecurityPrivilege\r\n\t\t\tSeBackupPrivilege\r\n\t\t\tSeRestorePrivilege\r\n\t\t\tSeTakeOwnershipPrivilege\r\n\t\t\tSeDebugPrivilege\r\n\t\t\tSeSystemEnvironmentPrivilege\r\n\t\t\tSeLoadDriverPrivilege\r\n\t\t\tSeImpersonatePrivilege"})
	}
	return lid
}

func (f *Fleet) logoff(h *host, user string, logonType int) {
	lid := h.sessions[strings.ToLower(user)]
	if lid == "" {
		return
	}
	delete(h.sessions, strings.ToLower(user))
	dom, name := splitUser(user)
	f.security(h, f.now(), 4634, 0, 12545, Field{"TargetUserSid", f.sidOf(h, user)}, Field{"TargetUserName", name},
		Field{"TargetDomainName", dom}, Field{"TargetLogonId", lid}, Field{"LogonType", strconv.Itoa(logonType)})
}

func (f *Fleet) explicitCreds(h *host, p *Process, target, server, serverIP string) {
	tdom, tname := splitUser(target)
	f.security(h, f.now(), 4648, 0, 12544, append(f.subjectFields(h, p.User),
		Field{"LogonGuid", "{00000000-0000-0000-0000-000000000000}"}, Field{"TargetUserName", tname}, Field{"TargetDomainName", tdom},
		Field{"TargetLogonGuid", "{00000000-0000-0000-0000-000000000000}"}, Field{"TargetServerName", server},
		Field{"TargetInfo", "cifs/" + server}, Field{"ProcessId", hexPID(p.PID)}, Field{"ProcessName", p.Image},
		Field{"IpAddress", serverIP}, Field{"IpPort", "445"})...)
}

func (f *Fleet) shareAccess(h *host, user, ip, share, localPath, relative string) {
	port := strconv.Itoa(49700 + f.rng.IntN(15000))
	t := f.now()
	base := append(f.subjectFields(h, user), Field{"ObjectType", "File"}, Field{"IpAddress", ip}, Field{"IpPort", port},
		Field{"ShareName", `\\*\` + share}, Field{"ShareLocalPath", sharePath(localPath)})
	f.security(h, t, 5140, 1, 12808, append(slices.Clone(base), Field{"AccessMask", "0x1"}, Field{"AccessList", "%%4416\r\n\t\t\t\t"})...)
	if relative != "" {
		f.security(h, t, 5145, 0, 12811, append(base, Field{"RelativeTargetName", relative}, Field{"AccessMask", "0x130197"},
			Field{"AccessList", "%%1538\r\n\t\t\t\t%%1541\r\n\t\t\t\t%%4416\r\n\t\t\t\t%%4417\r\n\t\t\t\t%%4418\r\n\t\t\t\t%%4419\r\n\t\t\t\t%%4420\r\n\t\t\t\t%%4423\r\n\t\t\t\t%%4424\r\n\t\t\t\t"},
			Field{"AccessReason", "-"})...)
	}
}

func (f *Fleet) scriptBlock(h *host, p *Process, text string) {
	h.psRec++
	t := f.eventTime(f.now())
	f.emit(h, Record{{"EventID", 4104}, {"Channel", "Microsoft-Windows-PowerShell/Operational"},
		{"Provider_Name", "Microsoft-Windows-PowerShell"}, {"Computer", h.name}, {"TimeCreated", timeCreated(t)},
		{"EventRecordID", h.psRec}, {"Provider_Guid", psGUID}, {"Version", 1}, {"Level", 5}, {"Task", 2}, {"Opcode", 15},
		{"Keywords", "0x0"}, {"Execution_ProcessID", p.PID}, {"Execution_ThreadID", p.PID + 20 + 4*f.rng.IntN(100)},
		{"Security_UserID", f.sidOf(h, p.User)}, {"MessageNumber", "1"}, {"MessageTotal", "1"}, {"ScriptBlockText", text},
		{"ScriptBlockId", fmt.Sprintf("%s-%s-%s-%s-%s", strings.ToLower(f.hex(8)), strings.ToLower(f.hex(4)), strings.ToLower(f.hex(4)),
			strings.ToLower(f.hex(4)), strings.ToLower(f.hex(12)))}, {"Path", ""}})
}

// contain sets h's containment; existing connections to addresses it may
// no longer reach close.
func (f *Fleet) contain(h *host, mode string, permitted []string) error {
	switch mode {
	case ContainIsolation, ContainAppRestrict, ContainDisableNIC:
	default:
		return fmt.Errorf("%w: device_containment %q", ErrInvalid, mode)
	}
	h.contain = Containment{Mode: mode, Permitted: slices.Clone(permitted)}
	f.touch(h, KindContainment, "")
	h.conns = slices.DeleteFunc(h.conns, func(c Connection) bool { return !reachable(h, c.RemoteIP) })
	return nil
}

func (f *Fleet) release(h *host) {
	h.contain = Containment{}
	f.touch(h, KindContainment, "")
}

// touch records, while a scenario step runs, an artifact the step changed
// (lock held).
func (f *Fleet) touch(h *host, kind ArtifactKind, key string) {
	if f.journal != nil {
		*f.journal = append(*f.journal, Artifact{Host: h.name, Kind: kind, Key: key})
	}
}

// sharePath renders a share's local path as 5140 does ("" for IPC$).
func sharePath(p string) string {
	if p == "" {
		return ""
	}
	return `\??\` + p
}
