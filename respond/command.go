package respond

import (
	"encoding/json"
	"strings"
)

// Action is an OpenC2 action, the verb of a command. The twenty actions of
// OpenC2 Language Specification v1.0 §3.3.1.1 are the only ones allowed:
// the list may not be extended by profiles.
type Action string

// The OpenC2 v1.0 actions.
const (
	ActionScan        Action = "scan"
	ActionLocate      Action = "locate"
	ActionQuery       Action = "query"
	ActionDeny        Action = "deny"
	ActionContain     Action = "contain"
	ActionAllow       Action = "allow"
	ActionStart       Action = "start"
	ActionStop        Action = "stop"
	ActionRestart     Action = "restart"
	ActionCancel      Action = "cancel"
	ActionSet         Action = "set"
	ActionUpdate      Action = "update"
	ActionRedirect    Action = "redirect"
	ActionCreate      Action = "create"
	ActionDelete      Action = "delete"
	ActionDetonate    Action = "detonate"
	ActionRestore     Action = "restore"
	ActionCopy        Action = "copy"
	ActionInvestigate Action = "investigate"
	ActionRemediate   Action = "remediate"
)

// Actions lists the twenty OpenC2 v1.0 actions in the order of the
// specification's table.
func Actions() []Action {
	return []Action{ActionScan, ActionLocate, ActionQuery, ActionDeny, ActionContain,
		ActionAllow, ActionStart, ActionStop, ActionRestart, ActionCancel, ActionSet,
		ActionUpdate, ActionRedirect, ActionCreate, ActionDelete, ActionDetonate,
		ActionRestore, ActionCopy, ActionInvestigate, ActionRemediate}
}

// Valid reports whether a is one of the twenty OpenC2 actions.
func (a Action) Valid() bool {
	switch a {
	case ActionScan, ActionLocate, ActionQuery, ActionDeny, ActionContain,
		ActionAllow, ActionStart, ActionStop, ActionRestart, ActionCancel, ActionSet,
		ActionUpdate, ActionRedirect, ActionCreate, ActionDelete, ActionDetonate,
		ActionRestore, ActionCopy, ActionInvestigate, ActionRemediate:
		return true
	}
	return false
}

// Command is an OpenC2 command (Language Specification v1.0 §3.3.1, with
// the Endpoint Response profile's targets and arguments): an action on a
// target, with optional arguments, an optional actuator specifier and an
// optional command id. Its JSON is exactly the OpenC2 JSON serialisation;
// decoding is strict about shape (unknown fields, wrong JSON types) and
// keeps values that are well-formed JSON but invalid OpenC2 so that
// Validate can name every problem. ParseCommand decodes and validates.
//
// A Command is a plain value; it is safe to share as long as nobody
// modifies it.
type Command struct {
	Action   Action        `json:"action"`
	Target   Target        `json:"target"`
	Args     *Args         `json:"args,omitempty"`
	Actuator *ActuatorSpec `json:"actuator,omitempty"`
	// CommandID identifies the command (Command-ID: up to 36
	// non-whitespace characters). The dispatcher uses it for idempotency.
	CommandID string `json:"command_id,omitempty"`
	// Profile is the LS v2.0 "profile" member, accepted for messages that
	// carry it; OpenC2 v1.0 commands leave it empty.
	Profile string `json:"profile,omitempty"`
}

// Target is the choice of an OpenC2 target: exactly one field is set in a
// valid command. The er profile's targets (er:account, er:registry_entry,
// er:service) and mdrkit's own mdr:scheduled_task have typed fields;
// targets of other profiles are kept as raw JSON in Extensions, keyed as
// written ("slpf:rule_number", "x-acme:container", or a bare NSID such as
// "blinky" whose value is the profile's own choice).
//
// Profile targets are written in the nested form of the er profile
// ({"er": {"account": {...}}}) for er, and as "mdr:scheduled_task" for
// mdr; a decoded target keeps the form it was read in, so messages
// round-trip to equal JSON.
type Target struct {
	Artifact       *Artifact   `json:"artifact,omitempty"`
	Command        string      `json:"command,omitempty"` // a previous command's id
	Device         *Device     `json:"device,omitempty"`
	DomainName     string      `json:"domain_name,omitempty"`
	EmailAddr      string      `json:"email_addr,omitempty"`
	Features       *[]Feature  `json:"features,omitempty"` // may point to an empty list
	File           *File       `json:"file,omitempty"`
	IDNDomainName  string      `json:"idn_domain_name,omitempty"`
	IDNEmailAddr   string      `json:"idn_email_addr,omitempty"`
	IPv4Net        string      `json:"ipv4_net,omitempty"` // "192.0.2.0/24" or a single address
	IPv6Net        string      `json:"ipv6_net,omitempty"`
	IPv4Connection *Connection `json:"ipv4_connection,omitempty"`
	IPv6Connection *Connection `json:"ipv6_connection,omitempty"`
	IRI            string      `json:"iri,omitempty"`
	MACAddr        string      `json:"mac_addr,omitempty"`
	Process        *Process    `json:"process,omitempty"`
	Properties     []string    `json:"properties,omitempty"`
	URI            string      `json:"uri,omitempty"`

	Account       *Account       `json:"-"` // er:account
	RegistryEntry *RegistryEntry `json:"-"` // er:registry_entry
	Service       *Service       `json:"-"` // er:service
	ScheduledTask *ScheduledTask `json:"-"` // mdr:scheduled_task

	// Extensions holds targets of other profiles as raw JSON.
	Extensions map[string]json.RawMessage `json:"-"`

	// colonER / nestedMDR record the form profile targets were read in.
	colonER, nestedMDR bool
}

// Target type names as they appear in JSON and in features pairs.
const (
	TargetArtifact       = "artifact"
	TargetCommand        = "command"
	TargetDevice         = "device"
	TargetDomainName     = "domain_name"
	TargetEmailAddr      = "email_addr"
	TargetFeatures       = "features"
	TargetFile           = "file"
	TargetIDNDomainName  = "idn_domain_name"
	TargetIDNEmailAddr   = "idn_email_addr"
	TargetIPv4Net        = "ipv4_net"
	TargetIPv6Net        = "ipv6_net"
	TargetIPv4Connection = "ipv4_connection"
	TargetIPv6Connection = "ipv6_connection"
	TargetIRI            = "iri"
	TargetMACAddr        = "mac_addr"
	TargetProcess        = "process"
	TargetProperties     = "properties"
	TargetURI            = "uri"
	TargetAccount        = "er:account"
	TargetRegistryEntry  = "er:registry_entry"
	TargetService        = "er:service"
	TargetScheduledTask  = "mdr:scheduled_task"
)

// Names returns the names of the target's choices that are set, normally
// exactly one ("device", "er:account", "slpf:rule_number", ...).
func (t *Target) Names() []string {
	var out []string
	add := func(set bool, name string) {
		if set {
			out = append(out, name)
		}
	}
	add(t.Artifact != nil, TargetArtifact)
	add(t.Command != "", TargetCommand)
	add(t.Device != nil, TargetDevice)
	add(t.DomainName != "", TargetDomainName)
	add(t.EmailAddr != "", TargetEmailAddr)
	add(t.Features != nil, TargetFeatures)
	add(t.File != nil, TargetFile)
	add(t.IDNDomainName != "", TargetIDNDomainName)
	add(t.IDNEmailAddr != "", TargetIDNEmailAddr)
	add(t.IPv4Net != "", TargetIPv4Net)
	add(t.IPv6Net != "", TargetIPv6Net)
	add(t.IPv4Connection != nil, TargetIPv4Connection)
	add(t.IPv6Connection != nil, TargetIPv6Connection)
	add(t.IRI != "", TargetIRI)
	add(t.MACAddr != "", TargetMACAddr)
	add(t.Process != nil, TargetProcess)
	add(t.Properties != nil, TargetProperties)
	add(t.URI != "", TargetURI)
	add(t.Account != nil, TargetAccount)
	add(t.RegistryEntry != nil, TargetRegistryEntry)
	add(t.Service != nil, TargetService)
	add(t.ScheduledTask != nil, TargetScheduledTask)
	return append(out, sortedKeys(t.Extensions)...)
}

// Name returns the name of the target's choice, or "" when not exactly one
// is set.
func (t *Target) Name() string {
	n := t.Names()
	if len(n) != 1 {
		return ""
	}
	return n[0]
}

// Feature names an item of a query features command (LS §3.4.2.4).
type Feature string

// The four features.
const (
	FeatureVersions  Feature = "versions"
	FeatureProfiles  Feature = "profiles"
	FeaturePairs     Feature = "pairs"
	FeatureRateLimit Feature = "rate_limit"
)

// Artifact is an array of bytes or a link to it (LS §3.4.1.1).
type Artifact struct {
	MIMEType string   `json:"mime_type,omitempty"`
	Payload  *Payload `json:"payload,omitempty"`
	Hashes   *Hashes  `json:"hashes,omitempty"`
}

// Payload is the choice of literal content (base64url) or a URL.
type Payload struct {
	Bin string `json:"bin,omitempty"`
	URL string `json:"url,omitempty"`
}

// Device is a hardware device (LS §3.4.1.2). At least one field is set.
type Device struct {
	Hostname    string `json:"hostname,omitempty"`
	IDNHostname string `json:"idn_hostname,omitempty"`
	DeviceID    string `json:"device_id,omitempty"`
}

// Host returns the name that identifies the device: its hostname, its
// internationalised hostname, or its device id.
func (d *Device) Host() string {
	switch {
	case d == nil:
		return ""
	case d.Hostname != "":
		return d.Hostname
	case d.IDNHostname != "":
		return d.IDNHostname
	}
	return d.DeviceID
}

// File is a file (LS §3.4.1.6). At least one field is set.
type File struct {
	Name   string  `json:"name,omitempty"`
	Path   string  `json:"path,omitempty"`
	Hashes *Hashes `json:"hashes,omitempty"`
}

// Hashes are hex-encoded digests (LS §3.4.2.5); at least one is set.
type Hashes struct {
	MD5    string `json:"md5,omitempty"`
	SHA1   string `json:"sha1,omitempty"`
	SHA256 string `json:"sha256,omitempty"`
}

// Connection is an IPv4 or IPv6 5-tuple (LS §3.4.1.10, §3.4.1.12). At
// least one field is set.
type Connection struct {
	SrcAddr  string     `json:"src_addr,omitempty"`
	SrcPort  *int       `json:"src_port,omitempty"`
	DstAddr  string     `json:"dst_addr,omitempty"`
	DstPort  *int       `json:"dst_port,omitempty"`
	Protocol L4Protocol `json:"protocol,omitempty"`
}

// L4Protocol is a layer-4 protocol name: icmp, tcp, udp or sctp.
type L4Protocol string

// Process is an operating-system process (LS §3.4.1.15). At least one
// field is set.
type Process struct {
	PID         *int64   `json:"pid,omitempty"`
	Name        string   `json:"name,omitempty"`
	CWD         string   `json:"cwd,omitempty"`
	Executable  *File    `json:"executable,omitempty"`
	Parent      *Process `json:"parent,omitempty"`
	CommandLine string   `json:"command_line,omitempty"`
}

// Account is the er profile's er:account target (er §2.1.3): a user
// account on an endpoint. At least one field is set.
type Account struct {
	UID         string `json:"uid,omitempty"`
	AccountName string `json:"account_name,omitempty"`
	Directory   string `json:"directory,omitempty"`
}

// RegistryEntry is the er profile's er:registry_entry target: a Windows
// registry value. Type (a Winnt.h value type such as REG_SZ) is required.
// Path is accepted because the profile's create and delete sections refer
// to it, although its type table lists only key, type and value.
type RegistryEntry struct {
	Key   string `json:"key,omitempty"`
	Path  string `json:"path,omitempty"`
	Type  string `json:"type"`
	Value string `json:"value,omitempty"`
}

// Service is the er profile's er:service target. At least one field is
// set.
type Service struct {
	Name        string `json:"name,omitempty"`
	DisplayName string `json:"display_name,omitempty"`
}

// ScheduledTask is mdrkit's extension target mdr:scheduled_task (OpenC2
// has none): a Windows scheduled task. Name is the task's full name with
// its folder ("\Microsoft\Windows\Updater"); the other fields describe the
// task so that a deleted task can be recreated (the undo of delete).
type ScheduledTask struct {
	Name        string `json:"name"`
	CommandLine string `json:"command_line,omitempty"`
	User        string `json:"user,omitempty"`
	Trigger     string `json:"trigger,omitempty"`
	Enabled     *bool  `json:"enabled,omitempty"`
}

// ResponseType is the response_requested argument: none, ack, status or
// complete.
type ResponseType string

// The response types.
const (
	ResponseNone     ResponseType = "none"
	ResponseAck      ResponseType = "ack"
	ResponseStatus   ResponseType = "status"
	ResponseComplete ResponseType = "complete"
)

// Args are the command arguments (LS §3.3.1.4) with the er profile's
// namespace. Times are milliseconds since the Unix epoch and Duration is in
// milliseconds, as the specification defines them. Arguments of other
// profiles are kept as raw JSON in Extensions, keyed by NSID.
type Args struct {
	StartTime         *int64       `json:"start_time,omitempty"`
	StopTime          *int64       `json:"stop_time,omitempty"`
	Duration          *int64       `json:"duration,omitempty"`
	ResponseRequested ResponseType `json:"response_requested,omitempty"`
	ER                *ERArgs      `json:"er,omitempty"`
	// Extensions holds other profiles' arguments ("slpf", "x-acme", ...).
	Extensions map[string]json.RawMessage `json:"-"`
}

// ERArgs are the Endpoint Response profile's arguments (er §2.1.4).
type ERArgs struct {
	AccountStatus      AccountStatus       `json:"account_status,omitempty"`
	DeviceContainment  DeviceContainment   `json:"device_containment,omitempty"`
	PermittedAddresses *PermittedAddresses `json:"permitted_addresses,omitempty"`
	ScanDepth          string              `json:"scan_depth,omitempty"`    // shallow or deep
	PeriodicScan       string              `json:"periodic_scan,omitempty"` // enabled or disabled
	// DownstreamDevice says on which endpoints a command whose target is
	// not a device runs. The profile gives it multiplicity 0..*, so it may
	// be written as one object or as an array of them; both are read, and
	// a value read as one object is written back as one.
	DownstreamDevice []DownstreamDevice `json:"-"`

	ddArray bool
}

// AccountStatus is the er account_status argument.
type AccountStatus string

// The account states.
const (
	AccountEnabled  AccountStatus = "enabled"
	AccountDisabled AccountStatus = "disabled"
)

// DeviceContainment is the er device_containment argument.
type DeviceContainment string

// The containment kinds.
const (
	NetworkIsolation DeviceContainment = "network_isolation"
	AppRestriction   DeviceContainment = "app_restriction"
	DisableNIC       DeviceContainment = "disable_nic"
)

// PermittedAddresses are the addresses a network-isolated device may still
// reach (er §2.1.4).
type PermittedAddresses struct {
	DomainName []string `json:"domain_name,omitempty"`
	IPv4Net    []string `json:"ipv4_net,omitempty"`
	IPv6Net    []string `json:"ipv6_net,omitempty"`
}

// DownstreamDevice names the endpoints a command runs on (er §2.1.4).
type DownstreamDevice struct {
	Devices      []Device `json:"devices,omitempty"`
	DeviceGroups []string `json:"device_groups,omitempty"`
	TenantID     string   `json:"tenant_id,omitempty"`
}

// ActuatorSpec is a command's actuator (LS §3.3.1.3): exactly one profile
// NSID with that profile's specifiers. For the er and mdr profiles the
// hostname specifier is typed; other specifiers are kept as raw JSON.
type ActuatorSpec struct {
	Profile    string                     // NSID: "er", "slpf", "x-acme", ...
	Hostname   string                     // the "hostname" specifier, if any
	Specifiers map[string]json.RawMessage // every other specifier

	extra map[string]json.RawMessage // further profiles: invalid, kept to report
}

// Hosts returns the hosts a command is meant for: the device target's
// host, else the hostnames of the er downstream_device argument. The
// dispatcher routes by them when the command names no actuator.
func (c *Command) Hosts() []string {
	if h := c.Target.Device.Host(); h != "" {
		return []string{h}
	}
	var out []string
	if c.Args != nil && c.Args.ER != nil {
		for _, dd := range c.Args.ER.DownstreamDevice {
			for i := range dd.Devices {
				if h := dd.Devices[i].Host(); h != "" {
					out = append(out, h)
				}
			}
		}
	}
	return out
}

// OnHost returns a copy of c addressed to one host: for a device target it
// replaces the device; otherwise it sets the er downstream_device argument
// to that host. The copy shares no mutable state with c.
func (c Command) OnHost(host string) Command {
	out := c.Clone()
	if out.Target.Device != nil {
		out.Target.Device = &Device{Hostname: host}
		return out
	}
	if out.Args == nil {
		out.Args = &Args{}
	}
	if out.Args.ER == nil {
		out.Args.ER = &ERArgs{}
	}
	out.Args.ER.DownstreamDevice = []DownstreamDevice{{Devices: []Device{{Hostname: host}}}}
	out.Args.ER.ddArray = false
	return out
}

// Clone returns a deep copy of c (through its JSON, which is exact).
func (c Command) Clone() Command {
	b, err := json.Marshal(c)
	if err != nil {
		return c
	}
	var out Command
	if err := json.Unmarshal(b, &out); err != nil {
		return c
	}
	return out
}

// String returns the command's compact JSON.
func (c Command) String() string {
	b, err := json.Marshal(c)
	if err != nil {
		return string(c.Action) + " " + strings.Join(c.Target.Names(), ",")
	}
	return string(b)
}
