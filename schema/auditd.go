package schema

import (
	"strings"
	"time"

	"github.com/mdrkit/mdr"
)

// Linux audit records (auditd and go-libaudit/auoms renderings): the record
// type, pid, ppid, exe, comm, uid/auid and, for auoms, user names and node.

func (e *emitter) auditd() {
	ev := e.ev
	typ := str(ev, "type")
	e.r.Code = typ
	switch typ {
	case "SYSCALL", "AUOMS_EXECVE", "AUOMS_SYSCALL":
	case "EXECVE": // coalesced records carry the pid; bare argv records do not
		if !ev.Has("pid") {
			return
		}
	default:
		return
	}
	e.supported()
	e.host = first(ev, "node", "hostname")
	pid, ok := pidOf(ev, "pid")
	if !ok {
		e.missing = "pid"
		e.hostEntity()
		return
	}
	sc := str(ev, "syscall")
	exec := typ == "EXECVE" || typ == "AUOMS_EXECVE" || sc == "execve" || sc == "59" && strings.HasPrefix(str(ev, "arch"), "c000003e")
	if exec && strings.EqualFold(str(ev, "success"), "no") {
		exec = false
	}
	cmd := first(ev, "cmdline", "proctitle")
	var start time.Time
	if exec {
		start = e.t
	}
	p := e.process(proc{pid: pid, hasPID: true, start: start, created: exec, image: first(ev, "exe", "comm"), cmdline: cmd})
	uname := first(ev, "user", "effective_user")
	var u string
	if uname != "" {
		u = e.user(e.host, uname, "")
	} else if uid := str(ev, "uid"); uid != "" {
		u = e.user(e.host, "uid:"+uid, "")
	}
	e.ranOn(p, u)
	if !exec {
		return
	}
	if f := e.file(str(ev, "exe")); f != "" {
		e.rel(mdr.RelExecuted, p, f, nil)
	}
	if ppid, ok := pidOf(ev, "ppid"); ok && ppid != 0 {
		e.rel(mdr.RelSpawned, e.process(proc{pid: ppid, hasPID: true}), p, nil)
	}
}
