package schema

import (
	"maps"
	"sort"
	"strings"

	"github.com/mdrkit/mdr"
)

// Canonical field names follow the Elastic Common Schema where ECS has a
// name for the thing ("process.executable", "destination.ip"); where it has
// none, mdrkit adds a few in the same style: "target.process.*" (the process
// acted upon by Sysmon 8/10 or OCSF Open/Inject), "service.executable",
// "task.name", "task.content", "logon.type", "logon.id", "script.text",
// "share.name", "access.mask", "group.name" (an ECS name too).

// FieldMap maps canonical field names to the field names of one dialect,
// in order of preference, with overrides per event code where the same
// thing sits in different fields (Security 4688 calls the new process
// NewProcessName, 4624 calls the logon process ProcessName). A FieldMap is
// immutable and safe for concurrent use.
type FieldMap struct {
	dialect Dialect
	names   map[string][]string
	byCode  map[int64]map[string][]string
	reverse map[string]string
}

// Dialect returns the dialect the map is for.
func (m *FieldMap) Dialect() Dialect { return m.dialect }

// Names returns the dialect's field names for canonical, most preferred
// first (nil when the dialect has none). The slice must not be modified.
func (m *FieldMap) Names(canonical string) []string {
	if m == nil {
		return nil
	}
	return m.names[canonical]
}

// NamesFor returns the field names for canonical in events of the given
// code (the Windows EventID, the OCSF class_uid): the code's own names
// first, then the dialect's general ones. The slice may be shared and must
// not be modified.
func (m *FieldMap) NamesFor(code int64, canonical string) []string {
	if m == nil {
		return nil
	}
	if o := m.byCode[code][canonical]; o != nil {
		return o
	}
	return m.names[canonical]
}

// Canonical returns the canonical name of one of the dialect's fields (the
// first canonical name it is listed under).
func (m *FieldMap) Canonical(field string) (string, bool) {
	if m == nil {
		return "", false
	}
	c, ok := m.reverse[field]
	return c, ok
}

// Canonicals returns the canonical names the map knows, sorted.
func (m *FieldMap) Canonicals() []string {
	if m == nil {
		return nil
	}
	out := make([]string, 0, len(m.names))
	for k := range m.names {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Fields returns the field map of dialect d, or nil for DialectUnknown and
// DialectWindows (other channels have no fixed fields). The map is shared.
func Fields(d Dialect) *FieldMap {
	if int(d) < len(fieldMaps) {
		return fieldMaps[d]
	}
	return nil
}

// Lookup reads the canonical field from ev, whatever its dialect: it tries
// the dialect's names for the event's code in order and returns the first
// present, non-empty value that is not "-". For events of no known dialect
// it reads the canonical name itself.
func Lookup(ev *mdr.Event, canonical string) (mdr.Value, bool) {
	d := Detect(ev)
	m := Fields(d)
	if m == nil {
		return ev.Get(canonical)
	}
	var code int64
	switch {
	case d.Windows():
		code, _ = ev.Int("EventID")
	case d == DialectOCSF:
		code, _ = ev.Int("class_uid")
	}
	for _, n := range m.NamesFor(code, canonical) {
		v, ok := ev.Get(n)
		if !ok || v.IsNull() {
			continue
		}
		if s, isStr := v.Str(); isStr {
			if t := strings.TrimSpace(s); t == "" || t == "-" {
				continue
			}
		}
		return v, true
	}
	return mdr.Value{}, false
}

type fm = map[string][]string

func l(names ...string) []string { return names }

var fieldMaps = func() []*FieldMap {
	all := make([]*FieldMap, len(dialectNames))
	// prefer names the canonical name a field maps back to where it is
	// listed under several (Security's ProcessId is the creator in 4688 but
	// the acting process everywhere else).
	prefer := map[Dialect]map[string]string{
		DialectSecurity: {"ProcessId": "process.pid", "TargetUserName": "user.target.name",
			"TargetDomainName": "user.target.domain", "TargetSid": "user.target.id", "ObjectName": "file.path"},
		DialectOCSF: {"process.file.path": "process.executable", "process.pid": "process.pid", "user.name": "user.name"},
	}
	add := func(d Dialect, names fm, byCode map[int64]fm) {
		m := &FieldMap{dialect: d, names: map[string][]string{}, byCode: map[int64]map[string][]string{}, reverse: map[string]string{}}
		maps.Copy(m.reverse, prefer[d])
		keys := make([]string, 0, len(names))
		for k := range names {
			keys = append(keys, k)
		}
		sort.Strings(keys) // deterministic reverse map
		for _, k := range keys {
			m.names[k] = names[k]
			for _, f := range names[k] {
				if _, ok := m.reverse[f]; !ok {
					m.reverse[f] = k
				}
			}
		}
		for code, o := range byCode {
			m.byCode[code] = o
			for k, fs := range o {
				for _, f := range fs {
					if _, ok := m.reverse[f]; !ok {
						m.reverse[f] = k
					}
				}
			}
		}
		all[d] = m
	}
	winCommon := fm{
		"host.name":      l("Computer"),
		"event.code":     l("EventID"),
		"event.provider": l("Provider_Name"),
		"event.channel":  l("Channel"),
		"@timestamp":     l("TimeCreated"),
	}
	merge := func(a, b fm) fm {
		out := fm{}
		for k, v := range a {
			out[k] = v
		}
		for k, v := range b {
			out[k] = v
		}
		return out
	}

	// Sysmon: the event manifest's field names (Windows and Linux).
	sysTarget := fm{
		"process.executable":        l("SourceImage"),
		"process.pid":               l("SourceProcessId"),
		"process.entity_id":         l("SourceProcessGuid", "SourceProcessGUID"),
		"user.name":                 l("SourceUser"),
		"target.process.executable": l("TargetImage"),
		"target.process.pid":        l("TargetProcessId"),
		"target.process.entity_id":  l("TargetProcessGuid", "TargetProcessGUID"),
		"target.user.name":          l("TargetUser"),
	}
	add(DialectSysmon, merge(winCommon, fm{
		"@timestamp":                      l("UtcTime", "TimeCreated"),
		"rule.name":                       l("RuleName"),
		"process.executable":              l("Image", "SourceImage"),
		"process.command_line":            l("CommandLine"),
		"process.pid":                     l("ProcessId", "SourceProcessId"),
		"process.entity_id":               l("ProcessGuid", "SourceProcessGuid", "SourceProcessGUID"),
		"process.working_directory":       l("CurrentDirectory"),
		"process.pe.original_file_name":   l("OriginalFileName"),
		"process.pe.description":          l("Description"),
		"process.pe.product":              l("Product"),
		"process.pe.company":              l("Company"),
		"process.pe.file_version":         l("FileVersion"),
		"process.hash":                    l("Hashes"),
		"process.integrity_level":         l("IntegrityLevel"),
		"process.parent.executable":       l("ParentImage"),
		"process.parent.command_line":     l("ParentCommandLine"),
		"process.parent.pid":              l("ParentProcessId"),
		"process.parent.entity_id":        l("ParentProcessGuid"),
		"process.parent.user.name":        l("ParentUser"),
		"user.name":                       l("User", "SourceUser"),
		"logon.id":                        l("LogonId"),
		"target.process.executable":       l("TargetImage"),
		"target.process.pid":              l("TargetProcessId"),
		"target.process.entity_id":        l("TargetProcessGuid", "TargetProcessGUID"),
		"access.mask":                     l("GrantedAccess"),
		"file.path":                       l("TargetFilename"),
		"file.hash":                       l("Hashes", "Hash"),
		"dll.path":                        l("ImageLoaded"),
		"dll.code_signature.subject_name": l("Signature"),
		"dll.code_signature.signed":       l("Signed"),
		"registry.path":                   l("TargetObject"),
		"registry.data.strings":           l("Details"),
		"event.action":                    l("EventType"),
		"source.ip":                       l("SourceIp"),
		"source.port":                     l("SourcePort"),
		"source.domain":                   l("SourceHostname"),
		"destination.ip":                  l("DestinationIp"),
		"destination.port":                l("DestinationPort"),
		"destination.domain":              l("DestinationHostname"),
		"network.transport":               l("Protocol"),
		"network.direction":               l("Initiated"),
		"dns.question.name":               l("QueryName"),
		"dns.resolved_ip":                 l("QueryResults"),
		"dns.response_code":               l("QueryStatus"),
		"pipe.name":                       l("PipeName"),
	}), map[int64]fm{8: sysTarget, 10: sysTarget, 6: {"file.path": l("ImageLoaded")}, 7: {"file.path": l("ImageLoaded")}})

	// Windows Security auditing: Microsoft's event reference.
	logon := fm{
		"user.name":          l("TargetUserName"),
		"user.domain":        l("TargetDomainName"),
		"user.id":            l("TargetUserSid"),
		"process.executable": l("ProcessName"),
		"process.pid":        l("ProcessId"),
	}
	objAccess := fm{"process.executable": l("ProcessName"), "process.pid": l("ProcessId")}
	group := fm{
		"group.name":   l("TargetUserName"),
		"group.domain": l("TargetDomainName"),
		"group.id":     l("TargetSid"),
		"user.name":    l("MemberName"),
		"user.id":      l("MemberSid"),
	}
	add(DialectSecurity, merge(winCommon, fm{
		"user.name":                 l("SubjectUserName"),
		"user.domain":               l("SubjectDomainName"),
		"user.id":                   l("SubjectUserSid"),
		"logon.id":                  l("SubjectLogonId", "TargetLogonId"),
		"user.target.name":          l("TargetUserName"),
		"user.target.domain":        l("TargetDomainName"),
		"user.target.id":            l("TargetUserSid", "TargetSid"),
		"logon.type":                l("LogonType"),
		"source.ip":                 l("IpAddress", "SourceAddress"),
		"source.port":               l("IpPort", "SourcePort"),
		"source.domain":             l("WorkstationName"),
		"destination.ip":            l("DestAddress"),
		"destination.port":          l("DestPort"),
		"destination.domain":        l("TargetServerName"),
		"network.transport":         l("Protocol"),
		"network.direction":         l("Direction"),
		"process.executable":        l("NewProcessName", "ProcessName", "Application"),
		"process.pid":               l("NewProcessId", "ProcessId", "ProcessID"),
		"process.command_line":      l("CommandLine"),
		"process.parent.executable": l("ParentProcessName"),
		"process.parent.pid":        l("ProcessId"),
		"file.path":                 l("ObjectName"),
		"registry.path":             l("ObjectName"),
		"access.mask":               l("AccessMask"),
		"service.name":              l("ServiceName"),
		"service.executable":        l("ServiceFileName"),
		"task.name":                 l("TaskName"),
		"task.content":              l("TaskContent"),
		"group.name":                l("TargetUserName"),
		"share.name":                l("ShareName"),
		"share.path":                l("ShareLocalPath"),
		"file.name":                 l("RelativeTargetName"),
	}), map[int64]fm{
		4624: logon, 4625: logon, 4634: logon, 4647: logon,
		4648: {"user.target.name": l("TargetUserName"), "process.executable": l("ProcessName"), "process.pid": l("ProcessId")},
		4656: objAccess, 4663: objAccess,
		4688: {"user.name": l("SubjectUserName"), "process.parent.pid": l("ProcessId"), "process.pid": l("NewProcessId"),
			"process.executable": l("NewProcessName")},
		4728: group, 4732: group, 4756: group,
		5156: {"process.executable": l("Application"), "process.pid": l("ProcessID"), "source.ip": l("SourceAddress"), "source.port": l("SourcePort")},
	})

	add(DialectSystem, merge(winCommon, fm{
		"service.name":       l("ServiceName"),
		"service.executable": l("ImagePath"),
		"service.type":       l("ServiceType"),
		"service.start_type": l("StartType"),
		"service.account":    l("AccountName"),
		"user.id":            l("Security_UserID"),
	}), nil)

	add(DialectPowerShell, merge(winCommon, fm{
		"script.text":          l("ScriptBlockText", "Payload"),
		"script.id":            l("ScriptBlockId"),
		"file.path":            l("Path"),
		"process.pid":          l("Execution_ProcessID"),
		"process.command_line": l("HostApplication"),
		"user.id":              l("Security_UserID"),
		"powershell.context":   l("ContextInfo"),
	}), nil)

	// ECS: canonical names are ECS names; a few aliases.
	ecs := fm{}
	for _, k := range []string{"@timestamp", "event.code", "event.action", "event.category", "event.type", "event.outcome",
		"host.name", "user.name", "user.domain", "user.id", "user.target.name", "user.target.domain", "group.name", "group.domain",
		"process.executable", "process.command_line", "process.pid", "process.entity_id", "process.working_directory",
		"process.pe.original_file_name", "process.parent.executable", "process.parent.command_line", "process.parent.pid",
		"process.parent.entity_id", "process.parent.user.name", "file.path", "file.name", "file.hash", "dll.path",
		"registry.path", "registry.data.strings", "source.ip", "source.port", "source.domain", "destination.ip",
		"destination.port", "destination.domain", "network.transport", "network.direction", "dns.question.name",
		"dns.resolved_ip", "dns.response_code", "service.name", "rule.name"} {
		ecs[k] = l(k)
	}
	ecs["host.name"] = l("host.name", "host.hostname")
	ecs["process.name"] = l("process.name")
	ecs["file.hash"] = l("file.hash.sha256", "file.hash.sha1", "file.hash.md5")
	ecs["process.hash"] = l("process.hash.sha256", "process.hash.sha1", "process.hash.md5")
	ecs["logon.type"] = l("winlog.logon.type")
	ecs["logon.id"] = l("winlog.logon.id")
	ecs["script.text"] = l("powershell.file.script_block_text")
	ecs["script.id"] = l("powershell.file.script_block_id")
	ecs["event.provider"] = l("event.provider", "winlog.provider_name")
	ecs["event.channel"] = l("winlog.channel")
	ecs["event.code"] = l("event.code", "winlog.event_id")
	add(DialectECS, ecs, nil)

	// OCSF 1.x: the acting process is actor.process except in Process
	// Activity, where process is the subject of the activity.
	add(DialectOCSF, fm{
		"@timestamp":                  l("time", "time_dt"),
		"event.code":                  l("type_uid"),
		"event.category":              l("category_name"),
		"event.action":                l("activity_name"),
		"event.outcome":               l("status"),
		"host.name":                   l("device.hostname", "device.name"),
		"host.ip":                     l("device.ip"),
		"user.name":                   l("actor.user.name", "user.name", "actor.process.user.name", "process.user.name"),
		"user.domain":                 l("actor.user.domain", "user.domain", "actor.process.user.domain"),
		"user.id":                     l("actor.user.uid", "user.uid", "actor.process.user.uid"),
		"process.executable":          l("actor.process.file.path", "process.file.path"),
		"process.name":                l("actor.process.name", "process.name"),
		"process.command_line":        l("actor.process.cmd_line", "process.cmd_line"),
		"process.pid":                 l("actor.process.pid", "process.pid"),
		"process.entity_id":           l("actor.process.uid", "process.uid"),
		"process.parent.executable":   l("actor.process.parent_process.file.path", "process.parent_process.file.path"),
		"process.parent.command_line": l("actor.process.parent_process.cmd_line", "process.parent_process.cmd_line"),
		"process.parent.pid":          l("actor.process.parent_process.pid", "process.parent_process.pid"),
		"file.path":                   l("file.path"),
		"file.name":                   l("file.name"),
		"file.hash":                   l("file.hashes"),
		"dll.path":                    l("module.file.path"),
		"source.ip":                   l("src_endpoint.ip"),
		"source.port":                 l("src_endpoint.port"),
		"source.domain":               l("src_endpoint.hostname"),
		"destination.ip":              l("dst_endpoint.ip"),
		"destination.port":            l("dst_endpoint.port"),
		"destination.domain":          l("dst_endpoint.hostname"),
		"network.transport":           l("connection_info.protocol_name"),
		"network.direction":           l("connection_info.direction"),
		"dns.question.name":           l("query.hostname"),
		"logon.type":                  l("logon_type", "logon_type_id"),
	}, map[int64]fm{
		ocsfProcess: {
			"process.executable":          l("process.file.path"),
			"process.name":                l("process.name"),
			"process.command_line":        l("process.cmd_line"),
			"process.pid":                 l("process.pid"),
			"process.entity_id":           l("process.uid"),
			"process.parent.executable":   l("process.parent_process.file.path", "actor.process.file.path"),
			"process.parent.command_line": l("process.parent_process.cmd_line", "actor.process.cmd_line"),
			"process.parent.pid":          l("process.parent_process.pid", "actor.process.pid"),
			"process.parent.entity_id":    l("process.parent_process.uid", "actor.process.uid"),
			"user.name":                   l("process.user.name", "actor.user.name"),
			"target.process.executable":   l("process.file.path"),
		},
		ocsfAuthenticate: {
			"user.name":   l("user.name"),
			"user.domain": l("user.domain"),
			"user.id":     l("user.uid"),
			"host.name":   l("dst_endpoint.hostname", "device.hostname"),
		},
	})

	add(DialectAuditd, fm{
		"@timestamp":                l("TimeCreated", "audit_epoch"),
		"event.action":              l("type"),
		"host.name":                 l("node", "hostname"),
		"process.executable":        l("exe"),
		"process.name":              l("comm"),
		"process.pid":               l("pid"),
		"process.parent.pid":        l("ppid"),
		"process.command_line":      l("cmdline", "proctitle"),
		"process.working_directory": l("cwd"),
		"user.name":                 l("user", "effective_user"),
		"user.id":                   l("uid"),
		"user.audit.id":             l("auid"),
		"file.path":                 l("name", "file"),
		"syscall":                   l("syscall"),
	}, nil)
	return all
}()
