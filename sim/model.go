package sim

import (
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"maps"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Process is a running process of a simulated host. A plain value.
type Process struct {
	PID              int       `json:"pid"`
	GUID             string    `json:"guid"` // {…} upper case, as Sysmon writes ProcessGuid
	Image            string    `json:"image"`
	CommandLine      string    `json:"command_line"`
	ParentPID        int       `json:"parent_pid,omitempty"`
	ParentGUID       string    `json:"parent_guid,omitempty"`
	User             string    `json:"user"` // DOMAIN\name
	Integrity        string    `json:"integrity"`
	CurrentDirectory string    `json:"current_directory,omitempty"`
	LogonID          string    `json:"logon_id,omitempty"`
	Start            time.Time `json:"start"`
}

// File is a file of a simulated host. Its hashes are those of its content,
// named by ContentID: two files with one ContentID (a tool copied to a
// second host) have the same hashes. A plain value.
type File struct {
	Path      string `json:"path"`
	ContentID string `json:"content_id"`
	SHA256    string `json:"sha256"` // upper-case hex, as Sysmon writes Hashes
	SHA1      string `json:"sha1"`
	MD5       string `json:"md5"`
}

// RegistryValue is one registry value. Path is the key and the value name,
// as Sysmon's TargetObject writes it (HKLM\…\Run\Name, HKU\SID\…). A plain
// value.
type RegistryValue struct {
	Path string `json:"path"`
	Type string `json:"type"` // REG_SZ, REG_EXPAND_SZ, REG_DWORD
	Data string `json:"data"`
}

// Service is an installed service. StartType is auto, demand, disabled,
// boot or system; State is running or stopped. A plain value.
type Service struct {
	Name      string `json:"name"`
	ImagePath string `json:"image_path"`
	StartType string `json:"start_type"`
	State     string `json:"state"`
	Account   string `json:"account"`
	PID       int    `json:"pid,omitempty"` // the process while running
}

// Task is a scheduled task. Name is its path (\Vendor\Name). A plain value.
type Task struct {
	Name      string `json:"name"`
	Command   string `json:"command"`
	Arguments string `json:"arguments,omitempty"`
	Trigger   string `json:"trigger"` // logon, boot, daily, weekly, once
	RunAs     string `json:"run_as"`
	Enabled   bool   `json:"enabled"`
}

// Account is a local account of a host and the local groups it belongs
// to (sorted). A plain value.
type Account struct {
	Name    string   `json:"name"`
	SID     string   `json:"sid"`
	Enabled bool     `json:"enabled"`
	Groups  []string `json:"groups,omitempty"`
}

// Connection is an open network connection of a process. A plain value.
type Connection struct {
	PID        int    `json:"pid"`
	Protocol   string `json:"protocol"`
	LocalIP    string `json:"local_ip"`
	LocalPort  int    `json:"local_port"`
	RemoteIP   string `json:"remote_ip"`
	RemotePort int    `json:"remote_port"`
	RemoteHost string `json:"remote_host,omitempty"`
}

// Containment is a host's network containment: Mode is "" (none) or one of
// the er profile's device_containment values (network_isolation,
// app_restriction, disable_nic); Permitted lists the addresses an isolated
// host may still reach. A plain value.
type Containment struct {
	Mode      string   `json:"mode,omitempty"`
	Permitted []string `json:"permitted,omitempty"`
}

// The device_containment values of the er profile.
const (
	ContainIsolation   = "network_isolation"
	ContainAppRestrict = "app_restriction"
	ContainDisableNIC  = "disable_nic"
)

// Config is the fleet's configuration. A plain value.
type Config struct {
	// Seed drives every random choice (pids, GUIDs, ports, logon ids).
	Seed int64
	// Domain is the NetBIOS name of the domain the hosts belong to.
	Domain string
	// DNSDomain is its DNS name; hosts are named HOST.DNSDomain.
	DNSDomain string
	// IDPrefix starts every event's _id ("sim-<seed>" when empty).
	IDPrefix string
	// MaxEvents bounds the events the fleet keeps for Events; later ones
	// still reach the observer and are counted in Stats.DroppedEvents.
	MaxEvents int
	// MaxObjects bounds each kind of object (processes, files, registry
	// values, services, tasks, accounts, connections) per host; past it
	// an operation fails with ErrLimit.
	MaxObjects int
}

// DefaultConfig returns the configuration New uses when given the zero
// Config's fields.
func DefaultConfig() Config {
	return Config{Domain: "CORP", DNSDomain: "corp.example", MaxEvents: 1 << 20, MaxObjects: 1 << 16}
}

// Validate reports a configuration New would refuse.
func (c Config) Validate() error {
	if c.MaxEvents < 0 || c.MaxObjects < 0 {
		return fmt.Errorf("%w: config: negative limit", ErrInvalid)
	}
	if strings.ContainsAny(c.Domain, `\/ `) {
		return fmt.Errorf("%w: config: domain %q", ErrInvalid, c.Domain)
	}
	return nil
}

// Option adjusts a Fleet being built.
type Option func(*Fleet) error

// WithClock makes the fleet read time from c instead of its own SimClock.
func WithClock(c Clock) Option {
	return func(f *Fleet) error {
		if c == nil {
			return fmt.Errorf("%w: nil clock", ErrInvalid)
		}
		f.clock = c
		return nil
	}
}

// WithObserver calls fn for every event, in order, while the fleet's lock
// is held: fn must be quick and must not call the fleet.
func WithObserver(fn func(Emitted)) Option {
	return func(f *Fleet) error {
		f.observer = fn
		return nil
	}
}

// Emitted is one event the fleet emitted: its sequence number (from 0),
// the host, the label of what caused it (a scenario's attack step, "benign",
// "response", or "" for direct calls) and the record.
type Emitted struct {
	Seq    int
	Host   string
	Label  string
	Record Record
}

// Stats counts what a fleet did.
type Stats struct {
	Events        int   // events emitted
	DroppedEvents int64 // events not kept because of Config.MaxEvents
	// DroppedSessions counts logons whose session a host did not keep
	// (past Config.MaxObjects sessions).
	DroppedSessions int64
	Hosts           int
}

// Fleet is a simulated fleet of Windows hosts. Every change to a host
// emits the events Windows and Sysmon would write for it. All methods are
// safe for concurrent use: one mutex guards the fleet, so operations are
// applied (and their events numbered) one at a time.
type Fleet struct {
	mu              sync.Mutex
	cfg             Config
	clock           Clock
	rng             *rand.Rand
	hosts           map[string]*host // lower-case short and full names
	order           []*host
	domSID          string
	log             []Emitted
	seq             int
	dropped         int64
	observer        func(Emitted)
	label           string      // label of the events being emitted (lock held)
	lastStamp       time.Time   // when the last event happened (see eventTime)
	journal         *[]Artifact // while a scenario step runs: what it changed
	droppedSessions int64
	contentMeta     map[string]imageMeta // version resource of a content id, as first seen
}

// New returns an empty fleet.
func New(cfg Config, opts ...Option) (*Fleet, error) {
	d := DefaultConfig()
	if cfg.Domain == "" {
		cfg.Domain = d.Domain
	}
	if cfg.DNSDomain == "" {
		cfg.DNSDomain = d.DNSDomain
	}
	if cfg.MaxEvents == 0 {
		cfg.MaxEvents = d.MaxEvents
	}
	if cfg.MaxObjects == 0 {
		cfg.MaxObjects = d.MaxObjects
	}
	if cfg.IDPrefix == "" {
		cfg.IDPrefix = "sim-" + strconv.FormatInt(cfg.Seed, 10)
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	f := &Fleet{cfg: cfg, rng: rand.New(rand.NewPCG(uint64(cfg.Seed), 0x73696d)), hosts: map[string]*host{}, contentMeta: map[string]imageMeta{}}
	f.clock = NewSimClock(DefaultStart, time.Millisecond)
	for _, o := range opts {
		if err := o(f); err != nil {
			return nil, err
		}
	}
	f.domSID = fmt.Sprintf("S-1-5-21-%d-%d-%d", 1000000000+f.rng.IntN(999999999), 1000000000+f.rng.IntN(999999999), 100000000+f.rng.IntN(999999999))
	return f, nil
}

// Clock returns the fleet's clock.
func (f *Fleet) Clock() Clock { return f.clock }

// Config returns the fleet's configuration.
func (f *Fleet) Config() Config { return f.cfg }

// HostSpec describes a host to add. Name is its short name (WKS-FIN07);
// Role is "workstation" (Office, a browser) or "server".
type HostSpec struct {
	Name string
	IP   string
	Role string
}

// host is one simulated machine; guarded by the fleet's mutex.
type host struct {
	name, short, ip, role string
	machineSID            string
	guidPre               string
	guidSeq               int
	procs                 map[int]*Process
	byGUID                map[string]*Process
	files                 map[string]*File
	reg                   map[string]*RegistryValue
	services              map[string]*Service
	tasks                 map[string]*Task
	accounts              map[string]*Account
	groups                map[string]*group
	conns                 []Connection
	contain               Containment
	quarantine            map[string]*File
	deletedServices       map[string]Service
	sessions              map[string]string // lower DOMAIN\name → logon id
	sysmonRec, secRec     int
	sysRec, psRec         int
	sysmonPID, lsassPID   int
	servicesPID, schedPID int
	nextRID               int
}

type group struct {
	name    string
	sid     string
	members []string // DOMAIN\name, as added
}

// Hosts returns the full names of the fleet's hosts, in the order added.
func (f *Fleet) Hosts() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]string, len(f.order))
	for i, h := range f.order {
		out[i] = h.name
	}
	return out
}

// HostName returns the full name (Computer) of a host given by short or
// full name.
func (f *Fleet) HostName(name string) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	h, err := f.host(name)
	if err != nil {
		return "", err
	}
	return h.name, nil
}

// HostIP returns a host's address.
func (f *Fleet) HostIP(name string) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	h, err := f.host(name)
	if err != nil {
		return "", err
	}
	return h.ip, nil
}

// sortedPIDs returns a host's pids in order (lock held).
func sortedPIDs(h *host) []int {
	return slices.Sorted(maps.Keys(h.procs))
}

func (f *Fleet) host(name string) (*host, error) {
	h, ok := f.hosts[strings.ToLower(name)]
	if !ok {
		return nil, fmt.Errorf("%w: host %q", ErrNotFound, name)
	}
	return h, nil
}

// Stats returns the fleet's counters.
func (f *Fleet) Stats() Stats {
	f.mu.Lock()
	defer f.mu.Unlock()
	return Stats{Events: f.seq, DroppedEvents: f.dropped, DroppedSessions: f.droppedSessions, Hosts: len(f.order)}
}

// Events returns the kept events with sequence number from and later.
func (f *Fleet) Events(from int) []Emitted {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.log) == 0 {
		return nil
	}
	base := f.log[0].Seq
	i := max(0, from-base)
	if i >= len(f.log) {
		return nil
	}
	return slices.Clone(f.log[i:])
}

// WriteNDJSON writes the kept events from sequence number from on, one
// JSON object per line.
func (f *Fleet) WriteNDJSON(w io.Writer, from int) error {
	var buf []byte
	for _, e := range f.Events(from) {
		buf = e.Record.AppendJSON(buf[:0])
		buf = append(buf, '\n')
		if _, err := w.Write(buf); err != nil {
			return err
		}
	}
	return nil
}

// AddHost adds a Windows host in its state after boot: the system
// processes, the Windows binaries, the usual services, scheduled tasks,
// registry values and local accounts and groups. Nothing is logged for
// what exists at boot.
func (f *Fleet) AddHost(spec HostSpec) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if spec.Name == "" || strings.ContainsAny(spec.Name, `\/. `) {
		return fmt.Errorf("%w: host name %q", ErrInvalid, spec.Name)
	}
	if _, ok := f.hosts[strings.ToLower(spec.Name)]; ok {
		return fmt.Errorf("%w: host %q", ErrExists, spec.Name)
	}
	if spec.IP == "" {
		spec.IP = fmt.Sprintf("10.20.%d.%d", 1+f.rng.IntN(8), 10+f.rng.IntN(240))
	}
	if spec.Role == "" {
		spec.Role = "workstation"
	}
	h := &host{name: spec.Name + "." + f.cfg.DNSDomain, short: spec.Name, ip: spec.IP, role: spec.Role,
		machineSID: fmt.Sprintf("S-1-5-21-%d-%d-%d", 1000000000+f.rng.IntN(999999999), 1000000000+f.rng.IntN(999999999), 100000000+f.rng.IntN(999999999)),
		guidPre:    f.hex(8), procs: map[int]*Process{}, byGUID: map[string]*Process{}, files: map[string]*File{},
		reg: map[string]*RegistryValue{}, services: map[string]*Service{}, tasks: map[string]*Task{},
		accounts: map[string]*Account{}, groups: map[string]*group{}, quarantine: map[string]*File{},
		sessions: map[string]string{}, nextRID: 1001}
	h.sysmonRec = 10000 + f.rng.IntN(90000)
	h.secRec = 100000 + f.rng.IntN(900000)
	h.sysRec = 1000 + f.rng.IntN(9000)
	h.psRec = 1000 + f.rng.IntN(9000)
	f.boot(h)
	f.hosts[strings.ToLower(h.short)] = h
	f.hosts[strings.ToLower(h.name)] = h
	f.order = append(f.order, h)
	return nil
}

const (
	userSystem  = `NT AUTHORITY\SYSTEM`
	userLocal   = `NT AUTHORITY\LOCAL SERVICE`
	userNetwork = `NT AUTHORITY\NETWORK SERVICE`
	sensorImage = `C:\Program Files\mdrkit\sensor\mdrsensor.exe`
)

// windowsBinaries are the System32 programs every host has.
var windowsBinaries = []string{"cmd.exe", "WindowsPowerShell\\v1.0\\powershell.exe", "svchost.exe", "lsass.exe", "services.exe",
	"smss.exe", "csrss.exe", "wininit.exe", "winlogon.exe", "userinit.exe", "rundll32.exe", "regsvr32.exe", "certutil.exe",
	"schtasks.exe", "sc.exe", "net.exe", "net1.exe", "whoami.exe", "reg.exe", "vssadmin.exe", "wbem\\WMIC.exe", "wbadmin.exe",
	"bcdedit.exe", "taskhostw.exe", "nltest.exe", "ipconfig.exe", "spoolsv.exe", "conhost.exe", "mshta.exe", "wevtutil.exe",
	"msiexec.exe", "notepad.exe", "tasklist.exe", "timeout.exe", "wscript.exe", "cscript.exe", "comsvcs.dll"}

// boot builds a host's state after boot (lock held).
func (f *Fleet) boot(h *host) {
	now := f.clock.Now().Add(-2 * time.Hour)
	add := func(parent *Process, pid int, image, cmd, user, il string) *Process {
		p := &Process{PID: pid, GUID: f.newGUID(h, now), Image: image, CommandLine: cmd, User: user, Integrity: il,
			CurrentDirectory: `C:\Windows\system32\`, LogonID: "0x3e7", Start: now}
		if parent != nil {
			p.ParentPID, p.ParentGUID = parent.PID, parent.GUID
		}
		h.procs[pid] = p
		h.byGUID[p.GUID] = p
		return p
	}
	sys32 := `C:\Windows\System32\`
	system := add(nil, 4, "System", "", userSystem, "System")
	smss := add(system, 300+4*f.rng.IntN(20), sys32+"smss.exe", `\SystemRoot\System32\smss.exe`, userSystem, "System")
	add(smss, 400+4*f.rng.IntN(20), sys32+"csrss.exe", `%SystemRoot%\system32\csrss.exe ObjectDirectory=\Windows SharedSection=1024,20480,768 Windows=On SubSystemType=Windows ServerDll=basesrv,1 ServerDll=winsrv:UserServerDllInitialization,3 ServerDll=sxssrv,4 ProfileControl=Off MaxRequestThreads=16`, userSystem, "System")
	wininit := add(smss, 500+4*f.rng.IntN(20), sys32+"wininit.exe", "wininit.exe", userSystem, "System")
	services := add(wininit, 600+4*f.rng.IntN(20), sys32+"services.exe", `C:\Windows\system32\services.exe`, userSystem, "System")
	lsass := add(wininit, 700+4*f.rng.IntN(20), sys32+"lsass.exe", `C:\Windows\system32\lsass.exe`, userSystem, "System")
	h.lsassPID = lsass.PID
	h.servicesPID = services.PID
	add(smss, 800+4*f.rng.IntN(20), sys32+"winlogon.exe", "winlogon.exe", userSystem, "System")
	svcProc := func(name, cmd, user string) *Process {
		return add(services, 900+4*f.rng.IntN(3000), sys32+name, cmd, user, "System")
	}
	sched := svcProc("svchost.exe", `C:\Windows\system32\svchost.exe -k netsvcs -p -s Schedule`, userSystem)
	h.schedPID = sched.PID
	evlog := svcProc("svchost.exe", `C:\Windows\System32\svchost.exe -k LocalServiceNetworkRestricted -p -s EventLog`, userLocal)
	dnscache := svcProc("svchost.exe", `C:\Windows\system32\svchost.exe -k NetworkService -p -s Dnscache`, userNetwork)
	spool := svcProc("spoolsv.exe", `C:\Windows\System32\spoolsv.exe`, userSystem)
	lanman := svcProc("svchost.exe", `C:\Windows\system32\svchost.exe -k netsvcs -p -s LanmanServer`, userSystem)
	sensor := add(services, 2000+4*f.rng.IntN(500), sensorImage, `"`+sensorImage+`" --service`, userSystem, "System")
	h.sysmonPID = sensor.PID
	for _, b := range windowsBinaries {
		f.putFile(h, sys32+b, "windows-10.0.19045:"+strings.ToLower(b))
	}
	f.putFile(h, `C:\Windows\explorer.exe`, "windows-10.0.19045:explorer.exe")
	f.putFile(h, sensorImage, "mdrkit-sensor-1.0")
	if h.role == "workstation" {
		for _, p := range []string{`C:\Program Files\Microsoft Office\root\Office16\WINWORD.EXE`, `C:\Program Files\Microsoft Office\root\Office16\EXCEL.EXE`,
			`C:\Program Files\Microsoft Office\root\Office16\OUTLOOK.EXE`, `C:\Program Files\Google\Chrome\Application\chrome.exe`} {
			f.putFile(h, p, "vendor:"+strings.ToLower(p))
		}
	}
	svc := func(name, image, start, account string, p *Process) {
		s := &Service{Name: name, ImagePath: image, StartType: start, State: "stopped", Account: account}
		if p != nil {
			s.State, s.PID = "running", p.PID
		}
		h.services[strings.ToLower(name)] = s
		f.putServiceKeys(h, s)
	}
	svc("Schedule", `%systemroot%\system32\svchost.exe -k netsvcs -p`, "auto", "LocalSystem", sched)
	svc("EventLog", `%SystemRoot%\System32\svchost.exe -k LocalServiceNetworkRestricted -p`, "auto", `NT AUTHORITY\LocalService`, evlog)
	svc("Dnscache", `%SystemRoot%\system32\svchost.exe -k NetworkService -p`, "auto", `NT AUTHORITY\NetworkService`, dnscache)
	svc("Spooler", `%SystemRoot%\System32\spoolsv.exe`, "auto", "LocalSystem", spool)
	svc("LanmanServer", `%SystemRoot%\system32\svchost.exe -k netsvcs -p`, "auto", "LocalSystem", lanman)
	svc("mdrsensor", `"`+sensorImage+`" --service`, "auto", "LocalSystem", sensor)
	svc("wuauserv", `%systemroot%\system32\svchost.exe -k netsvcs -p`, "demand", "LocalSystem", nil)
	svc("RemoteRegistry", `%SystemRoot%\system32\svchost.exe -k localService -p`, "disabled", `NT AUTHORITY\LocalService`, nil)
	task := func(name, cmd, args, trigger string) {
		h.tasks[strings.ToLower(name)] = &Task{Name: name, Command: cmd, Arguments: args, Trigger: trigger, RunAs: "SYSTEM", Enabled: true}
		f.putFile(h, `C:\Windows\System32\Tasks`+name, "task:"+strings.ToLower(name))
	}
	task(`\Microsoft\Windows\Defrag\ScheduledDefrag`, `%windir%\system32\defrag.exe`, "-c -h -o -$", "weekly")
	task(`\Microsoft\Windows\UpdateOrchestrator\Schedule Scan`, `%systemroot%\system32\usoclient.exe`, "StartScan", "daily")
	task(`\Microsoft\Windows\WindowsUpdate\Scheduled Start`, `C:\Windows\system32\sc.exe`, "start wuauserv", "daily")
	f.putReg(h, `HKLM\SOFTWARE\Microsoft\Windows\CurrentVersion\Run\SecurityHealth`, "REG_EXPAND_SZ", `%windir%\system32\SecurityHealthSystray.exe`)
	f.putReg(h, `HKLM\SOFTWARE\Microsoft\Windows NT\CurrentVersion\Winlogon\Userinit`, "REG_SZ", `C:\Windows\system32\userinit.exe,`)
	f.putReg(h, `HKLM\SOFTWARE\Microsoft\Windows NT\CurrentVersion\Winlogon\Shell`, "REG_SZ", "explorer.exe")
	f.putReg(h, `HKLM\System\CurrentControlSet\Control\Lsa\RunAsPPL`, "REG_DWORD", "DWORD (0x00000000)")
	grp := func(name, rid string, members ...string) {
		h.groups[strings.ToLower(name)] = &group{name: name, sid: "S-1-5-32-" + rid, members: members}
	}
	acct := func(name string, rid int, enabled bool) {
		h.accounts[strings.ToLower(name)] = &Account{Name: name, SID: h.machineSID + "-" + strconv.Itoa(rid), Enabled: enabled}
	}
	acct("Administrator", 500, false)
	acct("Guest", 501, false)
	acct("DefaultAccount", 503, false)
	acct("WDAGUtilityAccount", 504, false)
	dom := f.cfg.Domain
	grp("Administrators", "544", h.short+`\Administrator`, dom+`\Domain Admins`)
	grp("Users", "545", dom+`\Domain Users`)
	grp("Guests", "546", h.short+`\Guest`)
	grp("Remote Desktop Users", "555")
	grp("Backup Operators", "551")
}

// hex returns n random upper-case hex digits (lock held).
func (f *Fleet) hex(n int) string {
	const digits = "0123456789ABCDEF"
	b := make([]byte, n)
	for i := range b {
		b[i] = digits[f.rng.IntN(16)]
	}
	return string(b)
}

// newGUID returns a Sysmon-style process GUID: the machine part, the
// process start time, a counter (lock held).
func (f *Fleet) newGUID(h *host, t time.Time) string {
	h.guidSeq++
	return fmt.Sprintf("{%s-%04X-%04X-%04X-%012X}", h.guidPre, (t.Unix()>>16)&0xffff, t.Unix()&0xffff,
		f.rng.IntN(0x10000), uint64(h.guidSeq)<<40|uint64(0x0A00))
}

// ContentHashes returns the SHA256, SHA1 and MD5 (upper-case hex) of the
// content named id: the hashes of the bytes of id itself, so that they are
// real hashes of something and stable across runs.
func ContentHashes(id string) (sha256Hex, sha1Hex, md5Hex string) {
	s := sha256.Sum256([]byte(id))
	s1 := sha1.Sum([]byte(id))
	m := md5.Sum([]byte(id))
	return strings.ToUpper(hex.EncodeToString(s[:])), strings.ToUpper(hex.EncodeToString(s1[:])), strings.ToUpper(hex.EncodeToString(m[:]))
}

func newFile(path, content string) *File {
	s, s1, m := ContentHashes(content)
	return &File{Path: path, ContentID: content, SHA256: s, SHA1: s1, MD5: m}
}

// putFile stores a file without telemetry (lock held).
func (f *Fleet) putFile(h *host, path, content string) *File {
	fl := newFile(path, content)
	h.files[strings.ToLower(path)] = fl
	return fl
}

// putReg stores a registry value without telemetry (lock held).
func (f *Fleet) putReg(h *host, path, typ, data string) {
	h.reg[strings.ToLower(path)] = &RegistryValue{Path: path, Type: typ, Data: data}
}

// serviceKey is the registry key of a service.
func serviceKey(name string) string { return `HKLM\System\CurrentControlSet\Services\` + name }

// startValue is the registry Start value of a start type.
func startValue(st string) int {
	switch st {
	case "boot":
		return 0
	case "system":
		return 1
	case "auto":
		return 2
	case "disabled":
		return 4
	}
	return 3
}

func dword(n int) string { return fmt.Sprintf("DWORD (0x%08x)", n) }

// putServiceKeys stores a service's registry values (lock held).
func (f *Fleet) putServiceKeys(h *host, s *Service) {
	k := serviceKey(s.Name)
	f.putReg(h, k+`\ImagePath`, "REG_EXPAND_SZ", s.ImagePath)
	f.putReg(h, k+`\Start`, "REG_DWORD", dword(startValue(s.StartType)))
	f.putReg(h, k+`\ObjectName`, "REG_SZ", s.Account)
}

// sidOf returns the SID of DOMAIN\name as seen on h (lock held).
func (f *Fleet) sidOf(h *host, user string) string {
	switch strings.ToUpper(user) {
	case userSystem, "SYSTEM", "LOCALSYSTEM":
		return "S-1-5-18"
	case userNetwork:
		return "S-1-5-20"
	case userLocal:
		return "S-1-5-19"
	}
	dom, name := splitUser(user)
	if h != nil && strings.EqualFold(dom, h.short) {
		if a, ok := h.accounts[strings.ToLower(name)]; ok {
			return a.SID
		}
	}
	if strings.EqualFold(name, "Domain Admins") {
		return f.domSID + "-512"
	}
	rid := 1100
	for _, c := range strings.ToLower(name) {
		rid += int(c)
	}
	return f.domSID + "-" + strconv.Itoa(rid)
}

// splitUser splits DOMAIN\name; a bare name has an empty domain.
func splitUser(u string) (dom, name string) {
	if i := strings.IndexByte(u, '\\'); i >= 0 {
		return u[:i], u[i+1:]
	}
	return "", u
}
