package schema

import (
	"strings"

	"github.com/mdrkit/mdr"
)

// Field names and numeric ids below are those of the OCSF schema 1.x: the
// classes Process Activity (1007), File System Activity (1001), Module
// Activity (1005), Authentication (3002), Network Activity (4001) and DNS
// Activity (4003), and the Process, File, User, Device and Network Endpoint
// objects.

// OCSF class ids mapped by the package.
const (
	ocsfFileSystem   = 1001
	ocsfModule       = 1005
	ocsfProcess      = 1007
	ocsfAuthenticate = 3002
	ocsfNetwork      = 4001
	ocsfDNS          = 4003
)

// ocsfProcess adds the OCSF Process object at prefix ("process",
// "actor.process", "process.parent_process").
func (e *emitter) ocsfProcess(prefix string, created bool) string {
	ev := e.ev
	pid, hasPID := pidOf(ev, prefix+".pid")
	start := timeOf(ev, prefix+".created_time")
	if start.IsZero() {
		start = timeOf(ev, prefix+".created_time_dt")
	}
	if created && start.IsZero() {
		start = e.t
	}
	image := first(ev, prefix+".file.path", prefix+".name")
	p := e.process(proc{guid: str(ev, prefix+".uid"), pid: pid, hasPID: hasPID, start: start,
		created: created && !start.IsZero(), image: image, cmdline: str(ev, prefix+".cmd_line")})
	if p != "" {
		e.ranOn(p, e.user(str(ev, prefix+".user.domain"), str(ev, prefix+".user.name"), str(ev, prefix+".user.uid")))
	}
	return p
}

// ocsfActor adds the acting process (actor.process), else the actor user.
func (e *emitter) ocsfActor() string {
	if e.ev.HasPrefix("actor.process") {
		if p := e.ocsfProcess("actor.process", false); p != "" {
			return p
		}
	}
	ev := e.ev
	return e.user(str(ev, "actor.user.domain"), str(ev, "actor.user.name"), str(ev, "actor.user.uid"))
}

func (e *emitter) ocsf() {
	ev := e.ev
	e.host = first(ev, "device.hostname", "device.name")
	class, _ := ev.Int("class_uid")
	activity, _ := ev.Int("activity_id")
	e.r.Code = str(ev, "class_uid")
	switch class {
	case ocsfProcess:
		e.supported()
		e.hostEntity()
		p := e.ocsfProcess("process", activity == 1)
		if p == "" {
			e.missing = "process.uid|process.pid"
			return
		}
		actor := e.ocsfActor()
		if actor == "" && activity == 1 && ev.HasPrefix("process.parent_process") {
			actor = e.ocsfProcess("process.parent_process", false)
		}
		switch activity {
		case 1: // Launch
			if f := e.file(str(ev, "process.file.path")); f != "" {
				e.rel(mdr.RelExecuted, p, f, nil)
			}
			e.rel(mdr.RelSpawned, actor, p, nil)
		case 2: // Terminate
			e.rel(mdr.RelTerminated, p, e.hostEntity(), nil)
		case 3: // Open
			e.rel(mdr.RelOpenedProcess, actor, p, attrs("granted_access", lower(first(ev, "actual_permissions", "requested_permissions"))))
		case 4: // Inject
			e.rel(mdr.RelCreatedRemoteThread, actor, p, nil)
		}
	case ocsfFileSystem:
		e.supported()
		e.hostEntity()
		actor := e.ocsfActor()
		f := e.file(str(ev, "file.path"))
		if f == "" || actor == "" {
			e.missing = "file.path|actor.process"
			return
		}
		switch activity {
		case 1, 3, 6, 7: // Create, Update, Set Attributes, Set Security
			e.rel(mdr.RelWroteFile, actor, f, nil)
		case 2, 14: // Read, Open
			e.rel(mdr.RelReadFile, actor, f, nil)
		case 4: // Delete
			e.rel(mdr.RelDeletedFile, actor, f, nil)
		case 5: // Rename: file is the source, file_result the new name
			if nf := e.file(str(ev, "file_result.path")); nf != "" {
				e.rel(mdr.RelRenamedFile, actor, nf, attrs("old", f, "old_path", str(ev, "file.path")))
			} else {
				e.rel(mdr.RelRenamedFile, actor, f, nil)
			}
		default:
			e.rel(mdr.RelAccessedObject, actor, f, attrs("activity", str(ev, "activity_name")))
		}
	case ocsfModule:
		e.supported()
		e.hostEntity()
		actor := e.ocsfActor()
		f := e.file(str(ev, "module.file.path"))
		if f == "" || actor == "" {
			e.missing = "module.file.path|actor.process"
			return
		}
		e.rel(mdr.RelLoadedImage, actor, f, nil)
	case ocsfAuthenticate:
		e.supported()
		if e.host == "" {
			e.host = first(ev, "dst_endpoint.hostname", "dst_endpoint.name")
		}
		h := e.hostEntity()
		if h == "" && str(ev, "dst_endpoint.ip") != "" {
			e.host = str(ev, "dst_endpoint.ip")
			h = e.hostEntity()
		}
		u := e.user(str(ev, "user.domain"), str(ev, "user.name"), str(ev, "user.uid"))
		if u == "" || h == "" {
			e.missing = "user.name|device.hostname"
			return
		}
		ip := str(ev, "src_endpoint.ip")
		if !localAddr(ip) {
			e.endpoint(ip, "")
		}
		kind := mdr.RelLoggedOn
		switch {
		case activity == 2:
			kind = mdr.RelLoggedOff
		case str(ev, "status_id") == "2" || strings.EqualFold(str(ev, "status"), "failure"):
			kind = mdr.RelLogonFailed
		}
		e.rel(kind, u, h, attrs("source_ip", ip, "source_port", str(ev, "src_endpoint.port"),
			"logon_type", first(ev, "logon_type", "logon_type_id"), "auth_protocol", str(ev, "auth_protocol"),
			"workstation", str(ev, "src_endpoint.hostname")))
		if ev.HasPrefix("actor.process") {
			e.ocsfProcess("actor.process", false)
		}
	case ocsfNetwork:
		e.supported()
		e.hostEntity()
		actor := e.ocsfActor()
		if actor == "" {
			actor = e.hostEntity()
		}
		ep := e.endpoint(str(ev, "dst_endpoint.ip"), str(ev, "dst_endpoint.port"))
		if ep == "" || actor == "" {
			e.missing = "dst_endpoint.ip"
			return
		}
		e.rel(mdr.RelConnected, actor, ep, attrs("protocol", lower(str(ev, "connection_info.protocol_name")),
			"direction", lower(str(ev, "connection_info.direction")), "local_ip", str(ev, "src_endpoint.ip"),
			"local_port", str(ev, "src_endpoint.port"), "remote_hostname", str(ev, "dst_endpoint.hostname"),
			"activity", str(ev, "activity_name")))
	case ocsfDNS:
		e.supported()
		e.hostEntity()
		actor := e.ocsfActor()
		if actor == "" {
			actor = e.hostEntity()
		}
		d := e.domain(str(ev, "query.hostname"))
		if d == "" || actor == "" {
			e.missing = "query.hostname"
			return
		}
		e.rel(mdr.RelResolved, actor, d, attrs("rcode", str(ev, "rcode")))
	}
}
