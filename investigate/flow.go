package investigate

import (
	"strings"

	"github.com/mdrkit/mdr"
)

// flow says how information moves along a relation kind, which is what
// backward and forward tracking follow.
type flow uint8

const (
	// flowNone: a context relation (ran_on, ran_as, terminated, logged_off
	// ...). Never traversed; always reduced into one edge per pair.
	flowNone flow = iota
	// flowFwd: information flows From → To (spawned, wrote_file,
	// set_registry, connected, installed_service ...).
	flowFwd
	// flowRev: information flows To → From (executed, loaded_image,
	// read_file, accessed_object: the file flows into the process).
	flowRev
)

// flows is the flow of each relation kind (index = mdr.RelationKind).
var flows = [...]flow{
	mdr.RelUnknown:             flowNone,
	mdr.RelSpawned:             flowFwd,
	mdr.RelWroteFile:           flowFwd,
	mdr.RelDeletedFile:         flowFwd,
	mdr.RelRenamedFile:         flowFwd,
	mdr.RelLoadedImage:         flowRev,
	mdr.RelConnected:           flowFwd,
	mdr.RelResolved:            flowFwd,
	mdr.RelSetRegistry:         flowFwd,
	mdr.RelDeletedRegistry:     flowFwd,
	mdr.RelOpenedProcess:       flowFwd,
	mdr.RelCreatedRemoteThread: flowFwd,
	mdr.RelLoggedOn:            flowFwd,
	mdr.RelLogonFailed:         flowNone,
	mdr.RelLoggedOff:           flowNone,
	mdr.RelInstalledService:    flowFwd,
	mdr.RelCreatedTask:         flowFwd,
	mdr.RelCreatedAccount:      flowFwd,
	mdr.RelAddedToGroup:        flowFwd,
	mdr.RelAccessedShare:       flowFwd,
	mdr.RelAccessedObject:      flowRev,
	mdr.RelRanOn:               flowNone,
	mdr.RelRanAs:               flowNone,
	mdr.RelExecutedScript:      flowFwd,
	mdr.RelConnectedPipe:       flowFwd,
	mdr.RelReadFile:            flowRev,
	mdr.RelTerminated:          flowNone,
	mdr.RelExecuted:            flowRev,
	mdr.RelRenamedRegistry:     flowFwd,
	mdr.RelCreatedPipe:         flowFwd,
	mdr.RelUsedCredentials:     flowFwd,
	mdr.RelGrantedPrivileges:   flowNone,
	mdr.RelTampered:            flowFwd,
	mdr.RelAuthenticated:       flowNone,
	mdr.RelRemovedFromGroup:    flowFwd,
	mdr.RelDeletedAccount:      flowFwd,
	mdr.RelClearedLog:          flowFwd,
}

func flowOf(k mdr.RelationKind) flow {
	if int(k) < len(flows) {
		return flows[k]
	}
	return flowNone
}

// keptAttrs lists, per relation kind, the attributes the graph keeps on an
// edge; the others (ports, hashes, signatures) are dropped to keep edges
// small.
var keptAttrs = map[mdr.RelationKind][]string{
	mdr.RelSetRegistry:      {"details", "old", "event_type"},
	mdr.RelRenamedRegistry:  {"old_name"},
	mdr.RelConnected:        {"direction", "protocol", "remote_hostname"},
	mdr.RelLoggedOn:         {"logon_type", "source_ip", "workstation"},
	mdr.RelLogonFailed:      {"logon_type", "source_ip", "workstation"},
	mdr.RelLoggedOff:        {"logon_type"},
	mdr.RelClearedLog:       {"log"},
	mdr.RelUsedCredentials:  {"target_server"},
	mdr.RelAccessedShare:    {"relative_target", "source_ip"},
	mdr.RelOpenedProcess:    {"granted_access"},
	mdr.RelAddedToGroup:     {"by"},
	mdr.RelRemovedFromGroup: {"by"},
	mdr.RelCreatedTask:      {"action"},
	mdr.RelWroteFile:        {"action"},
	mdr.RelAccessedObject:   {"access_list"},
	mdr.RelSpawned:          {},
}

// sameAttrsOnly reports whether two relations of kind k merge only when
// their kept attributes are equal: the data written to a registry value,
// the access a process was opened with (which decides whether influence
// flows), the type of a logon (which decides a root cause), the file
// reached through a share.
func sameAttrsOnly(k mdr.RelationKind) bool {
	switch k {
	case mdr.RelSetRegistry, mdr.RelOpenedProcess, mdr.RelLoggedOn, mdr.RelAccessedShare, mdr.RelLoggedOff:
		return true
	}
	return false
}

// keptNodeAttrs are the entity attributes the graph keeps; "text" (a
// script's content) is clipped to Config.MaxTextBytes.
// The value is the attribute's bit in nodeRec.attrMask (from 1).
var keptNodeAttrs = map[string]uint8{
	"pid": 1, "command_line": 2, "start_time": 3, "integrity_level": 4, "current_directory": 5,
	"sid": 6, "path": 7, "start_type": 8, "account": 9, "command": 10, "arguments": 11, "run_as": 12,
	"text": 13, "local_path": 14, "host_application": 15,
}

// DefaultHubs are the process images that the graph treats as hubs: system
// processes that start, serve or host the work of everything else on a
// host. Tracking never passes through a hub: backward tracking stops below
// it (the hub is context, not cause) and forward tracking does not expand
// what a hub did afterwards (the hub is affected, but its other children
// are not the attack's). Compared on the image's base name, case-folded.
var DefaultHubs = []string{
	"system", "smss.exe", "csrss.exe", "wininit.exe", "winlogon.exe", "services.exe", "lsass.exe",
	"svchost.exe", "explorer.exe", "userinit.exe", "dwm.exe", "taskhostw.exe", "taskhost.exe", "taskeng.exe",
	"wmiprvse.exe", "sihost.exe", "runtimebroker.exe", "spoolsv.exe", "searchindexer.exe", "msiexec.exe",
	"dllhost.exe", "conhost.exe", "ctfmon.exe", "fontdrvhost.exe", "lsm.exe", "registry", "memory compression",
}

// systemAccounts are the built-in accounts that every host shares; they are
// context, never a causal link between two processes.
func systemAccount(id string) bool {
	s := strings.TrimPrefix(id, "user:")
	if strings.HasPrefix(id, "sid:") {
		sid := strings.TrimPrefix(id, "sid:")
		return sid == "S-1-5-18" || sid == "S-1-5-19" || sid == "S-1-5-20" || strings.HasPrefix(sid, "S-1-5-90-") || strings.HasPrefix(sid, "S-1-5-96-")
	}
	if i := strings.LastIndexByte(s, '\\'); i >= 0 {
		s = s[i+1:]
	}
	switch s {
	case "system", "local service", "network service", "anonymous logon", "localsystem", "":
		return true
	}
	return strings.HasSuffix(s, "$") || strings.HasPrefix(s, "dwm-") || strings.HasPrefix(s, "umfd-")
}

// baseName returns the last element of a Windows or POSIX path.
func baseName(path string) string {
	if i := strings.LastIndexAny(path, `\/`); i >= 0 {
		return path[i+1:]
	}
	return path
}
