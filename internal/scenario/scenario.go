package scenario

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"
	"unicode/utf16"
)

// Config chooses the scenario. The zero value is usable (seed 0, the
// default start time). A Config is a plain value, safe for concurrent use.
type Config struct {
	// Seed drives every random choice.
	Seed int64
	// Start is the time of the first event; zero means DefaultStart.
	Start time.Time
}

// DefaultStart is the time of the first event when Config.Start is zero.
var DefaultStart = time.Date(2026, 3, 2, 8, 55, 0, 0, time.UTC)

// Field is one key and value of a generated event; values are strings or
// integers, in the order a real export writes them. Safe for concurrent
// reads.
type Field struct {
	Key   string
	Value any // string or int
}

// Record is one generated event, its fields in order. Safe for concurrent
// reads; not to be modified while shared.
type Record []Field

// Get returns the value of key.
func (r Record) Get(key string) (any, bool) {
	for _, f := range r {
		if f.Key == key {
			return f.Value, true
		}
	}
	return nil, false
}

// Str returns the value of key as text ("" when absent).
func (r Record) Str(key string) string {
	v, ok := r.Get(key)
	if !ok {
		return ""
	}
	switch x := v.(type) {
	case string:
		return x
	case int:
		return strconv.Itoa(x)
	}
	return fmt.Sprint(v)
}

// MarshalJSON writes the record as one flat JSON object, fields in order.
func (r Record) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	b.WriteByte('{')
	for i, f := range r {
		if i > 0 {
			b.WriteString(", ")
		}
		if err := enc.Encode(f.Key); err != nil {
			return nil, err
		}
		b.Truncate(b.Len() - 1) // Encode appends a newline
		b.WriteString(": ")
		if err := enc.Encode(f.Value); err != nil {
			return nil, fmt.Errorf("field %s: %w", f.Key, err)
		}
		b.Truncate(b.Len() - 1)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// Facts are the ground truth of a generated scenario: what a reader of the
// events should find. A plain value, safe for concurrent use.
type Facts struct {
	Domain         string // NetBIOS domain, "CORP"
	Workstation    string // Computer of the first host, as written
	WorkstationIP  string
	Server         string // Computer of the second host
	ServerIP       string
	User           string // DOMAIN\name of the victim
	Admin          string // DOMAIN\name of the stolen admin account
	Document       string // the macro document's path
	EncodedCommand string // the -enc argument
	DecodedCommand string // its UTF-16LE text
	C2Domain       string
	C2IP           string
	C2Port         int
	Tool           string // the dropped tool on the workstation
	ToolOnServer   string // the tool copied to the server
	ToolHash       string // its SHA256
	RunKey         string // registry value set for persistence
	Task           string // scheduled task name
	Service        string // service installed on the server
	LsassAccess    string // GrantedAccess of the credential dump
	// Process GUIDs (with braces, upper case, as Sysmon writes them).
	WordGUID, PowerShellGUID, ToolGUID, ServerToolGUID, LsassGUID string
	AttackEvents                                                  int // events that belong to the attack
	NoiseEvents                                                   int // benign events mixed in
}

// Scenario is a generated event log and its facts. It is not modified
// after Generate and is safe for concurrent reads (WriteNDJSON included).
type Scenario struct {
	Events []Record
	Facts  Facts
	steps  []Step // per event: the attack step, or NoStep for benign activity
}

// Step is the stage of the story an event belongs to. Benign activity
// (the background processes, logons and the noise mixed in) is NoStep.
type Step string

// The attack steps, in story order.
const (
	NoStep          Step = ""
	StepDelivery    Step = "delivery"          // Outlook saves the document, Word opens it
	StepExecution   Step = "execution"         // Word starts encoded PowerShell, download
	StepCredentials Step = "credential-access" // the tool opens lsass
	StepPersistence Step = "persistence"       // Run key and scheduled task
	StepLateral     Step = "lateral-movement"  // explicit credentials, ADMIN$, remote service
	StepDiscovery   Step = "discovery"         // the service runs discovery commands on the server
)

// Steps lists the attack steps in story order.
var Steps = []Step{StepDelivery, StepExecution, StepCredentials, StepPersistence, StepLateral, StepDiscovery}

// StepOf returns the attack step of event i (an index into Events), or
// NoStep when the event is benign or i is out of range.
func (s *Scenario) StepOf(i int) Step {
	if i < 0 || i >= len(s.steps) {
		return NoStep
	}
	return s.steps[i]
}

// WriteNDJSON writes the events one JSON object per line.
func (s *Scenario) WriteNDJSON(w io.Writer) error {
	for i, r := range s.Events {
		b, err := r.MarshalJSON()
		if err != nil {
			return fmt.Errorf("scenario event %d: %w", i, err)
		}
		b = append(b, '\n')
		if _, err := w.Write(b); err != nil {
			return err
		}
	}
	return nil
}

// EncodePowerShell returns the -EncodedCommand form of a script: base64 of
// its UTF-16LE bytes.
func EncodePowerShell(script string) string {
	u := utf16.Encode([]rune(script))
	b := make([]byte, 2*len(u))
	for i, c := range u {
		binary.LittleEndian.PutUint16(b[2*i:], c)
	}
	return base64.StdEncoding.EncodeToString(b)
}

// DecodePowerShell reverses EncodePowerShell.
func DecodePowerShell(enc string) (string, error) {
	b, err := base64.StdEncoding.DecodeString(strings.TrimSpace(enc))
	if err != nil {
		return "", fmt.Errorf("encoded command: %w", err)
	}
	if len(b)%2 != 0 {
		return "", fmt.Errorf("encoded command: odd UTF-16 length %d", len(b))
	}
	u := make([]uint16, len(b)/2)
	for i := range u {
		u[i] = binary.LittleEndian.Uint16(b[2*i:])
	}
	return string(utf16.Decode(u)), nil
}

// host is one machine of the story.
type host struct {
	name      string // Computer
	short     string
	ip        string
	guidPre   string // the first GUID group Sysmon uses on this host
	sysmonRec int
	secRec    int
	sysRec    int
	psRec     int
	sysmonPID int // Sysmon service pid (Execution_ProcessID)
	lsassPID  int
	guidSeq   int
}

// proc is one process of the story.
type proc struct {
	h       *host
	guid    string
	pid     int
	image   string
	cmdline string
	user    string // DOMAIN\name
	il      string // integrity level
	cwd     string
	logonID string
	start   time.Time
	parent  *proc
}

type gen struct {
	r       *rand.Rand
	t       time.Time
	events  []Record
	attack  int
	noise   int
	inNoise bool
	step    Step
	steps   []Step
	n       int
	seed    int64
	domSID  string
}

const (
	sysmonChannel = "Microsoft-Windows-Sysmon/Operational"
	sysmonGUID    = "{5770385F-C22A-43E0-BF4C-06F5698FFBD9}"
	secGUID       = "{54849625-5478-4994-A5BA-3E3B0328C30D}"
	scmGUID       = "{555908D1-A6D7-4695-8E1E-26931D2012F4}"
	psGUIDProv    = "{A0C1853B-5C40-4B15-8766-3CF1C58F985A}"
)

func (g *gen) hex(n int) string {
	const digits = "0123456789ABCDEF"
	b := make([]byte, n)
	for i := range b {
		b[i] = digits[g.r.IntN(16)]
	}
	return string(b)
}

// advance moves the clock by a random duration between lo and hi.
func (g *gen) advance(lo, hi time.Duration) {
	g.t = g.t.Add(lo + time.Duration(g.r.Int64N(int64(hi-lo)+1)))
}

func timeCreated(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.0000000Z") }
func utcTime(t time.Time) string     { return t.UTC().Format("2006-01-02 15:04:05.000") }

func (g *gen) emit(r Record) {
	g.n++
	r = append(r, Field{"_id", fmt.Sprintf("demo-%d:%d", g.seed, g.n)})
	g.events = append(g.events, r)
	if g.inNoise {
		g.noise++
		g.steps = append(g.steps, NoStep)
	} else {
		g.attack++
		g.steps = append(g.steps, g.step)
	}
}

func (g *gen) newGUID(h *host) string {
	h.guidSeq++
	// Sysmon's process GUIDs: a machine part, the process start time in
	// seconds (low bits), then a counter.
	return fmt.Sprintf("{%s-%04X-%04X-%04X-%012X}", h.guidPre, (g.t.Unix()>>16)&0xffff, g.t.Unix()&0xffff,
		g.r.IntN(0x10000), uint64(h.guidSeq)<<40|uint64(0x0A00))
}

func (g *gen) sysmonEvent(h *host, id, version int, fields ...Field) {
	h.sysmonRec++
	r := Record{
		{"EventID", id}, {"Channel", sysmonChannel}, {"Provider_Name", "Microsoft-Windows-Sysmon"},
		{"Computer", h.name}, {"TimeCreated", timeCreated(g.t.Add(time.Duration(1+g.r.IntN(4)) * time.Millisecond))},
		{"EventRecordID", h.sysmonRec}, {"Provider_Guid", sysmonGUID}, {"Version", version}, {"Level", 4},
		{"Task", id}, {"Opcode", 0}, {"Keywords", "0x8000000000000000"}, {"Execution_ProcessID", h.sysmonPID},
		{"Execution_ThreadID", h.sysmonPID + 4 + 4*g.r.IntN(100)}, {"Security_UserID", "S-1-5-18"},
		{"RuleName", "-"}, {"UtcTime", utcTime(g.t)},
	}
	g.emit(append(r, fields...))
}

func (g *gen) securityEvent(h *host, id, version, task int, fields ...Field) {
	h.secRec++
	r := Record{
		{"EventID", id}, {"Channel", "Security"}, {"Provider_Name", "Microsoft-Windows-Security-Auditing"},
		{"Computer", h.name}, {"TimeCreated", timeCreated(g.t.Add(time.Duration(g.r.IntN(3)) * time.Millisecond))},
		{"EventRecordID", h.secRec}, {"Provider_Guid", secGUID}, {"Version", version}, {"Level", 0},
		{"Task", task}, {"Opcode", 0}, {"Keywords", "0x8020000000000000"}, {"Execution_ProcessID", h.lsassPID},
		{"Execution_ThreadID", h.lsassPID + 8 + 4*g.r.IntN(200)},
	}
	g.emit(append(r, fields...))
}

func hexPID(pid int) string { return "0x" + strconv.FormatInt(int64(pid), 16) }

func splitUser(u string) (dom, name string) {
	i := strings.IndexByte(u, '\\')
	return u[:i], u[i+1:]
}

// start creates a process: Sysmon 1 and Security 4688.
func (g *gen) start(h *host, parent *proc, image, cmdline, user, il, cwd, logonID string, hashes, orig, desc, company string) *proc {
	p := &proc{h: h, guid: g.newGUID(h), pid: 4 * (300 + g.r.IntN(4000)), image: image, cmdline: cmdline, user: user,
		il: il, cwd: cwd, logonID: logonID, start: g.t, parent: parent}
	if hashes == "" {
		hashes = "SHA1=" + g.hex(40) + ",MD5=" + g.hex(32) + ",SHA256=" + g.hex(64) + ",IMPHASH=" + g.hex(32)
	}
	fields := []Field{
		{"ProcessGuid", p.guid}, {"ProcessId", strconv.Itoa(p.pid)}, {"Image", image},
		{"FileVersion", "-"}, {"Description", desc}, {"Product", "-"}, {"Company", company}, {"OriginalFileName", orig},
		{"CommandLine", cmdline}, {"CurrentDirectory", cwd}, {"User", user},
		{"LogonGuid", fmt.Sprintf("{%s-%s-%s-%s-%s}", h.guidPre, g.hex(4), g.hex(4), g.hex(4), g.hex(12))},
		{"LogonId", logonID}, {"TerminalSessionId", "1"}, {"IntegrityLevel", il}, {"Hashes", hashes},
	}
	if parent != nil {
		fields = append(fields, Field{"ParentProcessGuid", parent.guid}, Field{"ParentProcessId", strconv.Itoa(parent.pid)},
			Field{"ParentImage", parent.image}, Field{"ParentCommandLine", parent.cmdline}, Field{"ParentUser", parent.user})
	}
	g.sysmonEvent(h, 1, 5, fields...)
	dom, name := splitUser(user)
	sid := g.sidOf(user)
	ppid := 4
	parentName := "-"
	if parent != nil {
		ppid, parentName = parent.pid, parent.image
	}
	g.securityEvent(h, 4688, 2, 13312,
		Field{"SubjectUserSid", sid}, Field{"SubjectUserName", name}, Field{"SubjectDomainName", dom},
		Field{"SubjectLogonId", logonID}, Field{"NewProcessId", hexPID(p.pid)}, Field{"NewProcessName", image},
		Field{"TokenElevationType", "%%1938"}, Field{"ProcessId", hexPID(ppid)}, Field{"CommandLine", cmdline},
		Field{"TargetUserSid", "S-1-0-0"}, Field{"TargetUserName", "-"}, Field{"TargetDomainName", "-"},
		Field{"TargetLogonId", "0x0"}, Field{"ParentProcessName", parentName},
		Field{"MandatoryLabel", label(il)})
	return p
}

// label returns the mandatory label SID of an integrity level.
func label(il string) string {
	switch il {
	case "High":
		return "S-1-16-12288"
	case "System":
		return "S-1-16-16384"
	}
	return "S-1-16-8192"
}

func (g *gen) sidOf(user string) string {
	switch strings.ToUpper(user) {
	case `NT AUTHORITY\SYSTEM`:
		return "S-1-5-18"
	case `NT AUTHORITY\NETWORK SERVICE`:
		return "S-1-5-20"
	case `NT AUTHORITY\LOCAL SERVICE`:
		return "S-1-5-19"
	}
	_, name := splitUser(user)
	rid := 1100
	for _, c := range strings.ToLower(name) {
		rid += int(c)
	}
	return g.domSID + "-" + strconv.Itoa(rid)
}

func (g *gen) procFields(p *proc) []Field {
	return []Field{{"ProcessGuid", p.guid}, {"ProcessId", strconv.Itoa(p.pid)}, {"Image", p.image}}
}

func (g *gen) fileCreate(p *proc, path string) {
	g.sysmonEvent(p.h, 11, 2, append(g.procFields(p), Field{"TargetFilename", path},
		Field{"CreationUtcTime", utcTime(g.t)}, Field{"User", p.user})...)
}

func (g *gen) netConn(p *proc, proto, dstIP string, dstPort int, dstHost string) {
	port := 49700 + g.r.IntN(15000)
	g.sysmonEvent(p.h, 3, 5, append(g.procFields(p), Field{"User", p.user}, Field{"Protocol", proto}, Field{"Initiated", "true"},
		Field{"SourceIsIpv6", "false"}, Field{"SourceIp", p.h.ip}, Field{"SourceHostname", p.h.name}, Field{"SourcePort", strconv.Itoa(port)},
		Field{"SourcePortName", "-"}, Field{"DestinationIsIpv6", "false"}, Field{"DestinationIp", dstIP},
		Field{"DestinationHostname", orDash(dstHost)}, Field{"DestinationPort", strconv.Itoa(dstPort)},
		Field{"DestinationPortName", map[int]string{80: "http", 443: "https", 445: "microsoft-ds"}[dstPort]})...)
	// The Windows Filtering Platform sees the same connection.
	g.securityEvent(p.h, 5156, 1, 12810, Field{"ProcessID", strconv.Itoa(p.pid)},
		Field{"Application", `\device\harddiskvolume3` + strings.ToLower(p.image[2:])}, Field{"Direction", "%%14593"},
		Field{"SourceAddress", p.h.ip}, Field{"SourcePort", strconv.Itoa(port)}, Field{"DestAddress", dstIP},
		Field{"DestPort", strconv.Itoa(dstPort)}, Field{"Protocol", "6"}, Field{"FilterRTID", "0"},
		Field{"LayerName", "%%14611"}, Field{"LayerRTID", "48"}, Field{"RemoteUserID", "S-1-0-0"}, Field{"RemoteMachineID", "S-1-0-0"})
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func (g *gen) dns(p *proc, name, result string) {
	g.sysmonEvent(p.h, 22, 5, Field{"ProcessGuid", p.guid}, Field{"ProcessId", strconv.Itoa(p.pid)}, Field{"QueryName", name},
		Field{"QueryStatus", "0"}, Field{"QueryResults", "::ffff:" + result + ";"}, Field{"Image", p.image}, Field{"User", p.user})
}

func (g *gen) regSet(p *proc, key, details string) {
	g.sysmonEvent(p.h, 13, 2, Field{"EventType", "SetValue"}, Field{"ProcessGuid", p.guid}, Field{"ProcessId", strconv.Itoa(p.pid)},
		Field{"Image", p.image}, Field{"TargetObject", key}, Field{"Details", details}, Field{"User", p.user})
}

func (g *gen) imageLoad(p *proc, dll, orig, desc string, signed bool) {
	sig, status := "Microsoft Windows", "Valid"
	if !signed {
		sig, status = "-", "Unavailable"
	}
	g.sysmonEvent(p.h, 7, 3, append(g.procFields(p), Field{"ImageLoaded", dll}, Field{"FileVersion", "-"}, Field{"Description", desc},
		Field{"Product", "-"}, Field{"Company", "-"}, Field{"OriginalFileName", orig}, Field{"Hashes", "SHA256=" + g.hex(64)},
		Field{"Signed", strconv.FormatBool(signed)}, Field{"Signature", sig}, Field{"SignatureStatus", status}, Field{"User", p.user})...)
}

func (g *gen) terminate(p *proc) {
	g.sysmonEvent(p.h, 5, 3, append(g.procFields(p), Field{"User", p.user})...)
}

func (g *gen) logon(h *host, user string, logonType int, ip, workstation, logonID, authPkg string) {
	dom, name := splitUser(user)
	g.securityEvent(h, 4624, 2, 12544,
		Field{"SubjectUserSid", "S-1-0-0"}, Field{"SubjectUserName", "-"}, Field{"SubjectDomainName", "-"}, Field{"SubjectLogonId", "0x0"},
		Field{"TargetUserSid", g.sidOf(user)}, Field{"TargetUserName", name}, Field{"TargetDomainName", dom},
		Field{"TargetLogonId", logonID}, Field{"LogonType", strconv.Itoa(logonType)},
		Field{"LogonProcessName", map[bool]string{true: "NtLmSsp ", false: "User32 "}[authPkg == "NTLM"]},
		Field{"AuthenticationPackageName", authPkg}, Field{"WorkstationName", workstation},
		Field{"LogonGuid", "{00000000-0000-0000-0000-000000000000}"}, Field{"TransmittedServices", "-"},
		Field{"LmPackageName", map[bool]string{true: "NTLM V2", false: "-"}[authPkg == "NTLM"]}, Field{"KeyLength", "128"},
		Field{"ProcessId", "0x0"}, Field{"ProcessName", "-"}, Field{"IpAddress", ip}, Field{"IpPort", strconv.Itoa(49152 + g.r.IntN(16000))},
		Field{"ImpersonationLevel", "%%1833"}, Field{"VirtualAccount", "%%1843"}, Field{"ElevatedToken", "%%1842"})
}

func (g *gen) logonID() string {
	return "0x" + strings.ToLower(strconv.FormatInt(int64(0x100000+g.r.IntN(0xeffffff)), 16))
}
