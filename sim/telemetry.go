package sim

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// The providers the fleet writes as.
const (
	sysmonChannel = "Microsoft-Windows-Sysmon/Operational"
	sysmonGUID    = "{5770385F-C22A-43E0-BF4C-06F5698FFBD9}"
	secGUID       = "{54849625-5478-4994-A5BA-3E3B0328C30D}"
	scmGUID       = "{555908D1-A6D7-4695-8E1E-26931D2012F4}"
	psGUID        = "{A0C1853B-5C40-4B15-8766-3CF1C58F985A}"
)

func timeCreated(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.0000000Z") }
func utcTime(t time.Time) string     { return t.UTC().Format("2006-01-02 15:04:05.000") }
func hexPID(pid int) string          { return "0x" + strconv.FormatInt(int64(pid), 16) }

// now reads the fleet's clock (lock held).
func (f *Fleet) now() time.Time { return f.clock.Now().UTC() }

// eventTime returns when an event that happened at t is logged: t to the
// millisecond, and at least a millisecond after the previous event, so that
// the log is in time order whether a reader takes Sysmon's UtcTime or
// TimeCreated (lock held).
func (f *Fleet) eventTime(t time.Time) time.Time {
	t = t.Truncate(time.Millisecond)
	if !t.After(f.lastStamp) {
		t = f.lastStamp.Add(time.Millisecond)
	}
	f.lastStamp = t
	return t
}

// emit numbers, keeps and publishes one event (lock held).
func (f *Fleet) emit(h *host, r Record) {
	r = append(r, Field{"_id", f.cfg.IDPrefix + ":" + strconv.Itoa(f.seq)})
	e := Emitted{Seq: f.seq, Host: h.name, Label: f.label, Record: r}
	f.seq++
	if len(f.log) < f.cfg.MaxEvents {
		f.log = append(f.log, e)
	} else {
		f.dropped++
	}
	if f.observer != nil {
		f.observer(e)
	}
}

func (f *Fleet) sysmon(h *host, t time.Time, id, version int, fields ...Field) {
	t = f.eventTime(t)
	h.sysmonRec++
	r := make(Record, 0, 17+len(fields)+1)
	r = append(r, Field{"EventID", id}, Field{"Channel", sysmonChannel}, Field{"Provider_Name", "Microsoft-Windows-Sysmon"},
		Field{"Computer", h.name}, Field{"TimeCreated", timeCreated(t.Add(time.Duration(1+f.rng.IntN(400)) * time.Microsecond))},
		Field{"EventRecordID", h.sysmonRec}, Field{"Provider_Guid", sysmonGUID}, Field{"Version", version}, Field{"Level", 4},
		Field{"Task", id}, Field{"Opcode", 0}, Field{"Keywords", "0x8000000000000000"}, Field{"Execution_ProcessID", h.sysmonPID},
		Field{"Execution_ThreadID", h.sysmonPID + 4 + 4*f.rng.IntN(100)}, Field{"Security_UserID", "S-1-5-18"},
		Field{"RuleName", "-"}, Field{"UtcTime", utcTime(t)})
	f.emit(h, append(r, fields...))
}

func (f *Fleet) security(h *host, t time.Time, id, version, task int, fields ...Field) {
	t = f.eventTime(t)
	h.secRec++
	keywords := "0x8020000000000000"
	if id == 4625 {
		keywords = "0x8010000000000000"
	}
	r := make(Record, 0, 14+len(fields)+1)
	r = append(r, Field{"EventID", id}, Field{"Channel", "Security"}, Field{"Provider_Name", "Microsoft-Windows-Security-Auditing"},
		Field{"Computer", h.name}, Field{"TimeCreated", timeCreated(t.Add(time.Duration(f.rng.IntN(300)) * time.Microsecond))},
		Field{"EventRecordID", h.secRec}, Field{"Provider_Guid", secGUID}, Field{"Version", version}, Field{"Level", 0},
		Field{"Task", task}, Field{"Opcode", 0}, Field{"Keywords", keywords}, Field{"Execution_ProcessID", h.lsassPID},
		Field{"Execution_ThreadID", h.lsassPID + 8 + 4*f.rng.IntN(200)})
	f.emit(h, append(r, fields...))
}

func (f *Fleet) system(h *host, t time.Time, id int, sid string, fields ...Field) {
	t = f.eventTime(t)
	h.sysRec++
	keywords := "0x8080000000000000"
	if id == 7036 {
		keywords = "0x8080000000000000"
	}
	r := Record{{"EventID", id}, {"Channel", "System"}, {"Provider_Name", "Service Control Manager"}, {"Computer", h.name},
		{"TimeCreated", timeCreated(t)}, {"EventRecordID", h.sysRec}, {"Provider_Guid", scmGUID},
		{"Provider_EventSourceName", "Service Control Manager"}, {"Version", 0}, {"Level", 4}, {"Task", 0}, {"Opcode", 0},
		{"Keywords", keywords}, {"Execution_ProcessID", h.servicesPID}, {"Execution_ThreadID", h.servicesPID + 4 + 4*f.rng.IntN(300)}}
	if sid != "" {
		r = append(r, Field{"Security_UserID", sid})
	}
	f.emit(h, append(r, fields...))
}

// imageMeta is what Sysmon reads from a binary's version resource.
type imageMeta struct{ orig, desc, product, company string }

var knownImages = map[string]imageMeta{
	"cmd.exe":        {"Cmd.Exe", "Windows Command Processor", "Microsoft® Windows® Operating System", "Microsoft Corporation"},
	"powershell.exe": {"PowerShell.EXE", "Windows PowerShell", "Microsoft® Windows® Operating System", "Microsoft Corporation"},
	"rundll32.exe":   {"RUNDLL32.EXE", "Windows host process (Rundll32)", "Microsoft® Windows® Operating System", "Microsoft Corporation"},
	"regsvr32.exe":   {"REGSVR32.EXE", "Microsoft(C) Register Server", "Microsoft® Windows® Operating System", "Microsoft Corporation"},
	"certutil.exe":   {"CertUtil.exe", "CertUtil.exe", "Microsoft® Windows® Operating System", "Microsoft Corporation"},
	"schtasks.exe":   {"schtasks.exe", "Task Scheduler Configuration Tool", "Microsoft® Windows® Operating System", "Microsoft Corporation"},
	"sc.exe":         {"sc.exe", "Service Control Manager Configuration Tool", "Microsoft® Windows® Operating System", "Microsoft Corporation"},
	"net.exe":        {"net.exe", "Net Command", "Microsoft® Windows® Operating System", "Microsoft Corporation"},
	"net1.exe":       {"net1.exe", "Net Command", "Microsoft® Windows® Operating System", "Microsoft Corporation"},
	"whoami.exe":     {"whoami.exe", "whoami - displays logged on user information", "Microsoft® Windows® Operating System", "Microsoft Corporation"},
	"reg.exe":        {"reg.exe", "Registry Console Tool", "Microsoft® Windows® Operating System", "Microsoft Corporation"},
	"vssadmin.exe":   {"VSSADMIN.EXE", "Command Line Interface for Microsoft® Volume Shadow Copy Service ", "Microsoft® Windows® Operating System", "Microsoft Corporation"},
	"wmic.exe":       {"wmic.exe", "WMI Commandline Utility", "Microsoft® Windows® Operating System", "Microsoft Corporation"},
	"wbadmin.exe":    {"WBADMIN.EXE", "Command Line Interface for Microsoft® BLB Backup", "Microsoft® Windows® Operating System", "Microsoft Corporation"},
	"bcdedit.exe":    {"bcdedit.exe", "Boot Configuration Data Editor", "Microsoft® Windows® Operating System", "Microsoft Corporation"},
	"nltest.exe":     {"nltestrk.exe", "Microsoft® Logon Server Test Utility", "Microsoft® Windows® Operating System", "Microsoft Corporation"},
	"taskhostw.exe":  {"taskhostw.exe", "Host Process for Windows Tasks", "Microsoft® Windows® Operating System", "Microsoft Corporation"},
	"svchost.exe":    {"svchost.exe", "Host Process for Windows Services", "Microsoft® Windows® Operating System", "Microsoft Corporation"},
	"explorer.exe":   {"EXPLORER.EXE", "Windows Explorer", "Microsoft® Windows® Operating System", "Microsoft Corporation"},
	"userinit.exe":   {"USERINIT.EXE", "Userinit Logon Application", "Microsoft® Windows® Operating System", "Microsoft Corporation"},
	"msiexec.exe":    {"msiexec.exe", "Windows® installer", "Windows Installer - Unicode", "Microsoft Corporation"},
	"winword.exe":    {"WinWord.exe", "Microsoft Word", "Microsoft Office", "Microsoft Corporation"},
	"excel.exe":      {"Excel.exe", "Microsoft Excel", "Microsoft Office", "Microsoft Corporation"},
	"outlook.exe":    {"Outlook.exe", "Microsoft Outlook", "Microsoft Office", "Microsoft Corporation"},
	"chrome.exe":     {"chrome.exe", "Google Chrome", "Google Chrome", "Google LLC"},
	"tasklist.exe":   {"tasklist.exe", "Lists the current running tasks", "Microsoft® Windows® Operating System", "Microsoft Corporation"},
	"ipconfig.exe":   {"ipconfig.exe", "IP Configuration Utility", "Microsoft® Windows® Operating System", "Microsoft Corporation"},
	"notepad.exe":    {"NOTEPAD.EXE", "Notepad", "Microsoft® Windows® Operating System", "Microsoft Corporation"},
	"wevtutil.exe":   {"wevtutil.exe", "Eventing Command Line Utility", "Microsoft® Windows® Operating System", "Microsoft Corporation"},
	"timeout.exe":    {"timeout.exe", "timeout - pauses command processing", "Microsoft® Windows® Operating System", "Microsoft Corporation"},
	"wscript.exe":    {"wscript.exe", "Microsoft ® Windows Based Script Host", "Microsoft ® Windows Script Host", "Microsoft Corporation"},
	"mshta.exe":      {"MSHTA.EXE", "Microsoft (R) HTML Application host", "Internet Explorer", "Microsoft Corporation"},
	"psexec.exe":     {"psexec.c", "Execute processes remotely", "Sysinternals PsExec", "Sysinternals - www.sysinternals.com"},
	"psexesvc.exe":   {"psexesvc.exe", "PsExec Service", "Sysinternals PsExec", "Sysinternals - www.sysinternals.com"},
	"conhost.exe":    {"CONHOST.EXE", "Console Window Host", "Microsoft® Windows® Operating System", "Microsoft Corporation"},
}

func baseName(p string) string {
	if i := strings.LastIndexAny(p, `\/`); i >= 0 {
		return p[i+1:]
	}
	return p
}

// metaOf returns an image's version resource, or meta when given.
func metaOf(image string, meta imageMeta) imageMeta {
	if meta.orig != "" {
		if meta.desc == "" {
			meta.desc = "-"
		}
		if meta.product == "" {
			meta.product = "-"
		}
		if meta.company == "" {
			meta.company = "-"
		}
		return meta
	}
	if m, ok := knownImages[strings.ToLower(baseName(image))]; ok {
		return m
	}
	return imageMeta{"-", "-", "-", "-"}
}

// mandatoryLabel returns the mandatory label SID of an integrity level.
func mandatoryLabel(il string) string {
	switch il {
	case "High":
		return "S-1-16-12288"
	case "System":
		return "S-1-16-16384"
	case "Low":
		return "S-1-16-4096"
	}
	return "S-1-16-8192"
}

func (f *Fleet) hashesOf(h *host, image string) string {
	var s, s1, m string
	if fl, ok := h.files[strings.ToLower(image)]; ok {
		s, s1, m = fl.SHA256, fl.SHA1, fl.MD5
	} else {
		s, s1, m = ContentHashes("image:" + strings.ToLower(image))
	}
	imp, _, _ := ContentHashes("imphash:" + strings.ToLower(baseName(image)))
	return "SHA1=" + s1 + ",MD5=" + m + ",SHA256=" + s + ",IMPHASH=" + imp[:32]
}

// logProcessStart writes Sysmon 1 and Security 4688 for p (lock held).
func (f *Fleet) logProcessStart(h *host, t time.Time, p, parent *Process, meta imageMeta) {
	meta = metaOf(p.Image, meta)
	fields := []Field{
		{"ProcessGuid", p.GUID}, {"ProcessId", strconv.Itoa(p.PID)}, {"Image", p.Image},
		{"FileVersion", "-"}, {"Description", meta.desc}, {"Product", meta.product}, {"Company", meta.company},
		{"OriginalFileName", meta.orig}, {"CommandLine", p.CommandLine}, {"CurrentDirectory", p.CurrentDirectory},
		{"User", p.User}, {"LogonGuid", fmt.Sprintf("{%s-%s-%s-%s-%s}", h.guidPre, f.hex(4), f.hex(4), f.hex(4), f.hex(12))},
		{"LogonId", p.LogonID}, {"TerminalSessionId", "1"}, {"IntegrityLevel", p.Integrity}, {"Hashes", f.hashesOf(h, p.Image)},
	}
	if parent != nil {
		fields = append(fields, Field{"ParentProcessGuid", parent.GUID}, Field{"ParentProcessId", strconv.Itoa(parent.PID)},
			Field{"ParentImage", parent.Image}, Field{"ParentCommandLine", parent.CommandLine}, Field{"ParentUser", parent.User})
	}
	f.sysmon(h, t, 1, 5, fields...)
	creator := p.User
	if parent != nil {
		creator = parent.User
	}
	dom, name := splitUser(creator)
	ppid, parentName := 4, "-"
	if parent != nil {
		ppid, parentName = parent.PID, parent.Image
	}
	tdom, tname := splitUser(p.User)
	f.security(h, t, 4688, 2, 13312,
		Field{"SubjectUserSid", f.sidOf(h, creator)}, Field{"SubjectUserName", name}, Field{"SubjectDomainName", dom},
		Field{"SubjectLogonId", p.LogonID}, Field{"NewProcessId", hexPID(p.PID)}, Field{"NewProcessName", p.Image},
		Field{"TokenElevationType", map[bool]string{true: "%%1937", false: "%%1938"}[p.Integrity == "High"]},
		Field{"ProcessId", hexPID(ppid)}, Field{"CommandLine", p.CommandLine},
		Field{"TargetUserSid", f.sidOf(h, p.User)}, Field{"TargetUserName", tname}, Field{"TargetDomainName", tdom},
		Field{"TargetLogonId", p.LogonID}, Field{"ParentProcessName", parentName}, Field{"MandatoryLabel", mandatoryLabel(p.Integrity)})
}

func procFields(p *Process) []Field {
	return []Field{{"ProcessGuid", p.GUID}, {"ProcessId", strconv.Itoa(p.PID)}, {"Image", p.Image}}
}

func (f *Fleet) logProcessEnd(h *host, t time.Time, p *Process) {
	f.sysmon(h, t, 5, 3, append(procFields(p), Field{"User", p.User})...)
}

func (f *Fleet) logFileCreate(h *host, t time.Time, p *Process, path string) {
	f.sysmon(h, t, 11, 2, append(procFields(p), Field{"TargetFilename", path}, Field{"CreationUtcTime", utcTime(t)},
		Field{"User", p.User})...)
}

func (f *Fleet) logFileDelete(h *host, t time.Time, p *Process, fl *File, archived bool) {
	exe := strings.HasSuffix(strings.ToLower(fl.Path), ".exe") || strings.HasSuffix(strings.ToLower(fl.Path), ".dll")
	imp, _, _ := ContentHashes("imphash:" + fl.ContentID)
	f.sysmon(h, t, 23, 5, Field{"ProcessGuid", p.GUID}, Field{"ProcessId", strconv.Itoa(p.PID)}, Field{"User", p.User},
		Field{"Image", p.Image}, Field{"TargetFilename", fl.Path},
		Field{"Hashes", "SHA1=" + fl.SHA1 + ",MD5=" + fl.MD5 + ",SHA256=" + fl.SHA256 + ",IMPHASH=" + imp[:32]},
		Field{"IsExecutable", strconv.FormatBool(exe)}, Field{"Archived", strconv.FormatBool(archived)})
}

func (f *Fleet) logRegistry(h *host, t time.Time, p *Process, eventType, target, details string) {
	id := 12
	fields := []Field{{"EventType", eventType}, {"ProcessGuid", p.GUID}, {"ProcessId", strconv.Itoa(p.PID)}, {"Image", p.Image},
		{"TargetObject", target}}
	if eventType == "SetValue" {
		id = 13
		fields = append(fields, Field{"Details", details})
	}
	f.sysmon(h, t, id, 2, append(fields, Field{"User", p.User})...)
}

var portNames = map[int]string{80: "http", 443: "https", 445: "microsoft-ds", 135: "epmap", 53: "domain", 3389: "ms-wbt-server", 5985: "-"}

func (f *Fleet) logConnect(h *host, t time.Time, p *Process, c Connection) {
	pn := portNames[c.RemotePort]
	if pn == "" {
		pn = "-"
	}
	rh := c.RemoteHost
	if rh == "" {
		rh = "-"
	}
	f.sysmon(h, t, 3, 5, append(procFields(p), Field{"User", p.User}, Field{"Protocol", c.Protocol}, Field{"Initiated", "true"},
		Field{"SourceIsIpv6", "false"}, Field{"SourceIp", c.LocalIP}, Field{"SourceHostname", h.name},
		Field{"SourcePort", strconv.Itoa(c.LocalPort)}, Field{"SourcePortName", "-"}, Field{"DestinationIsIpv6", "false"},
		Field{"DestinationIp", c.RemoteIP}, Field{"DestinationHostname", rh}, Field{"DestinationPort", strconv.Itoa(c.RemotePort)},
		Field{"DestinationPortName", pn})...)
	img := p.Image
	if len(img) > 2 && img[1] == ':' {
		img = `\device\harddiskvolume3` + strings.ToLower(img[2:])
	}
	f.security(h, t, 5156, 1, 12810, Field{"ProcessID", strconv.Itoa(p.PID)}, Field{"Application", img},
		Field{"Direction", "%%14593"}, Field{"SourceAddress", c.LocalIP}, Field{"SourcePort", strconv.Itoa(c.LocalPort)},
		Field{"DestAddress", c.RemoteIP}, Field{"DestPort", strconv.Itoa(c.RemotePort)}, Field{"Protocol", map[bool]string{true: "17", false: "6"}[c.Protocol == "udp"]},
		Field{"FilterRTID", "0"}, Field{"LayerName", "%%14611"}, Field{"LayerRTID", "48"}, Field{"RemoteUserID", "S-1-0-0"},
		Field{"RemoteMachineID", "S-1-0-0"})
}

// logLogon writes Security 4624 (or 4625 when failed) (lock held).
func (f *Fleet) logLogon(h *host, t time.Time, user string, logonType int, ip, workstation, logonID, auth string, failed bool) {
	dom, name := splitUser(user)
	proc, procName := "0x0", "-"
	if logonType == 2 || logonType == 10 || logonType == 7 {
		for _, p := range h.procs {
			if strings.EqualFold(baseName(p.Image), "winlogon.exe") {
				proc, procName = hexPID(p.PID), p.Image
			}
		}
	}
	lp := "User32 "
	if auth == "NTLM" {
		lp = "NtLmSsp "
	} else if logonType == 3 {
		lp = "Kerberos"
	}
	port := "0"
	if ip != "-" && ip != "127.0.0.1" {
		port = strconv.Itoa(49152 + f.rng.IntN(16000))
	}
	if failed {
		f.security(h, t, 4625, 0, 12544,
			Field{"SubjectUserSid", "S-1-0-0"}, Field{"SubjectUserName", "-"}, Field{"SubjectDomainName", "-"}, Field{"SubjectLogonId", "0x0"},
			Field{"TargetUserSid", "S-1-0-0"}, Field{"TargetUserName", name}, Field{"TargetDomainName", dom},
			Field{"Status", "0xc000006d"}, Field{"FailureReason", "%%2313"}, Field{"SubStatus", "0xc000006a"},
			Field{"LogonType", strconv.Itoa(logonType)}, Field{"LogonProcessName", lp}, Field{"AuthenticationPackageName", auth},
			Field{"WorkstationName", workstation}, Field{"TransmittedServices", "-"}, Field{"LmPackageName", "-"}, Field{"KeyLength", "0"},
			Field{"ProcessId", proc}, Field{"ProcessName", procName}, Field{"IpAddress", ip}, Field{"IpPort", port})
		return
	}
	lm := "-"
	if auth == "NTLM" {
		lm = "NTLM V2"
	}
	f.security(h, t, 4624, 2, 12544,
		Field{"SubjectUserSid", "S-1-0-0"}, Field{"SubjectUserName", "-"}, Field{"SubjectDomainName", "-"}, Field{"SubjectLogonId", "0x0"},
		Field{"TargetUserSid", f.sidOf(h, user)}, Field{"TargetUserName", name}, Field{"TargetDomainName", dom},
		Field{"TargetLogonId", logonID}, Field{"LogonType", strconv.Itoa(logonType)}, Field{"LogonProcessName", lp},
		Field{"AuthenticationPackageName", auth}, Field{"WorkstationName", workstation},
		Field{"LogonGuid", "{00000000-0000-0000-0000-000000000000}"}, Field{"TransmittedServices", "-"},
		Field{"LmPackageName", lm}, Field{"KeyLength", map[bool]string{true: "128", false: "0"}[auth == "NTLM"]},
		Field{"ProcessId", proc}, Field{"ProcessName", procName}, Field{"IpAddress", ip}, Field{"IpPort", port},
		Field{"ImpersonationLevel", "%%1833"}, Field{"RestrictedAdminMode", "-"}, Field{"TargetOutboundUserName", "-"},
		Field{"TargetOutboundDomainName", "-"}, Field{"VirtualAccount", "%%1843"}, Field{"TargetLinkedLogonId", "0x0"},
		Field{"ElevatedToken", map[bool]string{true: "%%1842", false: "%%1843"}[f.isAdmin(h, user)]})
}

// subjectFields returns the Subject* fields of a Security event for user.
func (f *Fleet) subjectFields(h *host, user string) []Field {
	dom, name := splitUser(user)
	lid := h.sessions[strings.ToLower(user)]
	if lid == "" {
		lid = "0x3e7"
	}
	if strings.EqualFold(user, userSystem) {
		dom, name = f.cfg.Domain, strings.ToUpper(h.short)+"$"
	}
	return []Field{{"SubjectUserSid", f.sidOf(h, user)}, {"SubjectUserName", name}, {"SubjectDomainName", dom}, {"SubjectLogonId", lid}}
}

// taskXML renders a task's definition as TaskContent does.
func taskXML(t *Task, author string, when time.Time) string {
	var trig string
	switch t.Trigger {
	case "logon":
		trig = "    <LogonTrigger>\r\n      <Enabled>true</Enabled>\r\n    </LogonTrigger>\r\n"
	case "boot":
		trig = "    <BootTrigger>\r\n      <Enabled>true</Enabled>\r\n    </BootTrigger>\r\n"
	default:
		trig = "    <CalendarTrigger>\r\n      <StartBoundary>" + when.UTC().Format("2006-01-02T15:04:05") + "</StartBoundary>\r\n      <Enabled>true</Enabled>\r\n      <ScheduleByDay>\r\n        <DaysInterval>1</DaysInterval>\r\n      </ScheduleByDay>\r\n    </CalendarTrigger>\r\n"
	}
	args := ""
	if t.Arguments != "" {
		args = "      <Arguments>" + xmlEscape(t.Arguments) + "</Arguments>\r\n"
	}
	return "<?xml version=\"1.0\" encoding=\"UTF-16\"?>\r\n<Task version=\"1.2\" xmlns=\"http://schemas.microsoft.com/windows/2004/02/mit/task\">\r\n" +
		"  <RegistrationInfo>\r\n    <Date>" + when.UTC().Format("2006-01-02T15:04:05") + "</Date>\r\n    <Author>" + xmlEscape(author) + "</Author>\r\n    <URI>" + xmlEscape(t.Name) + "</URI>\r\n  </RegistrationInfo>\r\n" +
		"  <Triggers>\r\n" + trig + "  </Triggers>\r\n" +
		"  <Principals>\r\n    <Principal id=\"Author\">\r\n      <UserId>" + xmlEscape(t.RunAs) + "</UserId>\r\n      <LogonType>InteractiveToken</LogonType>\r\n      <RunLevel>LeastPrivilege</RunLevel>\r\n    </Principal>\r\n  </Principals>\r\n" +
		"  <Settings>\r\n    <Hidden>false</Hidden>\r\n    <Enabled>true</Enabled>\r\n  </Settings>\r\n" +
		"  <Actions Context=\"Author\">\r\n    <Exec>\r\n      <Command>" + xmlEscape(t.Command) + "</Command>\r\n" + args + "    </Exec>\r\n  </Actions>\r\n</Task>"
}

var xmlReplacer = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;")

func xmlEscape(s string) string { return xmlReplacer.Replace(s) }
