package respond

import (
	"bytes"
	"encoding/json"
	"unicode/utf8"
)

// Message kinds reported by CheckMessage.
const (
	KindCommand         = "command"
	KindResponse        = "response"
	KindMessageCommand  = "message(command)"
	KindMessageResponse = "message(response)"
	KindNotJSON         = "not-json"
	KindNonObject       = "non-object"
	KindOther           = "other"
)

// Report is the verdict on one OpenC2 message: its kind and, when it is
// invalid, the reasons ("field: why").
type Report struct {
	Kind     string
	Valid    bool
	Reasons  []string
	Command  *Command  // set for commands
	Response *Response // set for responses
}

// CheckMessage decides what data is — an OpenC2 command, a response, or
// either wrapped in the message envelope {"headers":..., "body":
// {"openc2": {"request"|"response": ...}}} — and validates it.
func CheckMessage(data []byte) Report {
	data = bytes.TrimSpace(data)
	if !utf8.Valid(data) {
		return Report{Kind: KindNotJSON, Reasons: []string{"not valid UTF-8 (I-JSON, RFC 7493, which OpenC2 requires)"}}
	}
	if !json.Valid(data) {
		reason := "not JSON"
		if len(data) == 0 {
			reason = "empty input"
		}
		return Report{Kind: KindNotJSON, Reasons: []string{reason}}
	}
	if data[0] != '{' {
		return Report{Kind: KindNonObject, Reasons: []string{"an OpenC2 message is a JSON object, this is " + jsonKind(data)}}
	}
	var m map[string]json.RawMessage
	_ = json.Unmarshal(data, &m)
	if _, ok := m["body"]; ok {
		return checkEnvelope(m)
	}
	_, hasAction := m["action"]
	_, hasTarget := m["target"]
	_, hasStatus := m["status"]
	switch {
	case hasAction || hasTarget:
		return checkCommand(data, KindCommand, "")
	case hasStatus:
		return checkResponse(data, KindResponse, "")
	}
	return Report{Kind: KindOther, Reasons: []string{"neither a command (no action or target) nor a response (no status)"}}
}

func checkCommand(data []byte, kind, prefix string) Report {
	c, err := ParseCommand(data)
	rep := Report{Kind: kind, Valid: err == nil, Command: &c}
	rep.Reasons = reasons(err, prefix)
	return rep
}

func checkResponse(data []byte, kind, prefix string) Report {
	r, err := ParseResponse(data)
	rep := Report{Kind: kind, Valid: err == nil, Response: &r}
	rep.Reasons = reasons(err, prefix)
	return rep
}

func reasons(err error, prefix string) []string {
	if err == nil {
		return nil
	}
	ve, ok := err.(*ValidationError)
	if !ok {
		return []string{err.Error()}
	}
	out := make([]string, len(ve.Problems))
	for i, p := range ve.Problems {
		p.Field = join(prefix, p.Field)
		out[i] = p.String()
	}
	return out
}

func checkEnvelope(m map[string]json.RawMessage) Report {
	var p problems
	for _, k := range sortedKeys(m) {
		switch k {
		case "headers":
			if h, ok := object(m[k], k, &p); ok {
				for _, kk := range sortedKeys(h) {
					f := join(k, kk)
					switch kk {
					case "request_id", "from":
						str(h[kk], f, &p)
					case "created":
						if n, ok := integer(h[kk], f, &p); ok && n < 0 {
							p.add(f, "must not be negative")
						}
					case "to":
						strList(h[kk], f, &p)
					default:
						p.add(f, "unknown message header")
					}
				}
			}
		case "body", "signature":
		default:
			p.add(k, "unknown member of a message")
		}
	}
	body, ok := object(m["body"], "body", &p)
	if !ok {
		return Report{Kind: KindOther, Reasons: reasons(p.err("message"), "")}
	}
	oc, ok := object(body["openc2"], "body.openc2", &p)
	if !ok || len(body) != 1 {
		if len(body) != 1 {
			p.add("body", "must hold exactly one member, openc2")
		}
		return Report{Kind: KindOther, Reasons: reasons(p.err("message"), "")}
	}
	if len(oc) != 1 {
		p.add("body.openc2", "must hold exactly one of request, response, notification")
		return Report{Kind: KindOther, Reasons: reasons(p.err("message"), "")}
	}
	var rep Report
	switch {
	case oc["request"] != nil:
		rep = checkCommand(oc["request"], KindMessageCommand, "body.openc2.request")
	case oc["response"] != nil:
		rep = checkResponse(oc["response"], KindMessageResponse, "body.openc2.response")
	default:
		p.add("body.openc2", "holds neither a request nor a response")
		return Report{Kind: KindOther, Reasons: reasons(p.err("message"), "")}
	}
	if len(p.list) > 0 {
		rep.Valid = false
		rep.Reasons = append(reasons(p.err("message"), ""), rep.Reasons...)
	}
	return rep
}
