package respond

import (
	"encoding/json"
	"slices"
	"strconv"
	"unicode/utf8"
)

// Hand-written JSON encoding of commands and responses. The dispatcher
// writes every command and response into its audit journal, and
// encoding/json's reflection (and its re-validation of every nested
// MarshalJSON result) dominated a command's CPU cost; these appenders
// write the same JSON in one pass. The corpus round-trip test checks them
// against the shared OpenC2 examples.

const hexDigits = "0123456789abcdef"

// appendString appends s as a JSON string (invalid UTF-8 becomes U+FFFD,
// as encoding/json does).
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i++
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// jw writes the members of one JSON object.
type jw struct {
	b     []byte
	first bool
}

func (w *jw) key(k string) {
	if !w.first {
		w.b = append(w.b, ',')
	}
	w.first = false
	w.b = appendString(w.b, k)
	w.b = append(w.b, ':')
}

func (w *jw) str(k, v string) {
	if v != "" {
		w.key(k)
		w.b = appendString(w.b, v)
	}
}

func (w *jw) strList(k string, l []string) {
	if l == nil {
		return
	}
	w.key(k)
	w.b = appendStrings(w.b, l)
}

func appendStrings(b []byte, l []string) []byte {
	b = append(b, '[')
	for i, s := range l {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, s)
	}
	return append(b, ']')
}

func (w *jw) int(k string, v *int64) {
	if v != nil {
		w.key(k)
		w.b = strconv.AppendInt(w.b, *v, 10)
	}
}

func (w *jw) raws(m map[string]json.RawMessage) {
	for _, k := range sortedRaw(m) {
		w.key(k)
		w.b = append(w.b, m[k]...)
	}
}

func sortedRaw[M ~map[string]V, V any](m M) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func open(b []byte) jw { return jw{b: append(b, '{'), first: true} }

func (w *jw) close() []byte { return append(w.b, '}') }

func appendDevice(b []byte, d *Device) []byte {
	w := open(b)
	w.str("hostname", d.Hostname)
	w.str("idn_hostname", d.IDNHostname)
	w.str("device_id", d.DeviceID)
	return w.close()
}

func appendHashes(b []byte, h *Hashes) []byte {
	w := open(b)
	w.str("md5", h.MD5)
	w.str("sha1", h.SHA1)
	w.str("sha256", h.SHA256)
	return w.close()
}

func appendFile(b []byte, f *File) []byte {
	w := open(b)
	w.str("name", f.Name)
	w.str("path", f.Path)
	if f.Hashes != nil {
		w.key("hashes")
		w.b = appendHashes(w.b, f.Hashes)
	}
	return w.close()
}

func appendProcess(b []byte, p *Process, depth int) []byte {
	w := open(b)
	w.int("pid", p.PID)
	w.str("name", p.Name)
	w.str("cwd", p.CWD)
	if p.Executable != nil {
		w.key("executable")
		w.b = appendFile(w.b, p.Executable)
	}
	if p.Parent != nil && depth < maxProcessDepth {
		w.key("parent")
		w.b = appendProcess(w.b, p.Parent, depth+1)
	}
	w.str("command_line", p.CommandLine)
	return w.close()
}

func appendConnection(b []byte, c *Connection) []byte {
	w := open(b)
	w.str("src_addr", c.SrcAddr)
	if c.SrcPort != nil {
		w.key("src_port")
		w.b = strconv.AppendInt(w.b, int64(*c.SrcPort), 10)
	}
	w.str("dst_addr", c.DstAddr)
	if c.DstPort != nil {
		w.key("dst_port")
		w.b = strconv.AppendInt(w.b, int64(*c.DstPort), 10)
	}
	w.str("protocol", string(c.Protocol))
	return w.close()
}

func appendArtifact(b []byte, a *Artifact) []byte {
	w := open(b)
	w.str("mime_type", a.MIMEType)
	if a.Payload != nil {
		w.key("payload")
		pw := open(w.b)
		pw.str("bin", a.Payload.Bin)
		pw.str("url", a.Payload.URL)
		w.b = pw.close()
	}
	if a.Hashes != nil {
		w.key("hashes")
		w.b = appendHashes(w.b, a.Hashes)
	}
	return w.close()
}

func appendAccount(b []byte, a *Account) []byte {
	w := open(b)
	w.str("uid", a.UID)
	w.str("account_name", a.AccountName)
	w.str("directory", a.Directory)
	return w.close()
}

func appendRegistryEntry(b []byte, r *RegistryEntry) []byte {
	w := open(b)
	w.str("key", r.Key)
	w.str("path", r.Path)
	w.key("type")
	w.b = appendString(w.b, r.Type)
	w.str("value", r.Value)
	return w.close()
}

func appendService(b []byte, s *Service) []byte {
	w := open(b)
	w.str("name", s.Name)
	w.str("display_name", s.DisplayName)
	return w.close()
}

func appendScheduledTask(b []byte, s *ScheduledTask) []byte {
	w := open(b)
	w.key("name")
	w.b = appendString(w.b, s.Name)
	w.str("command_line", s.CommandLine)
	w.str("user", s.User)
	w.str("trigger", s.Trigger)
	if s.Enabled != nil {
		w.key("enabled")
		w.b = strconv.AppendBool(w.b, *s.Enabled)
	}
	return w.close()
}

func appendTarget(b []byte, t *Target) []byte {
	w := open(b)
	if t.Artifact != nil {
		w.key(TargetArtifact)
		w.b = appendArtifact(w.b, t.Artifact)
	}
	w.str(TargetCommand, t.Command)
	if t.Device != nil {
		w.key(TargetDevice)
		w.b = appendDevice(w.b, t.Device)
	}
	w.str(TargetDomainName, t.DomainName)
	w.str(TargetEmailAddr, t.EmailAddr)
	if t.Features != nil {
		w.key(TargetFeatures)
		w.b = append(w.b, '[')
		for i, f := range *t.Features {
			if i > 0 {
				w.b = append(w.b, ',')
			}
			w.b = appendString(w.b, string(f))
		}
		w.b = append(w.b, ']')
	}
	if t.File != nil {
		w.key(TargetFile)
		w.b = appendFile(w.b, t.File)
	}
	w.str(TargetIDNDomainName, t.IDNDomainName)
	w.str(TargetIDNEmailAddr, t.IDNEmailAddr)
	w.str(TargetIPv4Net, t.IPv4Net)
	w.str(TargetIPv6Net, t.IPv6Net)
	if t.IPv4Connection != nil {
		w.key(TargetIPv4Connection)
		w.b = appendConnection(w.b, t.IPv4Connection)
	}
	if t.IPv6Connection != nil {
		w.key(TargetIPv6Connection)
		w.b = appendConnection(w.b, t.IPv6Connection)
	}
	w.str(TargetIRI, t.IRI)
	w.str(TargetMACAddr, t.MACAddr)
	if t.Process != nil {
		w.key(TargetProcess)
		w.b = appendProcess(w.b, t.Process, 0)
	}
	if t.Properties != nil {
		w.key(TargetProperties)
		w.b = appendStrings(w.b, t.Properties)
	}
	w.str(TargetURI, t.URI)
	if t.Account != nil || t.RegistryEntry != nil || t.Service != nil {
		if t.colonER {
			if t.Account != nil {
				w.key(TargetAccount)
				w.b = appendAccount(w.b, t.Account)
			}
			if t.RegistryEntry != nil {
				w.key(TargetRegistryEntry)
				w.b = appendRegistryEntry(w.b, t.RegistryEntry)
			}
			if t.Service != nil {
				w.key(TargetService)
				w.b = appendService(w.b, t.Service)
			}
		} else {
			w.key("er")
			ew := open(w.b)
			if t.Account != nil {
				ew.key("account")
				ew.b = appendAccount(ew.b, t.Account)
			}
			if t.RegistryEntry != nil {
				ew.key("registry_entry")
				ew.b = appendRegistryEntry(ew.b, t.RegistryEntry)
			}
			if t.Service != nil {
				ew.key("service")
				ew.b = appendService(ew.b, t.Service)
			}
			w.b = ew.close()
		}
	}
	if t.ScheduledTask != nil {
		if t.nestedMDR {
			w.key("mdr")
			mw := open(w.b)
			mw.key("scheduled_task")
			mw.b = appendScheduledTask(mw.b, t.ScheduledTask)
			w.b = mw.close()
		} else {
			w.key(TargetScheduledTask)
			w.b = appendScheduledTask(w.b, t.ScheduledTask)
		}
	}
	w.raws(t.Extensions)
	return w.close()
}

func appendDownstream(b []byte, d *DownstreamDevice) []byte {
	w := open(b)
	if d.Devices != nil {
		w.key("devices")
		w.b = append(w.b, '[')
		for i := range d.Devices {
			if i > 0 {
				w.b = append(w.b, ',')
			}
			w.b = appendDevice(w.b, &d.Devices[i])
		}
		w.b = append(w.b, ']')
	}
	w.strList("device_groups", d.DeviceGroups)
	w.str("tenant_id", d.TenantID)
	return w.close()
}

func appendERArgs(b []byte, e *ERArgs) []byte {
	w := open(b)
	w.str("account_status", string(e.AccountStatus))
	w.str("device_containment", string(e.DeviceContainment))
	if pa := e.PermittedAddresses; pa != nil {
		w.key("permitted_addresses")
		pw := open(w.b)
		pw.strList("domain_name", pa.DomainName)
		pw.strList("ipv4_net", pa.IPv4Net)
		pw.strList("ipv6_net", pa.IPv6Net)
		w.b = pw.close()
	}
	w.str("scan_depth", e.ScanDepth)
	w.str("periodic_scan", e.PeriodicScan)
	if len(e.DownstreamDevice) > 0 {
		w.key("downstream_device")
		if len(e.DownstreamDevice) == 1 && !e.ddArray {
			w.b = appendDownstream(w.b, &e.DownstreamDevice[0])
		} else {
			w.b = append(w.b, '[')
			for i := range e.DownstreamDevice {
				if i > 0 {
					w.b = append(w.b, ',')
				}
				w.b = appendDownstream(w.b, &e.DownstreamDevice[i])
			}
			w.b = append(w.b, ']')
		}
	}
	return w.close()
}

func appendArgs(b []byte, a *Args) []byte {
	w := open(b)
	w.int("start_time", a.StartTime)
	w.int("stop_time", a.StopTime)
	w.int("duration", a.Duration)
	w.str("response_requested", string(a.ResponseRequested))
	if a.ER != nil {
		w.key("er")
		w.b = appendERArgs(w.b, a.ER)
	}
	w.raws(a.Extensions)
	return w.close()
}

func appendActuator(b []byte, a *ActuatorSpec) []byte {
	w := open(b)
	w.key(a.Profile)
	sw := open(w.b)
	sw.str("hostname", a.Hostname)
	sw.raws(a.Specifiers)
	w.b = sw.close()
	w.raws(a.extra)
	return w.close()
}

// AppendJSON appends the command's OpenC2 JSON to b.
func (c *Command) AppendJSON(b []byte) []byte {
	w := open(b)
	w.key("action")
	w.b = appendString(w.b, string(c.Action))
	w.key("target")
	w.b = appendTarget(w.b, &c.Target)
	if c.Args != nil {
		w.key("args")
		w.b = appendArgs(w.b, c.Args)
	}
	if c.Actuator != nil {
		w.key("actuator")
		w.b = appendActuator(w.b, c.Actuator)
	}
	w.str("command_id", c.CommandID)
	w.str("profile", c.Profile)
	return w.close()
}

// MarshalJSON writes the command's OpenC2 JSON.
func (c Command) MarshalJSON() ([]byte, error) { return c.AppendJSON(nil), nil }

func appendPairs(b []byte, ps Pairs) []byte {
	keys := make([]string, 0, len(ps))
	for a := range ps {
		keys = append(keys, string(a))
	}
	slices.Sort(keys)
	w := open(b)
	for _, k := range keys {
		w.key(k)
		ts := ps[Action(k)]
		if ts == nil {
			ts = []string{}
		}
		w.b = appendStrings(w.b, ts)
	}
	return w.close()
}

func appendResults(b []byte, r *Results, undo *Command) []byte {
	w := open(b)
	w.strList("versions", r.Versions)
	w.strList("profiles", r.Profiles)
	if r.Pairs != nil {
		w.key("pairs")
		w.b = appendPairs(w.b, r.Pairs)
	}
	if r.RateLimit != nil {
		w.key("rate_limit")
		w.b = strconv.AppendFloat(w.b, *r.RateLimit, 'g', -1, 64)
	}
	ext := r.Extensions
	if undo != nil {
		// "mdr" sorts among the extensions
		keys := sortedRaw(ext)
		done := false
		for _, k := range keys {
			if !done && k > "mdr" {
				w.key("mdr")
				w.b = append(w.b, `{"undo":`...)
				w.b = undo.AppendJSON(w.b)
				w.b = append(w.b, '}')
				done = true
			}
			if k == "mdr" {
				continue
			}
			w.key(k)
			w.b = append(w.b, ext[k]...)
		}
		if !done {
			w.key("mdr")
			w.b = append(w.b, `{"undo":`...)
			w.b = undo.AppendJSON(w.b)
			w.b = append(w.b, '}')
		}
	} else {
		w.raws(ext)
	}
	return w.close()
}

// AppendJSON appends the response's OpenC2 JSON to b.
func (r *Response) AppendJSON(b []byte) []byte {
	w := open(b)
	w.key("status")
	w.b = strconv.AppendInt(w.b, int64(r.Status), 10)
	w.str("status_text", r.StatusText)
	if r.Results != nil || r.Undo != nil {
		w.key("results")
		res := r.Results
		if res == nil {
			res = &Results{}
		}
		w.b = appendResults(w.b, res, r.Undo)
	}
	return w.close()
}
