package schema

import (
	"strconv"
	"strings"

	"github.com/mdrkit/mdr"
)

// Field names below are those of the Sysmon event schema (sysmon -s) and of
// the Windows Security auditing event documentation, as rendered flat by
// the usual EVTX-to-JSON exports.

// sysmonActor adds the process an ordinary Sysmon event is about (ProcessGuid,
// ProcessId, Image) with its host and user.
func (e *emitter) sysmonActor() string {
	ev := e.ev
	pid, hasPID := pidOf(ev, "ProcessId")
	id := e.process(proc{guid: str(ev, "ProcessGuid"), pid: pid, hasPID: hasPID, image: str(ev, "Image")})
	if id == "" {
		e.missing = "ProcessGuid|ProcessId"
		e.hostEntity()
		return ""
	}
	e.ranOn(id, e.userQualified(str(ev, "User")))
	return id
}

func (e *emitter) sysmon(code int64) {
	ev := e.ev
	switch code {
	case 1: // process creation
		e.supported()
		pid, hasPID := pidOf(ev, "ProcessId")
		start := timeOf(ev, "UtcTime")
		image := str(ev, "Image")
		child := e.process(proc{guid: str(ev, "ProcessGuid"), pid: pid, hasPID: hasPID, start: start, created: true,
			image: image, cmdline: str(ev, "CommandLine")})
		if child == "" {
			e.missing = "ProcessGuid|ProcessId"
			e.hostEntity()
			return
		}
		if x := &e.r.Entities[len(e.r.Entities)-1]; x.ID == child {
			if x.Attrs == nil {
				x.Attrs = make(map[string]string, 3)
			}
			if cd := str(ev, "CurrentDirectory"); cd != "" {
				x.Attrs["current_directory"] = cd
			}
			if il := str(ev, "IntegrityLevel"); il != "" {
				x.Attrs["integrity_level"] = il
			}
			if h := str(ev, "Hashes"); h != "" {
				x.Attrs["hashes"] = h
			}
		}
		e.ranOn(child, e.userQualified(str(ev, "User")))
		if f := e.file(image); f != "" {
			e.rel(mdr.RelExecuted, child, f, nil)
		}
		ppid, hasPPID := pidOf(ev, "ParentProcessId")
		parent := e.process(proc{guid: str(ev, "ParentProcessGuid"), pid: ppid, hasPID: hasPPID,
			image: str(ev, "ParentImage"), cmdline: str(ev, "ParentCommandLine")})
		if parent != "" {
			e.rel(mdr.RelSpawned, parent, child, nil)
			e.ranOn(parent, e.userQualified(str(ev, "ParentUser")))
		}
	case 2: // file creation time changed
		e.supported()
		if p := e.sysmonActor(); p != "" {
			e.rel(mdr.RelWroteFile, p, e.file(str(ev, "TargetFilename")), attrs("action", "set_creation_time",
				"creation_time", str(ev, "CreationUtcTime"), "previous_creation_time", str(ev, "PreviousCreationUtcTime")))
		}
	case 3: // network connection
		e.supported()
		p := e.sysmonActor()
		if p == "" {
			return
		}
		initiated := !strings.EqualFold(str(ev, "Initiated"), "false")
		rip, rport, rhost := str(ev, "DestinationIp"), str(ev, "DestinationPort"), str(ev, "DestinationHostname")
		lip, lport := str(ev, "SourceIp"), str(ev, "SourcePort")
		dir := "outbound"
		if !initiated {
			rip, rport, rhost = str(ev, "SourceIp"), str(ev, "SourcePort"), str(ev, "SourceHostname")
			lip, lport = str(ev, "DestinationIp"), str(ev, "DestinationPort")
			dir = "inbound"
		}
		ep := e.endpoint(rip, rport)
		if ep == "" {
			e.missing = "DestinationIp"
			return
		}
		e.rel(mdr.RelConnected, p, ep, attrs("protocol", str(ev, "Protocol"), "direction", dir,
			"local_ip", lip, "local_port", lport, "remote_hostname", rhost))
	case 5: // process terminated
		e.supported()
		if p := e.sysmonActor(); p != "" {
			e.rel(mdr.RelTerminated, p, e.hostEntity(), nil)
		}
	case 6: // driver loaded
		e.supported()
		h := e.hostEntity()
		f := e.file(str(ev, "ImageLoaded"))
		if f == "" {
			e.missing = "ImageLoaded"
			return
		}
		e.rel(mdr.RelLoadedImage, h, f, attrs("kind", "driver", "signed", str(ev, "Signed"), "signature", str(ev, "Signature"),
			"hashes", str(ev, "Hashes")))
	case 7: // image loaded
		e.supported()
		if p := e.sysmonActor(); p != "" {
			f := e.file(str(ev, "ImageLoaded"))
			if f == "" {
				e.missing = "ImageLoaded"
				return
			}
			e.rel(mdr.RelLoadedImage, p, f, attrs("signed", str(ev, "Signed"), "signature", str(ev, "Signature"),
				"original_file_name", str(ev, "OriginalFileName")))
		}
	case 8, 10: // CreateRemoteThread, ProcessAccess
		e.supported()
		spid, sok := pidOf(ev, "SourceProcessId")
		src := e.process(proc{guid: first(ev, "SourceProcessGuid", "SourceProcessGUID"), pid: spid, hasPID: sok, image: str(ev, "SourceImage")})
		tpid, tok := pidOf(ev, "TargetProcessId")
		dst := e.process(proc{guid: first(ev, "TargetProcessGuid", "TargetProcessGUID"), pid: tpid, hasPID: tok, image: str(ev, "TargetImage")})
		if src == "" || dst == "" {
			e.missing = "SourceProcessGuid|TargetProcessGuid"
			e.hostEntity()
			return
		}
		e.ranOn(src, e.userQualified(str(ev, "SourceUser")))
		e.ranOn(dst, e.userQualified(str(ev, "TargetUser")))
		if code == 8 {
			e.rel(mdr.RelCreatedRemoteThread, src, dst, attrs("start_address", str(ev, "StartAddress"),
				"start_module", str(ev, "StartModule"), "start_function", str(ev, "StartFunction")))
		} else {
			e.rel(mdr.RelOpenedProcess, src, dst, attrs("granted_access", lower(str(ev, "GrantedAccess"))))
		}
	case 9: // RawAccessRead
		e.supported()
		if p := e.sysmonActor(); p != "" {
			e.rel(mdr.RelReadFile, p, e.file(str(ev, "Device")), attrs("access", "raw"))
		}
	case 11, 29: // FileCreate, FileExecutableDetected
		e.supported()
		if p := e.sysmonActor(); p != "" {
			f := e.file(str(ev, "TargetFilename"))
			if f == "" {
				e.missing = "TargetFilename"
				return
			}
			e.rel(mdr.RelWroteFile, p, f, attrs("creation_time", str(ev, "CreationUtcTime"), "hashes", str(ev, "Hashes")))
		}
	case 12, 13, 14: // registry create/delete, value set, rename
		e.supported()
		p := e.sysmonActor()
		if p == "" {
			return
		}
		key := str(ev, "TargetObject")
		k := e.registry(key)
		if k == "" {
			e.missing = "TargetObject"
			return
		}
		et := str(ev, "EventType")
		switch {
		case code == 14:
			nk := e.registry(str(ev, "NewName"))
			if nk == "" {
				nk = k
			}
			e.rel(mdr.RelRenamedRegistry, p, nk, attrs("old", k, "old_name", key))
		case strings.HasPrefix(et, "Delete"):
			e.rel(mdr.RelDeletedRegistry, p, k, attrs("event_type", et))
		default:
			e.rel(mdr.RelSetRegistry, p, k, attrs("event_type", et, "details", str(ev, "Details")))
		}
	case 15: // FileCreateStreamHash
		e.supported()
		if p := e.sysmonActor(); p != "" {
			f := e.file(str(ev, "TargetFilename"))
			if f == "" {
				e.missing = "TargetFilename"
				return
			}
			e.rel(mdr.RelWroteFile, p, f, attrs("stream", "true", "hash", first(ev, "Hash", "Hashes"), "contents", str(ev, "Contents")))
		}
	case 17, 18: // pipe created, pipe connected
		e.supported()
		p := e.sysmonActor()
		if p == "" {
			return
		}
		name := str(ev, "PipeName")
		if name == "" {
			e.missing = "PipeName"
			return
		}
		pp := e.entity(mdr.EntityPipe, PipeID(e.host, name), name, nil)
		if code == 17 {
			e.rel(mdr.RelCreatedPipe, p, pp, nil)
		} else {
			e.rel(mdr.RelConnectedPipe, p, pp, nil)
		}
	case 22: // DNS query
		e.supported()
		p := e.sysmonActor()
		if p == "" {
			return
		}
		d := e.domain(str(ev, "QueryName"))
		if d == "" {
			e.missing = "QueryName"
			return
		}
		e.rel(mdr.RelResolved, p, d, attrs("status", str(ev, "QueryStatus"), "results", str(ev, "QueryResults")))
	case 23, 26: // FileDelete (archived), FileDeleteDetected
		e.supported()
		if p := e.sysmonActor(); p != "" {
			f := e.file(str(ev, "TargetFilename"))
			if f == "" {
				e.missing = "TargetFilename"
				return
			}
			archived := ""
			if code == 23 {
				archived = str(ev, "Archived")
			}
			e.rel(mdr.RelDeletedFile, p, f, attrs("archived", archived, "hashes", str(ev, "Hashes"), "is_executable", str(ev, "IsExecutable")))
		}
	case 25: // ProcessTampering
		e.supported()
		if p := e.sysmonActor(); p != "" {
			e.rel(mdr.RelTampered, p, e.file(str(ev, "Image")), attrs("type", str(ev, "Type")))
		}
	}
}

// subject adds the Security event's subject user (SubjectUserName and
// SubjectDomainName, else SubjectUserSid).
func (e *emitter) subject() string {
	ev := e.ev
	return e.user(str(ev, "SubjectDomainName"), str(ev, "SubjectUserName"), str(ev, "SubjectUserSid"))
}

// target adds the Security event's target user.
func (e *emitter) target() string {
	ev := e.ev
	return e.user(str(ev, "TargetDomainName"), str(ev, "TargetUserName"), first(ev, "TargetUserSid", "TargetSid"))
}

// secProcess adds the process named by ProcessId/ProcessName (hex pid).
func (e *emitter) secProcess(pidKey, nameKey string) string {
	pid, ok := pidOf(e.ev, pidKey)
	if !ok || pid == 0 {
		return ""
	}
	return e.process(proc{pid: pid, hasPID: true, image: str(e.ev, nameKey)})
}

func localAddr(ip string) bool {
	return ip == "" || ip == "127.0.0.1" || ip == "::1" || ip == "0.0.0.0" || ip == "::"
}

func (e *emitter) security(code int64) {
	ev := e.ev
	switch code {
	case 4624, 4625, 4634, 4647: // logon, failed logon, logoff
		e.supported()
		h := e.hostEntity()
		u := e.target()
		if u == "" {
			e.missing = "TargetUserName|TargetUserSid"
			return
		}
		ip := str(ev, "IpAddress")
		if !localAddr(ip) {
			e.endpoint(ip, "")
		}
		a := attrs("logon_type", str(ev, "LogonType"), "logon_id", str(ev, "TargetLogonId"), "source_ip", ip,
			"source_port", str(ev, "IpPort"), "workstation", str(ev, "WorkstationName"),
			"auth_package", str(ev, "AuthenticationPackageName"), "logon_process", str(ev, "LogonProcessName"),
			"status", str(ev, "Status"), "sub_status", str(ev, "SubStatus"), "elevated", str(ev, "ElevatedToken"))
		kind := mdr.RelLoggedOn
		switch code {
		case 4625:
			kind = mdr.RelLogonFailed
		case 4634, 4647:
			kind = mdr.RelLoggedOff
		}
		e.rel(kind, u, h, a) // WorkstationName is a NetBIOS name: kept as an attribute, not a host
		if p := e.secProcess("ProcessId", "ProcessName"); p != "" {
			e.ranOn(p, e.subject())
		}
	case 4648: // logon with explicit credentials
		e.supported()
		e.hostEntity()
		s := e.subject()
		t := e.target()
		if t == "" {
			e.missing = "TargetUserName"
			return
		}
		from := s
		if p := e.secProcess("ProcessId", "ProcessName"); p != "" {
			e.ranOn(p, s)
			from = p
		}
		srv := str(ev, "TargetServerName")
		a := attrs("target_server", srv, "target_info", str(ev, "TargetInfo"), "source_ip", str(ev, "IpAddress"))
		e.rel(mdr.RelUsedCredentials, from, t, a)
		if srv != "" && !strings.EqualFold(srv, "localhost") && !strings.EqualFold(srv, e.host) {
			e.otherHost(srv)
		}
	case 4656, 4663: // handle requested, object accessed
		e.supported()
		e.hostEntity()
		s := e.subject()
		actor := s
		if p := e.secProcess("ProcessId", "ProcessName"); p != "" {
			e.ranOn(p, s)
			actor = p
		}
		if actor == "" {
			e.missing = "SubjectUserName|ProcessId"
			return
		}
		ot, name := str(ev, "ObjectType"), str(ev, "ObjectName")
		var obj string
		switch {
		case strings.EqualFold(ot, "File"):
			obj = e.file(name)
		case strings.EqualFold(ot, "Key"):
			obj = e.registry(name)
		case strings.EqualFold(ot, "Process"):
			obj = e.file(name) // the target process by its image; no pid is given
		}
		if obj != "" {
			e.rel(mdr.RelAccessedObject, actor, obj, attrs("object_type", ot, "access_mask", lower(str(ev, "AccessMask")),
				"access_list", squeeze(str(ev, "AccessList"))))
		}
	case 4672: // special privileges assigned to new logon
		e.supported()
		h := e.hostEntity()
		s := e.subject()
		if s == "" {
			e.missing = "SubjectUserName"
			return
		}
		e.rel(mdr.RelGrantedPrivileges, s, h, attrs("privileges", squeeze(str(ev, "PrivilegeList")), "logon_id", str(ev, "SubjectLogonId")))
	case 4688: // process creation
		e.supported()
		pid, ok := pidOf(ev, "NewProcessId")
		if !ok {
			e.missing = "NewProcessId"
			e.hostEntity()
			return
		}
		image := str(ev, "NewProcessName")
		child := e.process(proc{pid: pid, hasPID: true, start: e.t, created: true, image: image, cmdline: str(ev, "CommandLine")})
		creator := e.subject()
		u := e.target() // the new process's account (version 2 of the event)
		if u == "" {
			u = creator
		}
		e.ranOn(child, u)
		if f := e.file(image); f != "" {
			e.rel(mdr.RelExecuted, child, f, nil)
		}
		if ppid, ok := pidOf(ev, "ProcessId"); ok && ppid != 0 {
			parent := e.process(proc{pid: ppid, hasPID: true, image: str(ev, "ParentProcessName")})
			e.rel(mdr.RelSpawned, parent, child, attrs("token_elevation", str(ev, "TokenElevationType"), "mandatory_label", str(ev, "MandatoryLabel")))
			e.ranOn(parent, creator)
		}
	case 4697: // service installed
		svc, h := e.installedService(serviceFields{"ServiceFileName", "ServiceType", "ServiceStartType", "ServiceAccount"})
		if svc == "" {
			return
		}
		from := e.subject()
		if from == "" {
			from = h
		}
		e.rel(mdr.RelInstalledService, from, svc, nil)
	case 4698, 4702: // scheduled task created, updated
		e.supported()
		h := e.hostEntity()
		name := str(ev, "TaskName")
		if name == "" {
			e.missing = "TaskName"
			return
		}
		content := first(ev, "TaskContent", "TaskContentNew")
		task := e.entity(mdr.EntityScheduledTask, TaskID(e.host, name), name, attrs("command", xmlText(content, "Command"),
			"arguments", xmlText(content, "Arguments"), "run_as", xmlText(content, "UserId")))
		from := e.subject()
		if from == "" {
			from = h
		}
		var a map[string]string
		if code == 4702 {
			a = attrs("action", "updated")
		}
		e.rel(mdr.RelCreatedTask, from, task, a)
	case 4720, 4726: // user account created, deleted
		e.supported()
		e.hostEntity()
		t := e.target()
		if t == "" {
			e.missing = "TargetUserName"
			return
		}
		if code == 4726 {
			e.rel(mdr.RelDeletedAccount, e.subject(), t, nil)
			return
		}
		e.rel(mdr.RelCreatedAccount, e.subject(), t, attrs("sam_account_name", str(ev, "SamAccountName")))
	case 4768, 4769, 4771, 4776: // Kerberos TGT, service ticket, pre-authentication failed; NTLM validation
		e.supported()
		h := e.hostEntity()
		name, dom := str(ev, "TargetUserName"), str(ev, "TargetDomainName")
		if i := strings.IndexByte(name, '@'); i > 0 { // 4769 writes user@REALM
			if dom == "" {
				dom = name[i+1:]
			}
			name = name[:i]
		}
		if dom == "" && code != 4776 {
			dom = str(ev, "ServiceName")
			if i := strings.IndexByte(dom, '/'); i >= 0 {
				dom = dom[i+1:] // krbtgt/REALM
			}
		}
		sid := str(ev, "TargetSid")
		u := e.user(dom, name, sid)
		if u == "" {
			e.missing = "TargetUserName"
			return
		}
		ip := strings.TrimPrefix(str(ev, "IpAddress"), "::ffff:")
		if !localAddr(ip) {
			e.endpoint(ip, "")
		}
		protocol := "kerberos"
		if code == 4776 {
			protocol = "ntlm"
		}
		e.rel(mdr.RelAuthenticated, u, h, attrs("protocol", protocol, "event", e.r.Code, "status", str(ev, "Status"),
			"service", str(ev, "ServiceName"), "ticket_encryption", lower(str(ev, "TicketEncryptionType")),
			"source_ip", ip, "workstation", str(ev, "Workstation")))
	case 4657: // registry value modified
		e.supported()
		e.hostEntity()
		s := e.subject()
		actor := s
		if p := e.secProcess("ProcessId", "ProcessName"); p != "" {
			e.ranOn(p, s)
			actor = p
		}
		key := str(ev, "ObjectName")
		if vn := str(ev, "ObjectValueName"); vn != "" && key != "" {
			key += `\` + vn
		}
		k := e.registry(key)
		if k == "" || actor == "" {
			e.missing = "ObjectName|SubjectUserName"
			return
		}
		if str(ev, "OperationType") == "%%1906" {
			e.rel(mdr.RelDeletedRegistry, actor, k, nil)
		} else {
			e.rel(mdr.RelSetRegistry, actor, k, attrs("details", str(ev, "NewValue"), "old", str(ev, "OldValue")))
		}
	case 1102: // the Security log was cleared
		e.supported()
		h := e.hostEntity()
		s := e.subject()
		if s == "" {
			s = h
		}
		e.rel(mdr.RelClearedLog, s, h, attrs("log", "Security"))
	case 4728, 4732, 4756, 4729, 4733, 4757: // member added to (removed from) a global, local, universal group
		e.supported()
		e.hostEntity()
		gname := str(ev, "TargetUserName")
		if gname == "" {
			e.missing = "TargetUserName"
			return
		}
		group := e.entity(mdr.EntityAccount, GroupID(str(ev, "TargetDomainName"), gname), gname, attrs("sid", str(ev, "TargetSid")))
		member := ""
		if dn := str(ev, "MemberName"); dn != "" {
			if cn, dom := dnName(dn); cn != "" {
				member = e.user(dom, cn, str(ev, "MemberSid"))
			}
		}
		if member == "" {
			member = e.user("", "", str(ev, "MemberSid"))
		}
		if member == "" {
			e.missing = "MemberName|MemberSid"
			return
		}
		kind := mdr.RelAddedToGroup
		if code == 4729 || code == 4733 || code == 4757 {
			kind = mdr.RelRemovedFromGroup
		}
		e.rel(kind, member, group, attrs("by", e.subject()))
	case 5140, 5145: // network share accessed, share object checked
		e.supported()
		e.hostEntity()
		s := e.subject()
		share := str(ev, "ShareName")
		if share == "" {
			e.missing = "ShareName"
			return
		}
		sh := e.entity(mdr.EntityShare, ShareID(e.host, share), share, attrs("local_path", str(ev, "ShareLocalPath")))
		ip := str(ev, "IpAddress")
		if !localAddr(ip) {
			e.endpoint(ip, "")
		}
		if s == "" {
			s = e.user("", "", str(ev, "SubjectUserSid"))
		}
		e.rel(mdr.RelAccessedShare, s, sh, attrs("source_ip", ip, "source_port", str(ev, "IpPort"),
			"relative_target", str(ev, "RelativeTargetName"), "access_mask", lower(str(ev, "AccessMask"))))
	case 5156: // WFP connection permitted
		e.supported()
		e.hostEntity()
		pid, ok := pidOf(ev, "ProcessID", "ProcessId")
		var p string
		if ok {
			p = e.process(proc{pid: pid, hasPID: true, image: str(ev, "Application")})
			e.ranOn(p, "")
		}
		ep := e.endpoint(str(ev, "DestAddress"), str(ev, "DestPort"))
		if ep == "" {
			e.missing = "DestAddress"
			return
		}
		dir := str(ev, "Direction")
		switch dir {
		case "%%14592":
			dir = "inbound"
		case "%%14593":
			dir = "outbound"
		}
		from := p
		if from == "" {
			from = e.hostEntity()
		}
		e.rel(mdr.RelConnected, from, ep, attrs("protocol", ipProto(str(ev, "Protocol")), "direction", dir,
			"local_ip", str(ev, "SourceAddress"), "local_port", str(ev, "SourcePort")))
	}
}

func (e *emitter) system(code int64) {
	ev := e.ev
	if code != 7045 || !strings.EqualFold(str(ev, "Provider_Name"), "Service Control Manager") {
		return
	}
	svc, h := e.installedService(serviceFields{"ImagePath", "ServiceType", "StartType", "AccountName"})
	if svc == "" {
		return
	}
	from := h
	if sid := str(ev, "Security_UserID"); sid != "" {
		from = e.user("", "", sid)
	}
	e.rel(mdr.RelInstalledService, from, svc, nil)
}

// serviceFields names the fields of a service installation event that hold
// the service's image path, type, start type and account (Security 4697
// and System 7045 name them differently).
type serviceFields struct{ path, typ, start, account string }

// installedService adds the host and the installed service of a service
// installation event and returns their ids; the service's is "" (and the
// missing field recorded) when the event names no service.
func (e *emitter) installedService(f serviceFields) (svc, host string) {
	ev := e.ev
	e.supported()
	host = e.hostEntity()
	name := str(ev, "ServiceName")
	if name == "" {
		e.missing = "ServiceName"
		return "", host
	}
	svc = e.entity(mdr.EntityService, ServiceID(e.host, name), name, attrs("path", str(ev, f.path),
		"type", str(ev, f.typ), "start_type", str(ev, f.start), "account", str(ev, f.account)))
	return svc, host
}

func (e *emitter) powershell(code int64) {
	ev := e.ev
	if code == 400 || code == 800 {
		e.classicPowerShell(code)
		return
	}
	if code == 4105 {
		e.scriptInvocation()
		return
	}
	if code != 4103 && code != 4104 {
		return
	}
	e.supported()
	e.hostEntity()
	ctx := str(ev, "ContextInfo")
	image := ctxValue(ctx, "Host Application")
	if i := strings.Index(strings.ToLower(image), ".exe"); i > 0 {
		image = image[:i+4] // the host application is a command line
	}
	var p string
	if pid, ok := pidOf(ev, "Execution_ProcessID"); ok && pid != 0 {
		p = e.process(proc{pid: pid, hasPID: true, image: image})
	}
	var u string
	if cu := ctxValue(ctx, "User"); cu != "" {
		u = e.userQualified(cu)
	} else if sid := str(ev, "Security_UserID"); sid != "" {
		u = e.user("", "", sid)
	}
	e.ranOn(p, u)
	var key, text, path string
	if code == 4104 {
		key = str(ev, "ScriptBlockId")
		text = str(ev, "ScriptBlockText")
		path = str(ev, "Path")
	} else {
		text = str(ev, "Payload")
		path = ctxValue(ctx, "Script Name")
	}
	if key == "" {
		if text == "" {
			if p == "" {
				e.missing = "ScriptBlockText|Payload"
			}
			return
		}
		key = "h" + strconv.FormatUint(mdr.ContentHash([]byte(text), 0), 16)
	}
	from := p
	if from == "" {
		from = u
	}
	if from == "" {
		from = e.hostEntity()
	}
	sc := e.entity(mdr.EntityScript, ScriptID(e.host, NormalizeGUID(key)), "", attrs("text", clip(text, 512), "path", path,
		"part", str(ev, "MessageNumber"), "parts", str(ev, "MessageTotal")))
	e.rel(mdr.RelExecutedScript, from, sc, nil)
	if f := e.file(path); f != "" {
		e.rel(mdr.RelExecutedScript, from, f, nil)
	}
}

// ctxValue reads "Key = value" from PowerShell's ContextInfo text.
func ctxValue(ctx, key string) string {
	for len(ctx) > 0 {
		line := ctx
		if i := strings.IndexByte(ctx, '\n'); i >= 0 {
			line, ctx = ctx[:i], ctx[i+1:]
		} else {
			ctx = ""
		}
		line = strings.TrimSpace(line)
		if len(line) > len(key) && strings.HasPrefix(line, key) {
			rest := strings.TrimSpace(line[len(key):])
			if strings.HasPrefix(rest, "=") {
				return strings.TrimSpace(rest[1:])
			}
		}
	}
	return ""
}

// xmlText returns the text of the first <tag>...</tag> in s (no XML parse:
// task definitions are small and regular).
func xmlText(s, tag string) string {
	i := strings.Index(s, "<"+tag+">")
	if i < 0 {
		return ""
	}
	s = s[i+len(tag)+2:]
	j := strings.Index(s, "</"+tag+">")
	if j < 0 {
		return ""
	}
	return strings.TrimSpace(s[:j])
}

// dnName returns the CN and the first DC of an LDAP distinguished name.
func dnName(dn string) (cn, dc string) {
	for part := range strings.SplitSeq(dn, ",") {
		part = strings.TrimSpace(part)
		if len(part) > 3 && part[2] == '=' {
			switch strings.ToUpper(part[:2]) {
			case "CN":
				if cn == "" {
					cn = part[3:]
				}
			case "DC":
				if dc == "" {
					dc = part[3:]
				}
			}
		}
	}
	if cn == "" && !strings.Contains(dn, "=") {
		cn = dn
	}
	return cn, dc
}

// squeeze collapses the white space Windows puts into lists (AccessList,
// PrivilegeList) into single spaces.
func squeeze(s string) string {
	if s == "" {
		return s
	}
	return strings.Join(strings.Fields(s), " ")
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && n < len(s) && s[n]&0xC0 == 0x80 { // do not cut a UTF-8 sequence
		n--
	}
	return s[:n]
}

func ipProto(p string) string {
	switch p {
	case "6":
		return "tcp"
	case "17":
		return "udp"
	case "1":
		return "icmp"
	case "58":
		return "icmpv6"
	}
	return p
}

// scriptInvocation maps PowerShell 4105 (a script block starts running):
// the PowerShell process ran the script block 4104 logged.
func (e *emitter) scriptInvocation() {
	ev := e.ev
	e.supported()
	from := e.hostEntity()
	key := str(ev, "ScriptBlockId")
	if key == "" {
		e.missing = "ScriptBlockId"
		return
	}
	if pid, ok := pidOf(ev, "Execution_ProcessID"); ok && pid != 0 {
		from = e.process(proc{pid: pid, hasPID: true})
		e.ranOn(from, "")
	}
	sc := e.entity(mdr.EntityScript, ScriptID(e.host, NormalizeGUID(key)), "", nil)
	e.rel(mdr.RelExecutedScript, from, sc, attrs("invocation", "start", "runspace", str(ev, "RunspaceId")))
}

// classicPowerShell maps the "Windows PowerShell" log's engine start (400)
// and pipeline execution (800). EVTX exports give the data as an unnamed
// list (the last element holds "Name=value" lines with HostApplication; for
// 800 the first is the pipeline's text); others give the rendered Message
// with the same lines.
func (e *emitter) classicPowerShell(code int64) {
	ev := e.ev
	var list []mdr.Value
	if v, ok := ev.Get("Data"); ok {
		list, _ = v.List()
	}
	details := ""
	for _, x := range list {
		if s, _ := x.Str(); strings.Contains(s, "HostApplication=") {
			details = s
		}
	}
	if details == "" {
		if m := str(ev, "Message"); strings.Contains(m, "HostApplication=") {
			details = m
		}
	}
	if details == "" && len(list) == 0 {
		return
	}
	e.supported()
	h := e.hostEntity()
	app := kvLine(details, "HostApplication")
	text := app
	if code == 800 {
		if cl := kvLine(details, "CommandLine"); cl != "" {
			text = cl
		}
		if len(list) > 0 {
			if s, _ := list[0].Str(); s != "" && !strings.Contains(s, "HostApplication=") {
				text = s
			}
		}
	}
	if text == "" || h == "" {
		e.missing = "Data"
		return
	}
	key := "h" + strconv.FormatUint(mdr.ContentHash([]byte(text), 0), 16)
	sc := e.entity(mdr.EntityScript, ScriptID(e.host, key), "", attrs("text", clip(text, 512), "host_application", clip(app, 512)))
	e.rel(mdr.RelExecutedScript, h, sc, attrs("user", kvLine(details, "UserId")))
	if u := kvLine(details, "UserId"); u != "" {
		e.userQualified(u)
	}
}

// kvLine reads "Name=value" from the tab-indented lines of classic
// PowerShell event data.
func kvLine(s, name string) string {
	for len(s) > 0 {
		line := s
		if i := strings.IndexByte(s, '\n'); i >= 0 {
			line, s = s[:i], s[i+1:]
		} else {
			s = ""
		}
		line = strings.TrimSpace(line)
		if strings.HasPrefix(line, name+"=") {
			return strings.TrimSpace(line[len(name)+1:])
		}
	}
	return ""
}
