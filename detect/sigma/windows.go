package sigma

import (
	"strconv"
	"strings"

	"github.com/mdrkit/mdr/detect"
)

// Windows event log channels.
const (
	chSysmon   = "Microsoft-Windows-Sysmon/Operational"
	chSecurity = "Security"
	chDefender = "Microsoft-Windows-Windows Defender/Operational"
)

// windowsServices maps the Sigma service names of product windows to the
// event log channels that carry them (channel names as Windows writes them;
// routing compares them case-insensitively).
var windowsServices = map[string][]string{
	"security":                             {chSecurity},
	"system":                               {"System"},
	"application":                          {"Application"},
	"sysmon":                               {chSysmon},
	"powershell":                           {"Microsoft-Windows-PowerShell/Operational", "PowerShellCore/Operational"},
	"powershell-classic":                   {"Windows PowerShell"},
	"taskscheduler":                        {"Microsoft-Windows-TaskScheduler/Operational"},
	"wmi":                                  {"Microsoft-Windows-WMI-Activity/Operational"},
	"dhcp":                                 {"Microsoft-Windows-DHCP-Server/Operational"},
	"printservice-admin":                   {"Microsoft-Windows-PrintService/Admin"},
	"printservice-operational":             {"Microsoft-Windows-PrintService/Operational"},
	"smbclient-security":                   {"Microsoft-Windows-SmbClient/Security"},
	"smbclient-connectivity":               {"Microsoft-Windows-SmbClient/Connectivity"},
	"smbserver-connectivity":               {"Microsoft-Windows-SMBServer/Connectivity"},
	"terminalservices-localsessionmanager": {"Microsoft-Windows-TerminalServices-LocalSessionManager/Operational"},
	"codeintegrity-operational":            {"Microsoft-Windows-CodeIntegrity/Operational"},
	"applocker": {
		"Microsoft-Windows-AppLocker/MSI and Script", "Microsoft-Windows-AppLocker/EXE and DLL",
		"Microsoft-Windows-AppLocker/Packaged app-Deployment", "Microsoft-Windows-AppLocker/Packaged app-Execution",
	},
	"msexchange-management":       {"MSExchange Management"},
	"windefend":                   {chDefender},
	"firewall-as":                 {"Microsoft-Windows-Windows Firewall With Advanced Security/Firewall"},
	"bits-client":                 {"Microsoft-Windows-Bits-Client/Operational"},
	"security-mitigations":        {"Microsoft-Windows-Security-Mitigations/Kernel Mode", "Microsoft-Windows-Security-Mitigations/User Mode"},
	"diagnosis-scripted":          {"Microsoft-Windows-Diagnosis-Scripted/Operational"},
	"shell-core":                  {"Microsoft-Windows-Shell-Core/Operational"},
	"openssh":                     {"OpenSSH/Operational"},
	"ldap":                        {"Microsoft-Windows-LDAP-Client/Debug"},
	"bitlocker":                   {"Microsoft-Windows-BitLocker/BitLocker Management"},
	"vhdmp":                       {"Microsoft-Windows-VHDMP/Operational"},
	"appxdeployment-server":       {"Microsoft-Windows-AppXDeploymentServer/Operational"},
	"lsa-server":                  {"Microsoft-Windows-LSA/Operational"},
	"appxpackaging-om":            {"Microsoft-Windows-AppxPackaging/Operational"},
	"dns-client":                  {"Microsoft-Windows-DNS Client Events/Operational"},
	"appmodel-runtime":            {"Microsoft-Windows-AppModel-Runtime/Admin"},
	"capi2":                       {"Microsoft-Windows-CAPI2/Operational"},
	"kernel-shimengine":           {"Microsoft-Windows-Kernel-ShimEngine/Operational", "Microsoft-Windows-Kernel-ShimEngine/Diagnostic"},
	"application-experience":      {"Microsoft-Windows-Application-Experience/Program-Telemetry", "Microsoft-Windows-Application-Experience/Program-Compatibility-Assistant"},
	"ntfs":                        {"Microsoft-Windows-Ntfs/Operational"},
	"hyper-v-worker":              {"Microsoft-Windows-Hyper-V-Worker", "Microsoft-Windows-Hyper-V-Worker-Admin"},
	"kernel-event-tracing":        {"Microsoft-Windows-Kernel-EventTracing", "Microsoft-Windows-Kernel-EventTracing/Admin"},
	"sense":                       {"Microsoft-Windows-SENSE/Operational"},
	"servicebus-client":           {"Microsoft-ServiceBus-Client/Admin", "Microsoft-ServiceBus-Client/Operational"},
	"microsoft-servicebus-client": {"Microsoft-ServiceBus-Client/Admin", "Microsoft-ServiceBus-Client/Operational"},
	"iis-configuration":           {"Microsoft-IIS-Configuration/Operational"},
	"ntlm":                        {"Microsoft-Windows-NTLM/Operational"},
	"dns-server":                  {"DNS Server"},
	"dns-server-analytic":         {"Microsoft-Windows-DNSServer/Analytical"},
	"driver-framework":            {"Microsoft-Windows-DriverFrameworks-UserMode/Operational"},
	"certificateservicesclient-lifecycle-system": {"Microsoft-Windows-CertificateServicesClient-Lifecycle-System/Operational"},
	"kernel-file": {"Microsoft-Windows-Kernel-File/Analytic"},
}

// source is one (channel, event ids, extra field condition) a category is
// served by.
type source struct {
	channels []string
	ids      []int
	extra    map[string][]string
}

func sysmon(ids ...int) source { return source{channels: []string{chSysmon}, ids: ids} }

// windowsCategories maps the Sigma categories of product windows to the
// events that serve them: Sysmon event ids (as SigmaHQ's own mapping,
// thor.yml, lists them), plus Security 4688 for process_creation and the
// PowerShell and Defender channels.
var windowsCategories = map[string][]source{
	"process_creation":          {sysmon(1), {channels: []string{chSecurity}, ids: []int{4688}}},
	"file_change":               {sysmon(2)},
	"network_connection":        {sysmon(3)},
	"sysmon_status":             {sysmon(4, 16)},
	"process_termination":       {sysmon(5)},
	"driver_load":               {sysmon(6)},
	"image_load":                {sysmon(7)},
	"create_remote_thread":      {sysmon(8)},
	"raw_access_thread":         {sysmon(9)},
	"process_access":            {sysmon(10)},
	"file_event":                {sysmon(11)},
	"registry_event":            {sysmon(12, 13, 14)},
	"registry_add":              {{channels: []string{chSysmon}, ids: []int{12}, extra: map[string][]string{"EventType": {"CreateKey"}}}},
	"registry_delete":           {{channels: []string{chSysmon}, ids: []int{12}, extra: map[string][]string{"EventType": {"DeleteKey", "DeleteValue"}}}},
	"registry_set":              {sysmon(13)},
	"registry_rename":           {sysmon(14)},
	"create_stream_hash":        {sysmon(15)},
	"pipe_created":              {sysmon(17, 18)},
	"wmi_event":                 {sysmon(19, 20, 21)},
	"dns_query":                 {sysmon(22)},
	"file_delete":               {sysmon(23, 26)},
	"clipboard_change":          {sysmon(24)},
	"process_tampering":         {sysmon(25)},
	"file_delete_detected":      {sysmon(26)},
	"file_block_executable":     {sysmon(27)},
	"file_block_shredding":      {sysmon(28)},
	"file_executable_detected":  {sysmon(29)},
	"sysmon_error":              {sysmon(255)},
	"ps_module":                 {{channels: windowsServices["powershell"], ids: []int{4103}}},
	"ps_script":                 {{channels: windowsServices["powershell"], ids: []int{4104}}},
	"ps_classic_start":          {{channels: windowsServices["powershell-classic"], ids: []int{400}}},
	"ps_classic_provider_start": {{channels: windowsServices["powershell-classic"], ids: []int{600}}},
	"ps_classic_script":         {{channels: windowsServices["powershell-classic"], ids: []int{800}}},
	// File access and rename come from the kernel file ETW provider.
	"file_access": {{channels: windowsServices["kernel-file"]}},
	"file_rename": {{channels: windowsServices["kernel-file"]}},
}

// antivirusIDs are the Defender events that carry a threat name or path.
var antivirusIDs = []int{1006, 1007, 1008, 1009, 1010, 1011, 1012, 1017, 1018, 1019, 1115, 1116}

// auditdTypes are the Linux audit record types Sigma's auditd rules read.
var auditdTypes = []string{"SYSCALL", "EXECVE", "PATH", "CWD", "PROCTITLE", "SOCKADDR", "USER_CMD", "USER_LOGIN",
	"USER_AUTH", "USER_START", "USER_END", "USER_ACCT", "CRED_ACQ", "CRED_DISP", "ADD_USER", "DEL_USER", "ADD_GROUP",
	"SERVICE_START", "SERVICE_STOP", "CONFIG_CHANGE", "SYSTEM_BOOT", "AVC", "TTY", "ANOM_ABEND", "KERN_MODULE",
	"LOGIN", "USER_ROLE_CHANGE", "MAC_STATUS", "BPF", "NETFILTER_CFG", "EXECVE_ARGS"}

// ocsfCategories routes OCSF events (class_uid, activity_id) to categories.
var ocsfCategories = map[string]map[string][]string{
	"process_creation":    {"class_uid": {"1007"}, "activity_id": {"1"}},
	"process_termination": {"class_uid": {"1007"}, "activity_id": {"2"}},
	"network_connection":  {"class_uid": {"4001"}},
	"file_event":          {"class_uid": {"1001"}, "activity_id": {"1"}},
	"file_delete":         {"class_uid": {"1001"}, "activity_id": {"4"}},
	"image_load":          {"class_uid": {"1005"}, "activity_id": {"1"}},
	"dns_query":           {"class_uid": {"4003"}},
	"registry_set":        {"class_uid": {"201002"}},
	"registry_event":      {"class_uid": {"201001", "201002"}},
}

// ecsCategories routes ECS events that carry no Windows channel
// (event.category and event.type) to categories.
var ecsCategories = map[string]map[string][]string{
	"process_creation":    {"event.category": {"process"}, "event.type": {"start"}},
	"process_termination": {"event.category": {"process"}, "event.type": {"end"}},
	"network_connection":  {"event.category": {"network"}},
	"file_event":          {"event.category": {"file"}, "event.type": {"creation"}},
	"file_delete":         {"event.category": {"file"}, "event.type": {"deletion"}},
	"image_load":          {"event.category": {"library"}},
	"dns_query":           {"event.category": {"network"}, "dns.type": {"query"}},
	"registry_set":        {"event.category": {"registry"}, "event.type": {"change"}},
	"registry_event":      {"event.category": {"registry"}},
}

// foreignProducts are the non-Windows products of the Sigma taxonomy and
// the ECS event.module values their events carry. The Windows pipeline
// routes their rules to such events (and Linux/macOS rules also to events
// of those operating systems), so that a Zeek, cloud or Linux rule never
// meets a Windows event just because no mapping covers it.
var foreignProducts = map[string][]string{
	"linux": {"auditd", "system", "sysmon"}, "macos": {"macos", "system"},
	"aws": {"aws"}, "azure": {"azure"}, "gcp": {"gcp", "google_workspace"}, "m365": {"o365", "m365", "microsoft365"},
	"okta": {"okta"}, "onelogin": {"onelogin"}, "github": {"github"}, "bitbucket": {"bitbucket"},
	"kubernetes": {"kubernetes"}, "zeek": {"zeek"}, "cisco": {"cisco", "cisco_ios", "cisco_asa", "cisco_ftd"},
	"fortigate": {"fortinet", "fortigate"}, "fortios": {"fortinet", "fortios"}, "paloalto": {"panw", "paloalto"},
	"juniper": {"juniper"}, "huawei": {"huawei"}, "qualys": {"qualys"}, "opencanary": {"opencanary"},
	"rpc_firewall": {"rpc_firewall", "rpcfirewall"}, "jvm": {"jvm", "java"}, "spring": {"spring"},
	"python": {"python"}, "nodejs": {"nodejs"}, "django": {"django"}, "ruby_on_rails": {"rails", "ruby_on_rails"},
	"velocity": {"velocity"}, "sql": {"sql", "mysql", "postgresql", "mssql"},
}

// foreignLogsources are the product-less logsources of the corpus that no
// Windows log serves, routed to the ECS and OCSF events that do.
var foreignLogsources = []detect.LogsourceMapping{
	{Logsource: detect.Logsource{Category: "webserver"}, Conditions: []map[string][]string{
		{"event.category": {"web"}}, {"event.module": {"apache", "nginx", "iis", "tomcat"}}, {"class_uid": {"4002"}}}},
	{Logsource: detect.Logsource{Category: "proxy"}, Conditions: []map[string][]string{
		{"event.category": {"web"}}, {"event.module": {"squid", "zscaler", "bluecoat", "proxy"}}, {"class_uid": {"4002"}}}},
	{Logsource: detect.Logsource{Category: "dns"}, Conditions: []map[string][]string{
		{"dns.type": {"query", "answer"}}, {"event.module": {"dns", "zeek", "bind"}}, {"class_uid": {"4003"}}}},
	{Logsource: detect.Logsource{Category: "firewall"}, Conditions: []map[string][]string{
		{"event.category": {"network"}}, {"class_uid": {"4001"}}}},
	{Logsource: detect.Logsource{Category: "database"}, Conditions: []map[string][]string{
		{"event.category": {"database"}}, {"event.module": {"mysql", "postgresql", "mssql", "mongodb", "oracle"}}}},
	{Logsource: detect.Logsource{Service: "apache"}, Conditions: []map[string][]string{{"event.module": {"apache"}}}},
	{Logsource: detect.Logsource{Service: "nginx"}, Conditions: []map[string][]string{{"event.module": {"nginx"}}}},
	{Logsource: detect.Logsource{Service: "netflow"}, Conditions: []map[string][]string{{"event.module": {"netflow"}}, {"event.dataset": {"netflow.log"}}}},
}

// Field maps: Sigma (Sysmon) field → the same field in Windows Security,
// ECS and OCSF events. The Sigma name is always tried first. Process ids
// are not mapped for 4688: its ProcessId is the parent's, which would
// collide with Sysmon's ProcessId of the new process.
var (
	processFields = map[string][]string{
		"Image":             {"Image", "NewProcessName", "process.executable", "process.file.path"},
		"ParentImage":       {"ParentImage", "ParentProcessName", "process.parent.executable", "process.parent_process.file.path"},
		"CommandLine":       {"CommandLine", "process.command_line", "process.cmd_line"},
		"ParentCommandLine": {"ParentCommandLine", "process.parent.command_line", "process.parent_process.cmd_line"},
		"User":              {"User", "SubjectUserName", "user.name", "actor.user.name"},
		"LogonId":           {"LogonId", "SubjectLogonId"},
		"ProcessId":         {"ProcessId", "process.pid"},
		"ParentProcessId":   {"ParentProcessId", "process.parent.pid", "process.parent_process.pid"},
		"CurrentDirectory":  {"CurrentDirectory", "process.working_directory"},
		"OriginalFileName":  {"OriginalFileName", "process.pe.original_file_name"},
		"IntegrityLevel":    {"IntegrityLevel", "MandatoryLabel", "winlog.event_data.IntegrityLevel"},
		"Computer":          {"Computer", "host.name", "device.hostname"},
	}
	actorFields = map[string][]string{
		"Image":    {"Image", "process.executable", "actor.process.file.path"},
		"User":     {"User", "user.name", "actor.user.name"},
		"Computer": {"Computer", "host.name", "device.hostname"},
	}
	networkFields = map[string][]string{
		"DestinationIp":       {"DestinationIp", "destination.ip", "dst_endpoint.ip"},
		"DestinationPort":     {"DestinationPort", "destination.port", "dst_endpoint.port"},
		"DestinationHostname": {"DestinationHostname", "destination.domain", "dst_endpoint.hostname"},
		"SourceIp":            {"SourceIp", "source.ip", "src_endpoint.ip"},
		"SourcePort":          {"SourcePort", "source.port", "src_endpoint.port"},
		"Protocol":            {"Protocol", "network.transport", "connection_info.protocol_name"},
	}
	fileFields = map[string][]string{
		"TargetFilename": {"TargetFilename", "file.path"},
	}
	imageLoadFields = map[string][]string{
		"ImageLoaded": {"ImageLoaded", "dll.path", "module.file.path"},
	}
	dnsFields = map[string][]string{
		"QueryName": {"QueryName", "dns.question.name", "query.hostname"},
	}
	registryFields = map[string][]string{
		"TargetObject": {"TargetObject", "registry.path", "reg_value.path", "reg_key.path"},
		"Details":      {"Details", "registry.data.strings", "reg_value.data"},
	}
	antivirusFields = map[string][]string{
		"Signature": {"Signature", "ThreatName"},
		"Filename":  {"Filename", "Path"},
	}
)

func mergeFields(ms ...map[string][]string) map[string][]string {
	out := map[string][]string{}
	for _, m := range ms {
		for k, v := range m {
			if _, ok := out[k]; !ok {
				out[k] = v
			}
		}
	}
	return out
}

func idStrings(ids []int) []string {
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = strconv.Itoa(id)
	}
	return out
}

// WindowsPipeline returns the built-in Windows pipeline: routing for every
// windows logsource of the SigmaHQ corpus that Windows event logs can serve
// (Sysmon, Security, PowerShell, Defender and the service channels), also
// accepting events exported by Winlogbeat (winlog.channel,
// winlog.event_id) and ECS- or OCSF-shaped events for the main categories;
// field mappings so that process_creation rules also run over Security 4688
// (Image → NewProcessName, ParentImage → ParentProcessName, User →
// SubjectUserName, LogonId → SubjectLogonId, IntegrityLevel →
// MandatoryLabel) and antivirus rules over
// Defender events (Signature → ThreatName, Filename → Path); and routing of
// the corpus's other products and product-less categories to their own
// events, so that they never meet Windows events.
//
// Field names are mapped to Windows names only: each extra name is one more
// lookup and one more prefilter literal per rule. CommonSchemaPipeline adds
// the ECS and OCSF names.
//
// Each call returns a new value the caller may modify.
func WindowsPipeline() *Pipeline { return builtinPipeline(false) }

// CommonSchemaPipeline returns WindowsPipeline with every mapped Sigma field
// also tried under its ECS and OCSF names (Image → process.executable,
// process.file.path; CommandLine → process.command_line,
// process.cmd_line; ...) and every field of a windows rule also under
// winlog.event_data (Winlogbeat exports), so one rule runs over Sysmon,
// Windows Security, Winlogbeat/ECS-shaped and OCSF-shaped events. Each call
// returns a new value.
func CommonSchemaPipeline() *Pipeline { return builtinPipeline(true) }

func builtinPipeline(common bool) *Pipeline {
	p := &Pipeline{Name: "windows", Placeholders: map[string][]string{}}
	if common {
		p.Name = "common-schema"
	}
	for _, svc := range sortedKeys(windowsServices) {
		chs := windowsServices[svc]
		p.Logsources = append(p.Logsources, detect.LogsourceMapping{
			Logsource:  detect.Logsource{Product: "windows", Service: svc},
			Conditions: []map[string][]string{{"Channel": chs}, {"winlog.channel": chs}},
		})
	}
	for _, cat := range sortedKeys(windowsCategories) {
		var conds []map[string][]string
		for _, s := range windowsCategories[cat] {
			native := map[string][]string{"Channel": s.channels}
			beat := map[string][]string{"winlog.channel": s.channels}
			if len(s.ids) > 0 {
				native["EventID"] = idStrings(s.ids)
				beat["winlog.event_id"] = idStrings(s.ids)
			}
			for k, v := range s.extra {
				native[k] = v
				beat["winlog.event_data."+k] = v
			}
			conds = append(conds, native, beat)
		}
		if c, ok := ecsCategories[cat]; ok {
			conds = append(conds, c)
		}
		if c, ok := ocsfCategories[cat]; ok {
			conds = append(conds, c)
		}
		p.Logsources = append(p.Logsources, detect.LogsourceMapping{
			Logsource:  detect.Logsource{Product: "windows", Category: cat},
			Conditions: conds,
		})
	}
	p.Logsources = append(p.Logsources, detect.LogsourceMapping{
		Logsource: detect.Logsource{Category: "antivirus"},
		Conditions: []map[string][]string{
			{"Channel": {chDefender}, "EventID": idStrings(antivirusIDs)},
			{"winlog.channel": {chDefender}, "winlog.event_id": idStrings(antivirusIDs)},
		},
	})

	for _, prod := range sortedKeys(foreignProducts) {
		conds := []map[string][]string{{"event.module": foreignProducts[prod]}}
		switch prod {
		case "linux":
			conds = append(conds,
				map[string][]string{"Channel": {"Linux-Sysmon/Operational"}},
				map[string][]string{"host.os.type": {"linux"}},
				map[string][]string{"device.os.type": {"Linux"}},
				map[string][]string{"type": auditdTypes})
		case "macos":
			conds = append(conds,
				map[string][]string{"host.os.type": {"macos"}},
				map[string][]string{"device.os.type": {"macOS"}})
		}
		p.Logsources = append(p.Logsources, detect.LogsourceMapping{
			Logsource: detect.Logsource{Product: prod}, Conditions: conds,
		})
	}

	p.Logsources = append(p.Logsources, foreignLogsources...)

	// ECS and OCSF names are dotted paths; Windows names never are.
	keep := func(m map[string][]string) map[string][]string {
		out := map[string][]string{}
		for k, targets := range m {
			var ts []string
			for _, t := range targets {
				if common || !strings.Contains(t, ".") {
					ts = append(ts, t)
				}
			}
			if len(ts) > 1 || len(ts) == 1 && ts[0] != k {
				out[k] = ts
			}
		}
		return out
	}
	cat := func(c string, ms ...map[string][]string) {
		f := keep(mergeFields(ms...))
		if len(f) == 0 {
			return
		}
		p.Fields = append(p.Fields, FieldMapping{
			Logsource: detect.Logsource{Product: "windows", Category: c},
			Fields:    f,
		})
	}
	cat("process_creation", processFields)
	cat("process_termination", actorFields)
	cat("network_connection", actorFields, networkFields)
	cat("file_event", actorFields, fileFields)
	cat("file_delete", actorFields, fileFields)
	cat("image_load", actorFields, imageLoadFields)
	cat("dns_query", actorFields, dnsFields)
	for _, c := range []string{"registry_event", "registry_set", "registry_add", "registry_delete", "registry_rename"} {
		cat(c, actorFields, registryFields)
	}
	p.Fields = append(p.Fields, FieldMapping{Logsource: detect.Logsource{Category: "antivirus"}, Fields: antivirusFields})
	if common {
		// Winlogbeat keeps the event data of every Windows event under
		// winlog.event_data.
		p.Fields = append(p.Fields, FieldMapping{Logsource: detect.Logsource{Product: "windows"}, Prefixes: []string{"winlog.event_data."}})
	}
	return p
}
