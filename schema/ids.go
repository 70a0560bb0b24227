package schema

import (
	"strconv"
	"strings"
	"time"

	"github.com/mdrkit/mdr"
)

// Entity ids are deterministic strings built from the kind and the
// identifying attributes, normalised so that the same thing written two ways
// gets the same id. The builders below are exported so that other packages
// (investigate, hunt, the demo) can name an entity without an event.

// HostID returns "host:name" with the name lower-cased.
func HostID(name string) string { return id("host:", name, "", "", false) }

// UserID returns "user:domain\name" case-folded; without a domain,
// "user:name".
func UserID(domain, name string) string {
	if domain == "" {
		return id("user:", name, "", "", false)
	}
	return id("user:", domain, `\`, name, true)
}

// GroupID returns "group:domain\name" case-folded (an mdr.EntityAccount).
func GroupID(domain, name string) string {
	if domain == "" {
		return id("group:", name, "", "", false)
	}
	return id("group:", domain, `\`, name, true)
}

// SIDID returns "sid:S-1-..." for a principal known only by its SID (an
// mdr.EntityAccount).
func SIDID(sid string) string { return "sid:" + strings.ToUpper(sid) }

// ProcessGUIDID returns "process:guid" with the GUID lower-cased and its
// braces removed, so that "{0197231E-...}" and "0197231e-..." agree.
func ProcessGUIDID(guid string) string {
	g := strings.TrimSpace(guid)
	g = strings.TrimPrefix(g, "{")
	g = strings.TrimSuffix(g, "}")
	return id("process:", g, "", "", false)
}

// ProcessPIDID returns the id of a process known by host and pid:
// "process:host:pid@start" with the start time in UTC to the millisecond, or
// "process:host:pid" when the start time is unknown (zero).
func ProcessPIDID(host string, pid int64, start time.Time) string {
	var buf [96]byte
	b := append(buf[:0], "process:"...)
	b = appendLower(b, host)
	b = append(b, ':')
	b = strconv.AppendInt(b, pid, 10)
	if !start.IsZero() {
		b = append(b, '@')
		b = start.UTC().AppendFormat(b, "2006-01-02T15:04:05.000Z")
	}
	return string(b)
}

// FileID returns "file:host\path" for Windows paths (with a drive letter or
// any backslash), case-folded, and "file:host:path" for POSIX paths, which
// keep their case.
func FileID(host, path string) string {
	if windowsPath(path) {
		return id("file:", host, `\`, path, true)
	}
	return id("file:", host, ":", path, false)
}

// EndpointID returns "ip:addr:port", "ip:[v6addr]:port", or "ip:addr" when
// port is empty or "0". IPv6 addresses are lower-cased.
func EndpointID(ip, port string) string {
	ip = lower(ip)
	if port == "" || port == "0" || port == "-" {
		return "ip:" + ip
	}
	if strings.IndexByte(ip, ':') >= 0 {
		return "ip:[" + ip + "]:" + port
	}
	return "ip:" + ip + ":" + port
}

// DomainID returns "domain:name" lower-cased, without a trailing dot.
func DomainID(name string) string { return "domain:" + lower(strings.TrimSuffix(name, ".")) }

// RegistryID returns "reg:HIVE\path" with the hive abbreviated (HKLM, HKU,
// HKCU, HKCR, HKCC; \REGISTRY\MACHINE and HKEY_LOCAL_MACHINE become HKLM)
// and the rest case-folded.
func RegistryID(key string) string {
	hive, rest := RegistryHive(key)
	if rest == "" {
		return "reg:" + hive
	}
	return id("reg:", "", hive+`\`, rest, true)
}

// RegistryHive splits a registry path into its abbreviated hive and the
// rest, as RegistryID normalises it.
func RegistryHive(key string) (hive, rest string) {
	k := strings.TrimLeft(key, `\`)
	i := strings.IndexByte(k, '\\')
	head, tail := k, ""
	if i >= 0 {
		head, tail = k[:i], k[i+1:]
	}
	if strings.EqualFold(head, "REGISTRY") {
		j := strings.IndexByte(tail, '\\')
		h2, t2 := tail, ""
		if j >= 0 {
			h2, t2 = tail[:j], tail[j+1:]
		}
		switch {
		case strings.EqualFold(h2, "MACHINE"):
			return "HKLM", t2
		case strings.EqualFold(h2, "USER"):
			return "HKU", t2
		}
		return "HKLM", tail
	}
	switch strings.ToUpper(head) {
	case "HKLM", "HKEY_LOCAL_MACHINE":
		return "HKLM", tail
	case "HKU", "HKEY_USERS":
		return "HKU", tail
	case "HKCU", "HKEY_CURRENT_USER":
		return "HKCU", tail
	case "HKCR", "HKEY_CLASSES_ROOT":
		return "HKCR", tail
	case "HKCC", "HKEY_CURRENT_CONFIG":
		return "HKCC", tail
	}
	return strings.ToUpper(head), tail
}

// ServiceID returns "service:host\name" case-folded.
func ServiceID(host, name string) string { return id("service:", host, `\`, name, true) }

// TaskID returns "task:host\path" case-folded, the path with one leading
// backslash.
func TaskID(host, name string) string {
	if !strings.HasPrefix(name, `\`) {
		name = `\` + name
	}
	return id("task:", host, "", name, true)
}

// PipeID returns "pipe:host\name" case-folded, the name with one leading
// backslash.
func PipeID(host, name string) string {
	if !strings.HasPrefix(name, `\`) {
		name = `\` + name
	}
	return id("pipe:", host, "", name, true)
}

// ShareID returns "share:host\name" case-folded; a share written as
// "\\*\C$" or "\\server\C$" is reduced to its name.
func ShareID(host, share string) string {
	s := strings.TrimLeft(share, `\`)
	if i := strings.IndexByte(s, '\\'); i >= 0 {
		s = s[i+1:]
	}
	return id("share:", host, `\`, s, true)
}

// ScriptID returns "script:host\key" for a script block (key is its
// ScriptBlockId or a content hash).
func ScriptID(host, key string) string { return id("script:", host, `\`, key, true) }

// NormalizeGUID lower-cases a GUID and removes surrounding braces and
// spaces.
func NormalizeGUID(g string) string {
	g = strings.TrimSpace(g)
	g = strings.TrimPrefix(g, "{")
	g = strings.TrimSuffix(g, "}")
	return lower(g)
}

// zeroGUID reports whether g is empty or the all-zero GUID.
func zeroGUID(g string) bool {
	for i := 0; i < len(g); i++ {
		switch g[i] {
		case '0', '-', '{', '}', ' ':
		default:
			return false
		}
	}
	return true
}

func windowsPath(p string) bool {
	if len(p) >= 2 && p[1] == ':' {
		return true
	}
	return strings.IndexByte(p, '\\') >= 0
}

// lower lower-cases s; strings.ToLower returns s itself when there is
// nothing to change.
func lower(s string) string { return strings.ToLower(s) }

// id builds prefix + lower(a) + sep + lower(b) (b case-folded only when
// foldB) in one allocation.
func id(prefix, a, sep, b string, foldB bool) string {
	var buf [160]byte
	out := append(buf[:0], prefix...)
	out = appendLower(out, a)
	out = append(out, sep...)
	if foldB {
		out = appendLower(out, b)
	} else {
		out = append(out, b...)
	}
	return string(out)
}

func appendLower(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x80 {
			return append(b, strings.ToLower(s[i:])...)
		}
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		b = append(b, c)
	}
	return b
}

// idKinds maps an id's prefix (before the first colon) to its entity kind.
var idKinds = map[string]mdr.EntityKind{
	"host": mdr.EntityHost, "user": mdr.EntityUser, "group": mdr.EntityAccount, "sid": mdr.EntityAccount,
	"process": mdr.EntityProcess, "file": mdr.EntityFile, "ip": mdr.EntityNetworkEndpoint, "domain": mdr.EntityDomain,
	"reg": mdr.EntityRegistryKey, "service": mdr.EntityService, "task": mdr.EntityScheduledTask, "pipe": mdr.EntityPipe,
	"share": mdr.EntityShare, "script": mdr.EntityScript,
}

// KindOfID returns the kind of entity an id built by this package names
// (EntityUnknown for anything else).
func KindOfID(id string) mdr.EntityKind {
	prefix, _, ok := strings.Cut(id, ":")
	if !ok {
		return mdr.EntityUnknown
	}
	return idKinds[prefix]
}
