package schema

import (
	"strings"

	"github.com/mdrkit/mdr"
)

// Field names below are those of the Elastic Common Schema field reference
// (ECS 8.x): event.category and event.type allowed values, the process,
// file, network, dns, registry, dll, user and host field sets.

// hasValue reports whether the field at key is the string want or a list
// holding it (ASCII case-insensitive).
func hasValue(ev *mdr.Event, key, want string) bool {
	v, ok := ev.Get(key)
	if !ok {
		return false
	}
	if s, ok := v.Str(); ok {
		return strings.EqualFold(s, want)
	}
	if l, ok := v.List(); ok {
		for _, x := range l {
			if s, ok := x.Str(); ok && strings.EqualFold(s, want) {
				return true
			}
		}
	}
	return false
}

// firstValue returns the field as text, or its first element when it is a
// list.
func firstValue(ev *mdr.Event, key string) string {
	v, ok := ev.Get(key)
	if !ok {
		return ""
	}
	if l, ok := v.List(); ok {
		if len(l) == 0 {
			return ""
		}
		return strings.TrimSpace(l[0].Text())
	}
	return str(ev, key)
}

// ecsProcess adds the process at prefix ("process" or "process.parent").
func (e *emitter) ecsProcess(prefix string, created bool) string {
	ev := e.ev
	pid, hasPID := pidOf(ev, prefix+".pid")
	cmd := str(ev, prefix+".command_line")
	if cmd == "" {
		if v, ok := ev.Get(prefix + ".args"); ok {
			if l, ok := v.List(); ok {
				parts := make([]string, 0, len(l))
				for _, a := range l {
					parts = append(parts, a.Text())
				}
				cmd = strings.Join(parts, " ")
			}
		}
	}
	image := first(ev, prefix+".executable", prefix+".name")
	var start = timeOf(ev, prefix+".start")
	if created && start.IsZero() {
		start = e.t
	}
	return e.process(proc{guid: str(ev, prefix+".entity_id"), pid: pid, hasPID: hasPID, start: start,
		created: created && !start.IsZero(), image: image, cmdline: cmd})
}

func (e *emitter) ecs() {
	ev := e.ev
	e.host = first(ev, "host.name", "host.hostname")
	cat := firstValue(ev, "event.category")
	e.r.Code = cat
	u := e.user(str(ev, "user.domain"), str(ev, "user.name"), str(ev, "user.id"))
	is := func(t string) bool { return hasValue(ev, "event.type", t) }
	action := lower(str(ev, "event.action"))
	switch {
	case hasValue(ev, "event.category", "authentication"):
		e.supported()
		h := e.hostEntity()
		if u == "" || h == "" {
			e.missing = "user.name|host.name"
			return
		}
		ip := str(ev, "source.ip")
		if !localAddr(ip) {
			e.endpoint(ip, "")
		}
		kind := mdr.RelLoggedOn
		switch {
		case is("end") || strings.Contains(action, "logoff") || strings.Contains(action, "logged-out"):
			kind = mdr.RelLoggedOff
		case hasValue(ev, "event.outcome", "failure"):
			kind = mdr.RelLogonFailed
		}
		e.rel(kind, u, h, attrs("source_ip", ip, "source_port", str(ev, "source.port"), "action", action,
			"logon_type", first(ev, "winlog.logon.type", "logon.type")))
		if ev.HasPrefix("process") {
			e.ranOn(e.ecsProcess("process", false), u)
		}
	case hasValue(ev, "event.category", "process"):
		e.supported()
		start := is("start") || strings.Contains(action, "start") || strings.Contains(action, "exec")
		p := e.ecsProcess("process", start)
		if p == "" {
			e.missing = "process.entity_id|process.pid"
			e.hostEntity()
			return
		}
		e.ranOn(p, u)
		if start {
			if f := e.file(str(ev, "process.executable")); f != "" {
				e.rel(mdr.RelExecuted, p, f, nil)
			}
			if ev.HasPrefix("process.parent") {
				if pp := e.ecsProcess("process.parent", false); pp != "" {
					e.rel(mdr.RelSpawned, pp, p, nil)
					e.ranOn(pp, "")
				}
			}
		} else if is("end") {
			e.rel(mdr.RelTerminated, p, e.hostEntity(), nil)
		}
	case hasValue(ev, "event.category", "file"):
		e.supported()
		p := e.ecsActor(u)
		path := str(ev, "file.path")
		if path == "" && str(ev, "file.name") != "" {
			path = strings.TrimRight(str(ev, "file.directory"), `\/`)
			sep := "/"
			if windowsPath(path) {
				sep = `\`
			}
			path += sep + str(ev, "file.name")
		}
		f := e.file(path)
		if f == "" || p == "" {
			e.missing = "file.path|process.entity_id"
			return
		}
		switch {
		case is("deletion"):
			e.rel(mdr.RelDeletedFile, p, f, nil)
		case strings.Contains(action, "rename"):
			e.rel(mdr.RelRenamedFile, p, f, attrs("old_path", first(ev, "file.Ext.original.path", "file.original.path")))
		case is("creation") || is("change"):
			e.rel(mdr.RelWroteFile, p, f, nil)
		default:
			e.rel(mdr.RelReadFile, p, f, nil)
		}
	case hasValue(ev, "event.category", "registry"):
		e.supported()
		p := e.ecsActor(u)
		key := str(ev, "registry.path")
		if key == "" {
			key = strings.TrimRight(str(ev, "registry.hive")+`\`+str(ev, "registry.key"), `\`)
		}
		k := e.registry(key)
		if k == "" || p == "" {
			e.missing = "registry.path|process.entity_id"
			return
		}
		if is("deletion") {
			e.rel(mdr.RelDeletedRegistry, p, k, nil)
		} else {
			e.rel(mdr.RelSetRegistry, p, k, attrs("details", firstValue(ev, "registry.data.strings")))
		}
	case hasValue(ev, "event.category", "library") || ev.Has("dll.path"):
		e.supported()
		p := e.ecsActor(u)
		f := e.file(str(ev, "dll.path"))
		if f == "" || p == "" {
			e.missing = "dll.path|process.entity_id"
			return
		}
		e.rel(mdr.RelLoadedImage, p, f, attrs("signed", str(ev, "dll.code_signature.trusted")))
	case hasValue(ev, "event.category", "network"):
		e.supported()
		p := e.ecsActor(u)
		if p == "" {
			p = e.hostEntity()
		}
		if q := str(ev, "dns.question.name"); q != "" {
			e.rel(mdr.RelResolved, p, e.domain(q), attrs("results", firstValue(ev, "dns.resolved_ip")))
			return
		}
		ep := e.endpoint(str(ev, "destination.ip"), str(ev, "destination.port"))
		if ep == "" || p == "" {
			e.missing = "destination.ip"
			return
		}
		e.rel(mdr.RelConnected, p, ep, attrs("protocol", lower(str(ev, "network.transport")), "direction", str(ev, "network.direction"),
			"local_ip", str(ev, "source.ip"), "local_port", str(ev, "source.port"), "remote_hostname", str(ev, "destination.domain")))
	case hasValue(ev, "event.category", "iam"):
		e.supported()
		e.hostEntity()
		tname := str(ev, "user.target.name")
		switch {
		case str(ev, "group.name") != "" && (is("change") || strings.Contains(action, "added")):
			member := e.user(str(ev, "user.target.domain"), tname, "")
			if member == "" {
				e.missing = "user.target.name"
				return
			}
			g := e.entity(mdr.EntityAccount, GroupID(str(ev, "group.domain"), str(ev, "group.name")), str(ev, "group.name"), nil)
			e.rel(mdr.RelAddedToGroup, member, g, attrs("by", u))
		case tname != "" && is("creation"):
			e.rel(mdr.RelCreatedAccount, u, e.user(str(ev, "user.target.domain"), tname, ""), nil)
		}
	default:
		if ev.HasPrefix("process") {
			e.ranOn(e.ecsProcess("process", false), u)
		} else {
			e.hostEntity()
		}
	}
}

// ecsActor adds the acting process (with host and user).
func (e *emitter) ecsActor(u string) string {
	p := e.ecsProcess("process", false)
	if p != "" {
		e.ranOn(p, u)
	} else {
		e.hostEntity()
	}
	return p
}
