package respond

import (
	"bytes"
	"encoding/json"
	"slices"
	"strings"
	"unicode/utf8"
)

// StatusCode is an OpenC2 response status (LS §3.3.2.1).
type StatusCode int

// The nine status codes of OpenC2 v1.0.
const (
	StatusProcessing         StatusCode = 102
	StatusOK                 StatusCode = 200
	StatusBadRequest         StatusCode = 400
	StatusUnauthorized       StatusCode = 401
	StatusForbidden          StatusCode = 403
	StatusNotFound           StatusCode = 404
	StatusInternalError      StatusCode = 500
	StatusNotImplemented     StatusCode = 501
	StatusServiceUnavailable StatusCode = 503
)

// Valid reports whether s is one of the nine OpenC2 status codes.
func (s StatusCode) Valid() bool {
	switch s {
	case 102, 200, 400, 401, 403, 404, 500, 501, 503:
		return true
	}
	return false
}

// Text returns the specification's short name of the status ("OK",
// "Bad Request", ...).
func (s StatusCode) Text() string {
	switch s {
	case 102:
		return "Processing"
	case 200:
		return "OK"
	case 400:
		return "Bad Request"
	case 401:
		return "Unauthorized"
	case 403:
		return "Forbidden"
	case 404:
		return "Not Found"
	case 500:
		return "Internal Error"
	case 501:
		return "Not Implemented"
	case 503:
		return "Service Unavailable"
	}
	return "Unknown Status"
}

// Response is an OpenC2 response (LS §3.3.2). Its JSON is the OpenC2 JSON
// serialisation. Undo, when set, is the compensating command of a
// reversible action (allow device for contain device, set er:account
// enabled for disabled, ...); it travels in mdrkit's results namespace as
// {"results": {"mdr": {"undo": {command}}}}, which OpenC2 consumers that do
// not know the mdr profile ignore.
//
// A Response is a plain value; it is safe to share as long as nobody
// modifies it.
type Response struct {
	Status     StatusCode `json:"status"`
	StatusText string     `json:"status_text,omitempty"`
	Results    *Results   `json:"results,omitempty"`
	Undo       *Command   `json:"-"`
}

// OK reports whether the status is 200.
func (r *Response) OK() bool { return r.Status == StatusOK }

// Results are a response's results (LS §3.3.2.2): the query features
// items, and other profiles' results as raw JSON keyed by NSID.
type Results struct {
	Versions   []string                   `json:"versions,omitempty"`
	Profiles   []string                   `json:"profiles,omitempty"`
	Pairs      Pairs                      `json:"pairs,omitempty"`
	RateLimit  *float64                   `json:"rate_limit,omitempty"`
	Extensions map[string]json.RawMessage `json:"-"`
}

func (r *Results) empty() bool {
	return r.Versions == nil && r.Profiles == nil && r.Pairs == nil && r.RateLimit == nil && len(r.Extensions) == 0
}

// ParseResponse decodes an OpenC2 response and validates it. The error,
// if any, is a *ValidationError listing every problem found.
func ParseResponse(data []byte) (Response, error) {
	var p problems
	r := decodeResponse(data, &p)
	if len(p.list) == 0 {
		r.validate(&p)
	}
	return r, p.err("response")
}

// UnmarshalJSON decodes an OpenC2 response, checking its shape.
func (r *Response) UnmarshalJSON(data []byte) error {
	var p problems
	*r = decodeResponse(data, &p)
	return p.err("response")
}

func decodeResponse(data []byte, p *problems) Response {
	var r Response
	if !utf8.Valid(data) {
		p.add("", "not valid UTF-8 (I-JSON, RFC 7493, which OpenC2 requires)")
		return r
	}
	m, ok := object(data, "", p)
	if !ok {
		return r
	}
	if _, ok := m["status"]; !ok {
		p.add("status", "required")
	}
	for _, k := range sortedKeys(m) {
		v := m[k]
		switch k {
		case "status":
			n, _ := integer(v, k, p)
			r.Status = StatusCode(n)
		case "status_text":
			r.StatusText, _ = str(v, k, p)
		case "results":
			r.Results, r.Undo = decodeResults(v, k, p)
		default:
			p.add(k, "unknown member of a response")
		}
	}
	return r
}

func decodeResults(raw json.RawMessage, path string, p *problems) (*Results, *Command) {
	m, ok := object(raw, path, p)
	if !ok {
		return nil, nil
	}
	res := &Results{}
	var undo *Command
	if len(m) == 0 {
		p.add(path, "must contain at least one result when present")
	}
	for _, k := range sortedKeys(m) {
		v := m[k]
		f := join(path, k)
		switch k {
		case "versions":
			res.Versions, _ = strList(v, f, p)
			if res.Versions == nil {
				res.Versions = []string{}
			}
		case "profiles":
			res.Profiles, _ = strList(v, f, p)
			if res.Profiles == nil {
				res.Profiles = []string{}
			}
		case "pairs":
			res.Pairs = decodePairs(v, f, p)
		case "rate_limit":
			if n, ok := number(v, f, p); ok {
				res.RateLimit = &n
			}
		case "mdr":
			mm, ok := object(v, f, p)
			if !ok {
				continue
			}
			for _, kk := range sortedKeys(mm) {
				if kk != "undo" {
					p.add(join(f, kk), "unknown mdr result")
					continue
				}
				var sub problems
				c := decodeCommand(mm[kk], &sub)
				for _, q := range sub.list {
					p.add(join(join(f, "undo"), q.Field), "%s", q.Reason)
				}
				undo = &c
			}
		default:
			if res.Extensions == nil {
				res.Extensions = make(map[string]json.RawMessage)
			}
			res.Extensions[k] = bytes.TrimSpace(v)
		}
	}
	return res, undo
}

func decodePairs(raw json.RawMessage, path string, p *problems) Pairs {
	m, ok := object(raw, path, p)
	if !ok {
		return nil
	}
	ps := make(Pairs, len(m))
	for _, k := range sortedKeys(m) {
		l, _ := strList(m[k], join(path, k), p)
		if l == nil {
			l = []string{}
		}
		ps[Action(k)] = l
	}
	return ps
}

// MarshalJSON writes the response in OpenC2 JSON, with Undo in the mdr
// results namespace.
func (r Response) MarshalJSON() ([]byte, error) { return r.AppendJSON(nil), nil }

// MarshalJSON writes the results in OpenC2 JSON.
func (r Results) MarshalJSON() ([]byte, error) { return appendResults(nil, &r, nil), nil }

// Validate checks r against OpenC2 v1.0: a known status code, non-empty
// results, well-formed features results (versions, profiles, pairs of
// real actions and targets, a non-negative rate limit) and extension
// results under valid namespaces. A carried Undo command is validated too.
func (r *Response) Validate() error {
	var p problems
	r.validate(&p)
	return p.err("response")
}

func (r *Response) validate(p *problems) {
	if !r.Status.Valid() && !hasProblem(p, "status") {
		p.add("status", "%d is not an OpenC2 status code (102, 200, 400, 401, 403, 404, 500, 501, 503)", r.Status)
	}
	if res := r.Results; res != nil {
		if res.empty() && r.Undo == nil && !hasProblem(p, "results") {
			p.add("results", "must contain at least one result when present")
		}
		seen := map[string]bool{}
		for i, v := range res.Versions {
			if !versionRE.MatchString(v) {
				p.add(index("results.versions", i), "%q is not a Major.Minor version", v)
			}
			if seen[v] {
				p.add(index("results.versions", i), "version %q listed twice", v)
			}
			seen[v] = true
		}
		seen = map[string]bool{}
		for i, v := range res.Profiles {
			if v == "" || len(v) > maxNSID {
				p.add(index("results.profiles", i), "%q is not a namespace identifier", v)
			}
			if seen[v] {
				p.add(index("results.profiles", i), "profile %q listed twice", v)
			}
			seen[v] = true
		}
		validatePairs(res.Pairs, "results.pairs", p)
		if res.RateLimit != nil && *res.RateLimit < 0 {
			p.add("results.rate_limit", "must not be negative")
		}
		for _, k := range sortedKeys(res.Extensions) {
			if r := checkNSID(k); r != "" {
				p.add(join("results", k), "%s", r)
			}
		}
	}
	if r.Undo != nil {
		var sub problems
		r.Undo.validate(&sub)
		for _, q := range sub.list {
			p.add(join("results.mdr.undo", q.Field), "%s", q.Reason)
		}
	}
}

func validatePairs(ps Pairs, path string, p *problems) {
	if ps == nil {
		return
	}
	if len(ps) == 0 {
		p.add(path, "must list at least one action")
	}
	keys := make([]string, 0, len(ps))
	for a := range ps {
		keys = append(keys, string(a))
	}
	slices.Sort(keys)
	for _, k := range keys {
		f := join(path, k)
		if !Action(k).Valid() {
			p.add(f, "unknown action %q", k)
		}
		ts := ps[Action(k)]
		if len(ts) == 0 {
			p.add(f, "must list at least one target")
		}
		seen := map[string]bool{}
		for i, t := range ts {
			if r := checkPairTarget(t); r != "" {
				p.add(index(f, i), "%s", r)
			}
			if seen[t] {
				p.add(index(f, i), "target %q listed twice", t)
			}
			seen[t] = true
		}
	}
}

// lsTargets are the target names of LS v1.0.
var lsTargets = map[string]bool{
	TargetArtifact: true, TargetCommand: true, TargetDevice: true, TargetDomainName: true,
	TargetEmailAddr: true, TargetFeatures: true, TargetFile: true, TargetIDNDomainName: true,
	TargetIDNEmailAddr: true, TargetIPv4Net: true, TargetIPv6Net: true,
	TargetIPv4Connection: true, TargetIPv6Connection: true, TargetIRI: true,
	TargetMACAddr: true, TargetProcess: true, TargetProperties: true, TargetURI: true,
}

func checkPairTarget(t string) string {
	if lsTargets[t] {
		return ""
	}
	n := normTargetName(t)
	switch {
	case n == TargetAccount, n == TargetRegistryEntry, n == TargetService, n == TargetScheduledTask:
		return ""
	case strings.HasPrefix(n, "er:") || strings.HasPrefix(n, "mdr:"):
		return "unknown target " + quote(t)
	case strings.Contains(n, ":"):
		return checkExtName(n)
	}
	return "unknown target " + quote(t)
}
