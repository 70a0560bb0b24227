package respond

import (
	"encoding/base64"
	"encoding/hex"
	"net/mail"
	"net/netip"
	"net/url"
	"regexp"
	"strings"
	"unicode/utf8"
)

// Validate checks c against OpenC2 Language Specification v1.0 and, when
// the command uses the Endpoint Response profile (an "er" actuator, an er
// target or er arguments) or mdrkit's "mdr" extension, against that
// profile: its action × target matrix and the arguments it requires. The
// error, if any, is a *ValidationError naming each field at fault.
//
// Validate does not know which pairs a particular actuator supports; use
// CheckPairs with the actuator's Features for that.
func (c *Command) Validate() error {
	var p problems
	c.validate(&p)
	return p.err("command")
}

// CheckPairs reports an error (a *ValidationError) when the command's
// action × target pair is not among pairs, the pairs an actuator declared
// in its features.
func (c *Command) CheckPairs(pairs Pairs) error {
	var p problems
	name := c.Target.Name()
	if name != "" && !pairs.Has(c.Action, name) {
		p.add("action", "the actuator does not support %s %s (not among its declared pairs)", c.Action, name)
	}
	return p.err("command")
}

var (
	nsidRE     = regexp.MustCompile(`^x-[a-z0-9][a-z0-9_]*$`)
	extNameRE  = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_]*$`)
	versionRE  = regexp.MustCompile(`^v?\d+\.\d+`)
	macRE      = regexp.MustCompile(`^[0-9A-Fa-f]{2}([:-][0-9A-Fa-f]{2}){5}$|^[0-9A-Fa-f]{2}([:-][0-9A-Fa-f]{2}){7}$`)
	commandIDR = regexp.MustCompile(`^\S{0,36}$`)
)

// maxNSID bounds namespace identifiers. LS v1.0 defines Nsid as
// String{1..16}, but the 2020 plugfest accepted longer non-standard ones
// ("x-mycompany_with_underscore"); 32 keeps those and refuses the
// plugfest's deliberately over-long names.
const maxNSID = 32

// checkNSID reports whether ns may name a profile namespace: a known
// profile, or "x-" with lower-case letters, digits and underscores.
func checkNSID(ns string) string {
	switch {
	case ns == "":
		return "empty namespace identifier"
	case len(ns) > maxNSID:
		return "namespace identifier longer than 32 characters"
	case knownProfiles[ns]:
		return ""
	case strings.HasPrefix(ns, "x-"):
		if !nsidRE.MatchString(ns) {
			return "malformed non-standard namespace " + quote(ns) + " (x- then lower-case letters, digits and underscores)"
		}
		return ""
	case strings.HasPrefix(strings.ToLower(ns), "x-"):
		return "non-standard namespace " + quote(ns) + " must start with lower-case x-"
	}
	return "unknown namespace " + quote(ns) + " (not a known actuator profile, and not prefixed with x-)"
}

// checkExtName checks an extension target name "nsid:name" (LS v1.0) or
// "nsid/name" (as features pairs of later drafts write it).
func checkExtName(name string) string {
	i := strings.IndexAny(name, ":/")
	if i < 0 {
		if r := checkNSID(name); r != "" {
			return r
		}
		return ""
	}
	if r := checkNSID(name[:i]); r != "" {
		return r
	}
	if !extNameRE.MatchString(name[i+1:]) {
		return "malformed extension name " + quote(name[i+1:]) + " (a letter, then letters, digits and underscores)"
	}
	return ""
}

func quote(s string) string { return `"` + s + `"` }

func (c *Command) validate(p *problems) { c.validateAs(p, false, false) }

func (c *Command) validateAs(p *problems, forceER, mdrExt bool) {
	switch {
	case c.Action == "":
		if !hasProblem(p, "action") {
			p.add("action", "required")
		}
	case !c.Action.Valid():
		p.add("action", "unknown action %q (OpenC2 has exactly 20 actions, which may not be extended)", c.Action)
	}
	if c.CommandID != "" && !commandIDR.MatchString(c.CommandID) {
		p.add("command_id", "must be at most 36 characters without white space")
	}
	if c.Profile != "" {
		if r := checkNSID(c.Profile); r != "" {
			p.add("profile", "%s", r)
		}
	}
	c.Target.validate("target", p)
	if c.Args != nil {
		c.Args.validate("args", p)
	}
	if c.Actuator != nil {
		c.Actuator.validate("actuator", p)
	}
	c.profileRules(p, forceER, mdrExt)
}

func hasProblem(p *problems, field string) bool {
	for _, q := range p.list {
		if q.Field == field {
			return true
		}
	}
	return false
}

func (t *Target) validate(path string, p *problems) {
	names := t.Names()
	switch len(names) {
	case 0:
		if !hasProblem(p, path) {
			p.add(path, "must have exactly one target, has none")
		}
		return
	case 1:
	default:
		p.add(path, "must have exactly one target, has %d (%s)", len(names), strings.Join(names, ", "))
	}
	if t.Artifact != nil {
		f := join(path, TargetArtifact)
		a := t.Artifact
		if a.MIMEType == "" && a.Payload == nil && a.Hashes == nil {
			p.add(f, "artifact must have at least one property")
		}
		if a.Payload != nil {
			switch {
			case (a.Payload.Bin == "") == (a.Payload.URL == ""):
				p.add(join(f, "payload"), "must have exactly one of bin and url")
			case a.Payload.Bin != "":
				if !validBase64(a.Payload.Bin) {
					p.add(join(f, "payload.bin"), "not base64 data")
				}
			default:
				checkURI(a.Payload.URL, join(f, "payload.url"), p)
			}
		}
		if a.Hashes != nil {
			a.Hashes.validate(join(f, "hashes"), p)
		}
	}
	if t.Command != "" && !commandIDR.MatchString(t.Command) {
		p.add(join(path, TargetCommand), "must be a command id: at most 36 characters without white space")
	}
	if t.Device != nil {
		t.Device.validate(join(path, TargetDevice), p)
	}
	if t.DomainName != "" {
		checkHostname(t.DomainName, join(path, TargetDomainName), p)
	}
	if t.IDNDomainName != "" {
		checkIDNHostname(t.IDNDomainName, join(path, TargetIDNDomainName), p)
	}
	if t.EmailAddr != "" {
		checkEmail(t.EmailAddr, false, join(path, TargetEmailAddr), p)
	}
	if t.IDNEmailAddr != "" {
		checkEmail(t.IDNEmailAddr, true, join(path, TargetIDNEmailAddr), p)
	}
	if t.Features != nil {
		f := join(path, TargetFeatures)
		if len(*t.Features) > 10 {
			p.add(f, "at most 10 features, has %d", len(*t.Features))
		}
		seen := map[Feature]bool{}
		for i, ft := range *t.Features {
			switch ft {
			case FeatureVersions, FeatureProfiles, FeaturePairs, FeatureRateLimit:
			default:
				p.add(index(f, i), "unknown feature %q (versions, profiles, pairs, rate_limit)", ft)
			}
			if seen[ft] {
				p.add(index(f, i), "feature %q listed twice", ft)
			}
			seen[ft] = true
		}
	}
	if t.File != nil {
		t.File.validate(join(path, TargetFile), p)
	}
	if t.IPv4Net != "" {
		checkNet(t.IPv4Net, 4, join(path, TargetIPv4Net), p)
	}
	if t.IPv6Net != "" {
		checkNet(t.IPv6Net, 6, join(path, TargetIPv6Net), p)
	}
	if t.IPv4Connection != nil {
		t.IPv4Connection.validate(4, join(path, TargetIPv4Connection), p)
	}
	if t.IPv6Connection != nil {
		t.IPv6Connection.validate(6, join(path, TargetIPv6Connection), p)
	}
	if t.IRI != "" {
		checkURI(t.IRI, join(path, TargetIRI), p)
	}
	if t.URI != "" {
		checkURI(t.URI, join(path, TargetURI), p)
	}
	if t.MACAddr != "" && !macRE.MatchString(t.MACAddr) {
		p.add(join(path, TargetMACAddr), "not an EUI-48 or EUI-64 address in colon hexadecimal")
	}
	if t.Process != nil {
		t.Process.validate(join(path, TargetProcess), p, 0)
	}
	if t.Properties != nil {
		f := join(path, TargetProperties)
		if len(t.Properties) == 0 {
			p.add(f, "must list at least one property")
		}
		seen := map[string]bool{}
		for i, s := range t.Properties {
			if s == "" {
				p.add(index(f, i), "empty property name")
			}
			if seen[s] {
				p.add(index(f, i), "property %q listed twice", s)
			}
			seen[s] = true
		}
	}
	erPath := func(name string) string {
		if t.colonER {
			return join(path, "er:"+name)
		}
		return join(path, "er."+name)
	}
	if a := t.Account; a != nil && a.UID == "" && a.AccountName == "" && a.Directory == "" {
		p.add(erPath("account"), "er:account must have at least one property")
	}
	if r := t.RegistryEntry; r != nil {
		f := erPath("registry_entry")
		if r.Type == "" {
			if !hasProblem(p, join(f, "type")) {
				p.add(join(f, "type"), "required (registry value type, for example REG_SZ)")
			}
		} else if !regTypes[r.Type] {
			p.add(join(f, "type"), "unknown registry value type %q (a Winnt.h type such as REG_SZ or REG_DWORD)", r.Type)
		}
	}
	if s := t.Service; s != nil && s.Name == "" && s.DisplayName == "" {
		p.add(erPath("service"), "er:service must have at least one property")
	}
	if st := t.ScheduledTask; st != nil && st.Name == "" {
		f := join(path, TargetScheduledTask)
		if t.nestedMDR {
			f = join(path, "mdr.scheduled_task")
		}
		if !hasProblem(p, join(f, "name")) {
			p.add(join(f, "name"), "required")
		}
	}
	for _, k := range sortedKeys(t.Extensions) {
		if r := checkExtName(k); r != "" {
			p.add(join(path, k), "%s", r)
		}
	}
}

// regTypes are the registry value types of Winnt.h.
var regTypes = map[string]bool{
	"REG_NONE": true, "REG_SZ": true, "REG_EXPAND_SZ": true, "REG_BINARY": true,
	"REG_DWORD": true, "REG_DWORD_LITTLE_ENDIAN": true, "REG_DWORD_BIG_ENDIAN": true,
	"REG_LINK": true, "REG_MULTI_SZ": true, "REG_RESOURCE_LIST": true,
	"REG_FULL_RESOURCE_DESCRIPTOR": true, "REG_RESOURCE_REQUIREMENTS_LIST": true,
	"REG_QWORD": true, "REG_QWORD_LITTLE_ENDIAN": true,
}

func (d *Device) validate(f string, p *problems) {
	if d.Hostname == "" && d.IDNHostname == "" && d.DeviceID == "" {
		p.add(f, "device must have at least one property")
	}
	if d.Hostname != "" {
		checkHostname(d.Hostname, join(f, "hostname"), p)
	}
	if d.IDNHostname != "" {
		checkIDNHostname(d.IDNHostname, join(f, "idn_hostname"), p)
	}
}

func (h *Hashes) validate(f string, p *problems) {
	if h.MD5 == "" && h.SHA1 == "" && h.SHA256 == "" {
		if !hasProblem(p, f) {
			p.add(f, "hashes must have at least one of md5, sha1, sha256")
		}
		return
	}
	check := func(name, v string, n int) {
		if v == "" {
			return
		}
		b, err := hex.DecodeString(v)
		if err != nil || len(b) != n {
			p.add(join(f, name), "must be %d hexadecimal digits", 2*n)
		}
	}
	check("md5", h.MD5, 16)
	check("sha1", h.SHA1, 20)
	check("sha256", h.SHA256, 32)
}

func (fl *File) validate(f string, p *problems) {
	if fl.Name == "" && fl.Path == "" && fl.Hashes == nil {
		if !hasProblem(p, f) {
			p.add(f, "file must have at least one property")
		}
	}
	if fl.Hashes != nil {
		fl.Hashes.validate(join(f, "hashes"), p)
	}
}

func (c *Connection) validate(v int, f string, p *problems) {
	if c.SrcAddr == "" && c.DstAddr == "" && c.SrcPort == nil && c.DstPort == nil && c.Protocol == "" {
		if !hasProblem(p, f) {
			p.add(f, "connection must have at least one property")
		}
	}
	if c.SrcAddr != "" {
		checkNet(c.SrcAddr, v, join(f, "src_addr"), p)
	}
	if c.DstAddr != "" {
		checkNet(c.DstAddr, v, join(f, "dst_addr"), p)
	}
	for _, pp := range []struct {
		name string
		port *int
	}{{"src_port", c.SrcPort}, {"dst_port", c.DstPort}} {
		if pp.port != nil && (*pp.port < 0 || *pp.port > 65535) && !hasProblem(p, join(f, pp.name)) {
			p.add(join(f, pp.name), "port %d out of range 0..65535", *pp.port)
		}
	}
	switch c.Protocol {
	case "", "icmp", "tcp", "udp", "sctp":
	default:
		p.add(join(f, "protocol"), "unknown layer-4 protocol %q (icmp, tcp, udp, sctp)", c.Protocol)
	}
}

func (pr *Process) validate(f string, p *problems, depth int) {
	if depth > maxProcessDepth {
		return
	}
	if pr.PID == nil && pr.Name == "" && pr.CWD == "" && pr.Executable == nil && pr.Parent == nil && pr.CommandLine == "" {
		if !hasProblem(p, f) {
			p.add(f, "process must have at least one property")
		}
	}
	if pr.PID != nil && *pr.PID < 0 {
		p.add(join(f, "pid"), "must not be negative")
	}
	if pr.Executable != nil {
		pr.Executable.validate(join(f, "executable"), p)
	}
	if pr.Parent != nil {
		pr.Parent.validate(join(f, "parent"), p, depth+1)
	}
}

func (a *Args) validate(f string, p *problems) {
	if a.StartTime == nil && a.StopTime == nil && a.Duration == nil && a.ResponseRequested == "" && a.ER == nil && len(a.Extensions) == 0 {
		if !hasProblem(p, f) {
			p.add(f, "must contain at least one argument when present")
		}
	}
	if a.StartTime != nil && a.StopTime != nil && a.Duration != nil {
		p.add(f, "start_time, stop_time and duration given together; at most two are allowed")
	}
	for _, t := range []struct {
		name string
		v    *int64
	}{{"start_time", a.StartTime}, {"stop_time", a.StopTime}, {"duration", a.Duration}} {
		if t.v != nil && *t.v < 0 {
			p.add(join(f, t.name), "must not be negative")
		}
	}
	if a.StartTime != nil && a.StopTime != nil && *a.StopTime < *a.StartTime {
		p.add(join(f, "stop_time"), "before start_time")
	}
	switch a.ResponseRequested {
	case "", ResponseNone, ResponseAck, ResponseStatus, ResponseComplete:
	default:
		p.add(join(f, "response_requested"), "unknown response type %q (none, ack, status, complete)", a.ResponseRequested)
	}
	for _, k := range sortedKeys(a.Extensions) {
		if r := checkNSID(k); r != "" {
			p.add(join(f, k), "%s", r)
		}
	}
	if a.ER != nil {
		a.ER.validate(join(f, "er"), p)
	}
}

func (e *ERArgs) validate(f string, p *problems) {
	if e.AccountStatus == "" && e.DeviceContainment == "" && e.PermittedAddresses == nil && e.ScanDepth == "" && e.PeriodicScan == "" && len(e.DownstreamDevice) == 0 {
		if !hasProblem(p, f) {
			p.add(f, "must contain at least one argument when present")
		}
	}
	switch e.AccountStatus {
	case "", AccountEnabled, AccountDisabled:
	default:
		p.add(join(f, "account_status"), "unknown account status %q (enabled, disabled)", e.AccountStatus)
	}
	switch e.DeviceContainment {
	case "", NetworkIsolation, AppRestriction, DisableNIC:
	default:
		p.add(join(f, "device_containment"), "unknown containment %q (network_isolation, app_restriction, disable_nic)", e.DeviceContainment)
	}
	switch e.ScanDepth {
	case "", "shallow", "deep":
	default:
		p.add(join(f, "scan_depth"), "unknown scan depth %q (shallow, deep)", e.ScanDepth)
	}
	switch e.PeriodicScan {
	case "", "enabled", "disabled":
	default:
		p.add(join(f, "periodic_scan"), "unknown periodic scan %q (enabled, disabled)", e.PeriodicScan)
	}
	if pa := e.PermittedAddresses; pa != nil {
		pf := join(f, "permitted_addresses")
		if pa.DomainName == nil && pa.IPv4Net == nil && pa.IPv6Net == nil && !hasProblem(p, pf) {
			p.add(pf, "must list at least one address")
		}
		for i, d := range pa.DomainName {
			checkHostname(d, index(join(pf, "domain_name"), i), p)
		}
		for i, n := range pa.IPv4Net {
			checkNet(n, 4, index(join(pf, "ipv4_net"), i), p)
		}
		for i, n := range pa.IPv6Net {
			checkNet(n, 6, index(join(pf, "ipv6_net"), i), p)
		}
	}
	for i, dd := range e.DownstreamDevice {
		df := join(f, "downstream_device")
		if e.ddArray || len(e.DownstreamDevice) > 1 {
			df = index(df, i)
		}
		if len(dd.Devices) == 0 && len(dd.DeviceGroups) == 0 && dd.TenantID == "" {
			if !hasProblem(p, df) {
				p.add(df, "downstream_device must have at least one property")
			}
		}
		for j := range dd.Devices {
			dd.Devices[j].validate(index(join(df, "devices"), j), p)
		}
	}
}

func (a *ActuatorSpec) validate(f string, p *problems) {
	if a.Profile == "" {
		if !hasProblem(p, f) {
			p.add(f, "must name exactly one actuator profile")
		}
		return
	}
	pf := join(f, a.Profile)
	if r := checkNSID(a.Profile); r != "" {
		p.add(pf, "%s", r)
	}
	if a.Hostname != "" {
		checkHostname(a.Hostname, join(pf, "hostname"), p)
	}
	if a.Profile == "er" {
		for _, k := range sortedKeys(a.Specifiers) {
			p.add(join(pf, k), "unknown er actuator specifier (the er profile defines only hostname)")
		}
	}
}

// checkHostname checks an RFC 1123 host name (a domain name, for
// domain_name targets).
func checkHostname(h, f string, p *problems) {
	if r := hostnameProblem(strings.TrimSuffix(h, "."), false); r != "" {
		p.add(f, "%s", r)
	}
}

func checkIDNHostname(h, f string, p *problems) {
	if r := hostnameProblem(strings.TrimSuffix(h, "."), true); r != "" {
		p.add(f, "%s", r)
	}
}

func hostnameProblem(h string, idn bool) string {
	if h == "" {
		return "empty host name"
	}
	if len(h) > 253 {
		return "host name longer than 253 characters"
	}
	for _, label := range strings.Split(h, ".") {
		if label == "" {
			return "host name " + quote(h) + " has an empty label"
		}
		if len(label) > 63 {
			return "host name label longer than 63 characters"
		}
		if label[0] == '-' || label[len(label)-1] == '-' {
			return "host name label " + quote(label) + " starts or ends with a hyphen"
		}
		for _, r := range label {
			ok := r == '-' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9'
			if idn && r >= utf8.RuneSelf {
				ok = true
			}
			if !ok {
				return "host name " + quote(h) + " has a character not allowed in a host name: " + quote(string(r))
			}
		}
	}
	return ""
}

func checkEmail(s string, idn bool, f string, p *problems) {
	a, err := mail.ParseAddress(s)
	if err != nil || a.Address != s || a.Name != "" {
		p.add(f, "not an email address")
		return
	}
	at := strings.LastIndexByte(s, '@')
	if r := hostnameProblem(s[at+1:], idn); r != "" {
		p.add(f, "email domain: %s", r)
	}
	if !idn {
		for i := 0; i < len(s); i++ {
			if s[i] >= utf8.RuneSelf {
				p.add(f, "non-ASCII email address (use idn_email_addr)")
				return
			}
		}
	}
}

func checkURI(s, f string, p *problems) {
	u, err := url.Parse(s)
	if err != nil {
		p.add(f, "not a URI: %v", err)
		return
	}
	if u.Scheme == "" {
		p.add(f, "not an absolute URI (no scheme)")
	}
}

// checkNet checks an IPv4-Net or IPv6-Net: an address with an optional
// prefix length.
func checkNet(s string, v int, f string, p *problems) {
	what := "IPv4"
	if v == 6 {
		what = "IPv6"
	}
	addrPart, bitsPart, hasBits := strings.Cut(s, "/")
	addr, err := netip.ParseAddr(addrPart)
	if err != nil || addr.Zone() != "" {
		p.add(f, "%q is not an %s address", addrPart, what)
		return
	}
	if v == 4 && !addr.Is4() || v == 6 && !addr.Is6() {
		p.add(f, "%q is not an %s address", addrPart, what)
		return
	}
	if hasBits {
		if _, err := netip.ParsePrefix(addr.String() + "/" + bitsPart); err != nil || strings.HasPrefix(bitsPart, "+") {
			p.add(f, "bad prefix length %q for an %s address", bitsPart, what)
		}
	}
}

// NetPrefix parses an IPv4-Net or IPv6-Net value into a prefix (a single
// address has the full length).
func NetPrefix(s string) (netip.Prefix, error) {
	addrPart, bitsPart, hasBits := strings.Cut(s, "/")
	addr, err := netip.ParseAddr(addrPart)
	if err != nil {
		return netip.Prefix{}, err
	}
	if !hasBits {
		return netip.PrefixFrom(addr, addr.BitLen()), nil
	}
	return netip.ParsePrefix(addr.String() + "/" + bitsPart)
}

func validBase64(s string) bool {
	for _, enc := range []*base64.Encoding{base64.RawURLEncoding, base64.URLEncoding, base64.StdEncoding, base64.RawStdEncoding} {
		if _, err := enc.DecodeString(s); err == nil {
			return true
		}
	}
	return false
}
