package respond

import (
	"bytes"
	"encoding/json"
	"strings"
	"unicode/utf8"
)

// This file holds the JSON decoding and encoding of commands. Decoding is
// in two layers: decode* functions check the JSON shape (objects, types,
// known member names) and record a Problem for each mismatch, keeping
// whatever they could read; Validate then checks values and combinations
// on the Go value, so commands built in Go are checked the same way.

// ParseCommand decodes an OpenC2 command and validates it (Validate). The
// error, if any, is a *ValidationError listing every problem found.
func ParseCommand(data []byte) (Command, error) {
	var p problems
	c := decodeCommand(data, &p)
	if len(p.list) == 0 {
		c.validate(&p)
	}
	return c, p.err("command")
}

// UnmarshalJSON decodes an OpenC2 command, checking its shape (unknown or
// mistyped members are errors naming the field). It does not validate
// values; use ParseCommand or Validate for that.
func (c *Command) UnmarshalJSON(data []byte) error {
	var p problems
	*c = decodeCommand(data, &p)
	return p.err("command")
}

func decodeCommand(data []byte, p *problems) Command {
	var c Command
	if !utf8.Valid(data) {
		p.add("", "not valid UTF-8 (I-JSON, RFC 7493, which OpenC2 requires)")
		return c
	}
	m, ok := object(data, "", p)
	if !ok {
		return c
	}
	if _, ok := m["action"]; !ok {
		p.add("action", "required")
	}
	if _, ok := m["target"]; !ok {
		p.add("target", "required")
	}
	for _, k := range sortedKeys(m) {
		v := m[k]
		switch k {
		case "action":
			s, _ := str(v, k, p)
			c.Action = Action(s)
		case "target":
			c.Target = decodeTarget(v, k, p)
		case "args":
			c.Args = decodeArgs(v, k, p)
		case "actuator":
			c.Actuator = decodeActuator(v, k, p)
		case "command_id":
			c.CommandID, _ = str(v, k, p)
		case "profile":
			c.Profile, _ = str(v, k, p)
		default:
			p.add(k, "unknown member of a command")
		}
	}
	return c
}

// isNSIDKey reports whether k is written like a profile namespace: a
// non-standard "x-..." name or a profile this package knows.
func isNSIDKey(k string) bool {
	return strings.HasPrefix(k, "x-") || strings.HasPrefix(k, "X-") || knownProfiles[k]
}

// knownProfiles are the NSIDs of the OASIS actuator profiles (and of the
// test profile "blinky" of the OASIS use-case repository, and mdrkit's
// own "mdr"). A namespace not prefixed with "x-" must be one of them.
var knownProfiles = map[string]bool{
	"slpf": true, "sfpf": true, "er": true, "sbom": true, "th": true, "pf": true,
	"pac": true, "ids": true, "blinky": true, "mdr": true,
}

func decodeTarget(raw json.RawMessage, path string, p *problems) Target {
	var t Target
	m, ok := object(raw, path, p)
	if !ok {
		return t
	}
	if len(m) == 0 {
		p.add(path, "must have exactly one target, has none")
	}
	for _, k := range sortedKeys(m) {
		v := m[k]
		f := join(path, k)
		switch k {
		case TargetArtifact:
			t.Artifact = decodeArtifact(v, f, p)
		case TargetCommand:
			t.Command, _ = str(v, f, p)
		case TargetDevice:
			t.Device = decodeDevice(v, f, p)
		case TargetDomainName:
			t.DomainName = nonEmpty(v, f, p)
		case TargetEmailAddr:
			t.EmailAddr = nonEmpty(v, f, p)
		case TargetFeatures:
			if fs, ok := strList(v, f, p); ok {
				l := make([]Feature, len(fs))
				for i, s := range fs {
					l[i] = Feature(s)
				}
				t.Features = &l
			}
		case TargetFile:
			t.File = decodeFile(v, f, p)
		case TargetIDNDomainName:
			t.IDNDomainName = nonEmpty(v, f, p)
		case TargetIDNEmailAddr:
			t.IDNEmailAddr = nonEmpty(v, f, p)
		case TargetIPv4Net:
			t.IPv4Net = nonEmpty(v, f, p)
		case TargetIPv6Net:
			t.IPv6Net = nonEmpty(v, f, p)
		case TargetIPv4Connection:
			t.IPv4Connection = decodeConnection(v, f, p)
		case TargetIPv6Connection:
			t.IPv6Connection = decodeConnection(v, f, p)
		case TargetIRI:
			t.IRI = nonEmpty(v, f, p)
		case TargetMACAddr:
			t.MACAddr = nonEmpty(v, f, p)
		case TargetProcess:
			t.Process = decodeProcess(v, f, p, 0)
		case TargetProperties:
			if l, ok := strList(v, f, p); ok {
				t.Properties = l
			}
		case TargetURI:
			t.URI = nonEmpty(v, f, p)
		case "er":
			t.colonER = false
			if mm, ok := object(v, f, p); ok {
				if len(mm) == 0 {
					p.add(f, "must have exactly one er target, has none")
				}
				for _, kk := range sortedKeys(mm) {
					decodeProfileTarget(&t, "er:"+kk, mm[kk], join(f, kk), p)
				}
			}
		case "mdr":
			t.nestedMDR = true
			if mm, ok := object(v, f, p); ok {
				if len(mm) == 0 {
					p.add(f, "must have exactly one mdr target, has none")
				}
				for _, kk := range sortedKeys(mm) {
					decodeProfileTarget(&t, "mdr:"+kk, mm[kk], join(f, kk), p)
				}
			}
		default:
			if strings.HasPrefix(k, "er:") {
				t.colonER = true
				decodeProfileTarget(&t, k, v, f, p)
				continue
			}
			if strings.HasPrefix(k, "mdr:") {
				decodeProfileTarget(&t, k, v, f, p)
				continue
			}
			if strings.Contains(k, ":") || isNSIDKey(k) {
				if t.Extensions == nil {
					t.Extensions = make(map[string]json.RawMessage)
				}
				t.Extensions[k] = bytes.TrimSpace(v)
				continue
			}
			p.add(f, "unknown target type")
		}
	}
	return t
}

func decodeProfileTarget(t *Target, name string, v json.RawMessage, f string, p *problems) {
	switch name {
	case TargetAccount:
		t.Account = decodeAccount(v, f, p)
	case TargetRegistryEntry:
		t.RegistryEntry = decodeRegistryEntry(v, f, p)
	case TargetService:
		t.Service = decodeService(v, f, p)
	case TargetScheduledTask:
		t.ScheduledTask = decodeScheduledTask(v, f, p)
	default:
		p.add(f, "unknown target type %s", name)
	}
}

// nonEmpty decodes a string that must not be empty (an empty string would
// read back as an absent target).
func nonEmpty(v json.RawMessage, f string, p *problems) string {
	s, ok := str(v, f, p)
	if ok && s == "" {
		p.add(f, "must not be empty")
	}
	return s
}

// fields decodes an object whose members are all strings, calling set for
// each known one; unknown members are problems. It returns false when raw
// is not an object.
func fields(raw json.RawMessage, path, what string, p *problems, set func(k string, v json.RawMessage, f string) bool) bool {
	m, ok := object(raw, path, p)
	if !ok {
		return false
	}
	if len(m) == 0 {
		p.add(path, "%s must have at least one property", what)
	}
	for _, k := range sortedKeys(m) {
		if !set(k, m[k], join(path, k)) {
			p.add(join(path, k), "unknown property of %s", what)
		}
	}
	return true
}

func decodeDevice(raw json.RawMessage, path string, p *problems) *Device {
	d := &Device{}
	ok := fields(raw, path, "device", p, func(k string, v json.RawMessage, f string) bool {
		switch k {
		case "hostname":
			d.Hostname, _ = str(v, f, p)
		case "idn_hostname":
			d.IDNHostname, _ = str(v, f, p)
		case "device_id":
			d.DeviceID, _ = str(v, f, p)
		default:
			return false
		}
		return true
	})
	if !ok {
		return nil
	}
	return d
}

func decodeHashes(raw json.RawMessage, path string, p *problems) *Hashes {
	h := &Hashes{}
	ok := fields(raw, path, "hashes", p, func(k string, v json.RawMessage, f string) bool {
		switch k {
		case "md5":
			h.MD5, _ = str(v, f, p)
		case "sha1":
			h.SHA1, _ = str(v, f, p)
		case "sha256":
			h.SHA256, _ = str(v, f, p)
		default:
			return false
		}
		return true
	})
	if !ok {
		return nil
	}
	return h
}

func decodeFile(raw json.RawMessage, path string, p *problems) *File {
	fl := &File{}
	ok := fields(raw, path, "file", p, func(k string, v json.RawMessage, f string) bool {
		switch k {
		case "name":
			fl.Name, _ = str(v, f, p)
		case "path":
			fl.Path, _ = str(v, f, p)
		case "hashes":
			fl.Hashes = decodeHashes(v, f, p)
		default:
			return false
		}
		return true
	})
	if !ok {
		return nil
	}
	return fl
}

func decodeArtifact(raw json.RawMessage, path string, p *problems) *Artifact {
	a := &Artifact{}
	ok := fields(raw, path, "artifact", p, func(k string, v json.RawMessage, f string) bool {
		switch k {
		case "mime_type":
			a.MIMEType, _ = str(v, f, p)
		case "hashes":
			a.Hashes = decodeHashes(v, f, p)
		case "payload":
			pl := &Payload{}
			if m, ok := object(v, f, p); ok {
				if len(m) != 1 {
					p.add(f, "payload must have exactly one of bin and url, has %d", len(m))
				}
				for _, kk := range sortedKeys(m) {
					switch kk {
					case "bin":
						pl.Bin, _ = str(m[kk], join(f, kk), p)
					case "url":
						pl.URL, _ = str(m[kk], join(f, kk), p)
					default:
						p.add(join(f, kk), "unknown payload choice")
					}
				}
				a.Payload = pl
			}
		default:
			return false
		}
		return true
	})
	if !ok {
		return nil
	}
	return a
}

func decodePort(v json.RawMessage, f string, p *problems) *int {
	n, ok := integer(v, f, p)
	if !ok {
		return nil
	}
	if n < 0 || n > 65535 {
		p.add(f, "port %d out of range 0..65535", n)
	}
	i := int(n)
	return &i
}

func decodeConnection(raw json.RawMessage, path string, p *problems) *Connection {
	c := &Connection{}
	ok := fields(raw, path, "connection", p, func(k string, v json.RawMessage, f string) bool {
		switch k {
		case "src_addr":
			c.SrcAddr, _ = str(v, f, p)
		case "dst_addr":
			c.DstAddr, _ = str(v, f, p)
		case "src_port":
			c.SrcPort = decodePort(v, f, p)
		case "dst_port":
			c.DstPort = decodePort(v, f, p)
		case "protocol":
			s, _ := str(v, f, p)
			c.Protocol = L4Protocol(s)
		default:
			return false
		}
		return true
	})
	if !ok {
		return nil
	}
	return c
}

// maxProcessDepth bounds the nesting of process parents read from JSON.
const maxProcessDepth = 16

func decodeProcess(raw json.RawMessage, path string, p *problems, depth int) *Process {
	if depth > maxProcessDepth {
		p.add(path, "process parents nested deeper than %d", maxProcessDepth)
		return nil
	}
	pr := &Process{}
	ok := fields(raw, path, "process", p, func(k string, v json.RawMessage, f string) bool {
		switch k {
		case "pid":
			if n, ok := integer(v, f, p); ok {
				pr.PID = &n
			}
		case "name":
			pr.Name, _ = str(v, f, p)
		case "cwd":
			pr.CWD, _ = str(v, f, p)
		case "command_line":
			pr.CommandLine, _ = str(v, f, p)
		case "executable":
			pr.Executable = decodeFile(v, f, p)
		case "parent":
			pr.Parent = decodeProcess(v, f, p, depth+1)
		default:
			return false
		}
		return true
	})
	if !ok {
		return nil
	}
	return pr
}

func decodeAccount(raw json.RawMessage, path string, p *problems) *Account {
	a := &Account{}
	ok := fields(raw, path, "er:account", p, func(k string, v json.RawMessage, f string) bool {
		switch k {
		case "uid":
			a.UID, _ = str(v, f, p)
		case "account_name":
			a.AccountName, _ = str(v, f, p)
		case "directory":
			a.Directory, _ = str(v, f, p)
		default:
			return false
		}
		return true
	})
	if !ok {
		return nil
	}
	return a
}

func decodeRegistryEntry(raw json.RawMessage, path string, p *problems) *RegistryEntry {
	r := &RegistryEntry{}
	typed := false
	ok := fields(raw, path, "er:registry_entry", p, func(k string, v json.RawMessage, f string) bool {
		switch k {
		case "key":
			r.Key, _ = str(v, f, p)
		case "path":
			r.Path, _ = str(v, f, p)
		case "type":
			typed = true
			r.Type, _ = str(v, f, p)
		case "value":
			r.Value, _ = str(v, f, p)
		default:
			return false
		}
		return true
	})
	if !ok {
		return nil
	}
	if !typed {
		p.add(join(path, "type"), "required (registry value type, for example REG_SZ)")
	}
	return r
}

func decodeService(raw json.RawMessage, path string, p *problems) *Service {
	s := &Service{}
	ok := fields(raw, path, "er:service", p, func(k string, v json.RawMessage, f string) bool {
		switch k {
		case "name":
			s.Name, _ = str(v, f, p)
		case "display_name":
			s.DisplayName, _ = str(v, f, p)
		default:
			return false
		}
		return true
	})
	if !ok {
		return nil
	}
	return s
}

func decodeScheduledTask(raw json.RawMessage, path string, p *problems) *ScheduledTask {
	s := &ScheduledTask{}
	named := false
	ok := fields(raw, path, "mdr:scheduled_task", p, func(k string, v json.RawMessage, f string) bool {
		switch k {
		case "name":
			named = true
			s.Name, _ = str(v, f, p)
		case "command_line":
			s.CommandLine, _ = str(v, f, p)
		case "user":
			s.User, _ = str(v, f, p)
		case "trigger":
			s.Trigger, _ = str(v, f, p)
		case "enabled":
			if b, ok := boolean(v, f, p); ok {
				s.Enabled = &b
			}
		default:
			return false
		}
		return true
	})
	if !ok {
		return nil
	}
	if !named {
		p.add(join(path, "name"), "required")
	}
	return s
}

func decodeArgs(raw json.RawMessage, path string, p *problems) *Args {
	a := &Args{}
	m, ok := object(raw, path, p)
	if !ok {
		return nil
	}
	if len(m) == 0 {
		p.add(path, "must contain at least one argument when present")
	}
	for _, k := range sortedKeys(m) {
		v := m[k]
		f := join(path, k)
		switch k {
		case "start_time", "stop_time", "duration":
			n, ok := integer(v, f, p)
			if !ok {
				continue
			}
			switch k {
			case "start_time":
				a.StartTime = &n
			case "stop_time":
				a.StopTime = &n
			default:
				a.Duration = &n
			}
		case "response_requested":
			s, _ := str(v, f, p)
			a.ResponseRequested = ResponseType(s)
		case "er":
			a.ER = decodeERArgs(v, f, p)
		default:
			if a.Extensions == nil {
				a.Extensions = make(map[string]json.RawMessage)
			}
			a.Extensions[k] = bytes.TrimSpace(v)
		}
	}
	return a
}

func decodeERArgs(raw json.RawMessage, path string, p *problems) *ERArgs {
	e := &ERArgs{}
	m, ok := object(raw, path, p)
	if !ok {
		return nil
	}
	if len(m) == 0 {
		p.add(path, "must contain at least one argument when present")
	}
	for _, k := range sortedKeys(m) {
		v := m[k]
		f := join(path, k)
		switch k {
		case "account_status":
			s, _ := str(v, f, p)
			e.AccountStatus = AccountStatus(s)
		case "device_containment":
			s, _ := str(v, f, p)
			e.DeviceContainment = DeviceContainment(s)
		case "scan_depth":
			e.ScanDepth, _ = str(v, f, p)
		case "periodic_scan":
			e.PeriodicScan, _ = str(v, f, p)
		case "permitted_addresses":
			pa := &PermittedAddresses{}
			okObj := fields(v, f, "permitted_addresses", p, func(kk string, vv json.RawMessage, ff string) bool {
				var dst *[]string
				switch kk {
				case "domain_name":
					dst = &pa.DomainName
				case "ipv4_net":
					dst = &pa.IPv4Net
				case "ipv6_net":
					dst = &pa.IPv6Net
				default:
					return false
				}
				if l, ok := strList(vv, ff, p); ok {
					if len(l) == 0 {
						p.add(ff, "must list at least one address when present")
					}
					*dst = l
				}
				return true
			})
			if okObj {
				e.PermittedAddresses = pa
			}
		case "downstream_device":
			vv := bytes.TrimSpace(v)
			if len(vv) > 0 && vv[0] == '[' {
				e.ddArray = true
				items, ok := array(vv, f, p)
				if !ok {
					continue
				}
				if len(items) == 0 {
					p.add(f, "must list at least one downstream device when present")
				}
				for i, it := range items {
					if dd, ok := decodeDownstream(it, index(f, i), p); ok {
						e.DownstreamDevice = append(e.DownstreamDevice, dd)
					}
				}
				continue
			}
			if dd, ok := decodeDownstream(vv, f, p); ok {
				e.DownstreamDevice = []DownstreamDevice{dd}
			}
		default:
			p.add(f, "unknown er argument")
		}
	}
	return e
}

func decodeDownstream(raw json.RawMessage, path string, p *problems) (DownstreamDevice, bool) {
	var dd DownstreamDevice
	ok := fields(raw, path, "downstream_device", p, func(k string, v json.RawMessage, f string) bool {
		switch k {
		case "devices":
			items, ok := array(v, f, p)
			if !ok {
				return true
			}
			for i, it := range items {
				if d := decodeDevice(it, index(f, i), p); d != nil {
					dd.Devices = append(dd.Devices, *d)
				}
			}
		case "device_groups":
			dd.DeviceGroups, _ = strList(v, f, p)
		case "tenant_id":
			dd.TenantID, _ = str(v, f, p)
		default:
			return false
		}
		return true
	})
	return dd, ok
}

func decodeActuator(raw json.RawMessage, path string, p *problems) *ActuatorSpec {
	m, ok := object(raw, path, p)
	if !ok {
		return nil
	}
	a := &ActuatorSpec{}
	if len(m) == 0 {
		p.add(path, "must name exactly one actuator profile, names none")
		return a
	}
	keys := sortedKeys(m)
	a.Profile = keys[0]
	if len(keys) > 1 {
		p.add(path, "must name exactly one actuator profile, names %d (%s)", len(keys), strings.Join(keys, ", "))
		a.extra = make(map[string]json.RawMessage)
		for _, k := range keys[1:] {
			a.extra[k] = bytes.TrimSpace(m[k])
		}
	}
	f := join(path, a.Profile)
	spec, ok := object(m[a.Profile], f, p)
	if !ok {
		return a
	}
	for _, k := range sortedKeys(spec) {
		if k == "hostname" && (a.Profile == "er" || a.Profile == "mdr") {
			a.Hostname, _ = str(spec[k], join(f, k), p)
			continue
		}
		if a.Specifiers == nil {
			a.Specifiers = make(map[string]json.RawMessage)
		}
		a.Specifiers[k] = bytes.TrimSpace(spec[k])
	}
	return a
}

// MarshalJSON writes the target's choice(s) in OpenC2 JSON.
func (t Target) MarshalJSON() ([]byte, error) { return appendTarget(nil, &t), nil }

// MarshalJSON writes the arguments in OpenC2 JSON.
func (a Args) MarshalJSON() ([]byte, error) { return appendArgs(nil, &a), nil }

// MarshalJSON writes the er arguments in OpenC2 JSON.
func (e ERArgs) MarshalJSON() ([]byte, error) { return appendERArgs(nil, &e), nil }

// MarshalJSON writes the actuator as {"<profile>": {specifiers}}.
func (a ActuatorSpec) MarshalJSON() ([]byte, error) { return appendActuator(nil, &a), nil }
