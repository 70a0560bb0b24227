package schema

import (
	"fmt"
	"strings"

	"github.com/mdrkit/mdr"
)

// Dialect is the schema an event was written in. It is a plain value, safe
// for concurrent use.
type Dialect uint8

// The dialects the package recognises.
const (
	DialectUnknown    Dialect = iota
	DialectSysmon             // Microsoft-Windows-Sysmon/Operational and Linux-Sysmon/Operational
	DialectSecurity           // the Windows Security log (Microsoft-Windows-Security-Auditing)
	DialectSystem             // the Windows System log (Service Control Manager 7045 is mapped)
	DialectPowerShell         // Microsoft-Windows-PowerShell/Operational (4103, 4104) and Windows PowerShell
	DialectWindows            // any other Windows event log channel (recognised, not mapped)
	DialectECS                // Elastic Common Schema documents
	DialectOCSF               // Open Cybersecurity Schema Framework events
	DialectAuditd             // Linux audit records (type, pid, exe, ...)
)

var dialectNames = [...]string{"unknown", "sysmon", "security", "system", "powershell", "windows", "ecs", "ocsf", "auditd"}

// Dialects lists every dialect but DialectUnknown, in order.
var Dialects = []Dialect{DialectSysmon, DialectSecurity, DialectSystem, DialectPowerShell, DialectWindows, DialectECS, DialectOCSF, DialectAuditd}

func (d Dialect) String() string {
	if int(d) < len(dialectNames) {
		return dialectNames[d]
	}
	return fmt.Sprintf("dialect(%d)", uint8(d))
}

// ParseDialect reads a dialect name as printed by String.
func ParseDialect(s string) (Dialect, error) {
	for i, n := range dialectNames {
		if strings.EqualFold(n, s) {
			return Dialect(i), nil
		}
	}
	return DialectUnknown, fmt.Errorf("%w %q", ErrUnknownDialect, s)
}

// MarshalText implements encoding.TextMarshaler.
func (d Dialect) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (d *Dialect) UnmarshalText(b []byte) error {
	v, err := ParseDialect(string(b))
	*d = v
	return err
}

// Windows reports whether the dialect is one of the Windows event logs.
func (d Dialect) Windows() bool {
	return d >= DialectSysmon && d <= DialectWindows
}

// Detect returns the dialect of ev:
//
//   - Windows logs by Channel (any case) and Provider_Name: Sysmon, Security,
//     System, PowerShell, else DialectWindows when an EventID and a Channel
//     or Provider_Name are present;
//   - OCSF by class_uid (or category_uid with metadata.product or
//     metadata.version);
//   - ECS by ecs.version or event.category/event.kind, or @timestamp together
//     with a nested host, process, source, destination, file or user object;
//   - Linux audit by a record type next to pid, auid, audit_serial or
//     audit_epoch.
//
// Detect never allocates.
func Detect(ev *mdr.Event) Dialect {
	if ev == nil {
		return DialectUnknown
	}
	ch, hasCh := ev.String("Channel")
	prov, hasProv := ev.String("Provider_Name")
	if hasCh || hasProv {
		if _, ok := ev.Get("EventID"); ok {
			return windowsDialect(ch, prov)
		}
	}
	if ev.Has("class_uid") || (ev.Has("category_uid") && (ev.Has("metadata.product.name") || ev.Has("metadata.version"))) {
		return DialectOCSF
	}
	if ev.Has("ecs.version") || ev.Has("event.category") || ev.Has("event.kind") {
		return DialectECS
	}
	if ev.Has("@timestamp") && (ev.HasPrefix("host") || ev.HasPrefix("process") || ev.HasPrefix("source") ||
		ev.HasPrefix("destination") || ev.HasPrefix("file") || ev.HasPrefix("user") || ev.HasPrefix("event")) {
		return DialectECS
	}
	if ev.Has("type") && (ev.Has("pid") || ev.Has("auid") || ev.Has("audit_serial") || ev.Has("audit_epoch")) {
		return DialectAuditd
	}
	return DialectUnknown
}

func windowsDialect(ch, prov string) Dialect {
	switch {
	case strings.EqualFold(ch, "Microsoft-Windows-Sysmon/Operational"), strings.EqualFold(ch, "Linux-Sysmon/Operational"),
		strings.EqualFold(prov, "Microsoft-Windows-Sysmon"), strings.EqualFold(prov, "Linux-Sysmon"):
		return DialectSysmon
	case strings.EqualFold(ch, "Security"):
		return DialectSecurity
	case ch == "" && strings.EqualFold(prov, "Microsoft-Windows-Security-Auditing"):
		return DialectSecurity
	case strings.EqualFold(ch, "System"):
		return DialectSystem
	case strings.EqualFold(ch, "Microsoft-Windows-PowerShell/Operational"), strings.EqualFold(ch, "Windows PowerShell"),
		strings.EqualFold(ch, "PowerShellCore/Operational"):
		return DialectPowerShell
	}
	return DialectWindows
}
