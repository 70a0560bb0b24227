package respond

import (
	"math"
	"strconv"
	"time"
)

// One-pass JSON encoding of history entries, which the audit journal
// writes for every state change. It produces the JSON of the struct tags
// of Result and Request (decoding goes through encoding/json).

func (w *jw) time(k string, t time.Time) {
	if t.IsZero() {
		return
	}
	w.key(k)
	w.b = append(w.b, '"')
	w.b = t.AppendFormat(w.b, time.RFC3339Nano)
	w.b = append(w.b, '"')
}

func (w *jw) bool(k string, v bool) {
	if v {
		w.key(k)
		w.b = append(w.b, "true"...)
	}
}

func (w *jw) float(k string, f float64) {
	if f == 0 {
		return
	}
	w.key(k)
	if math.IsNaN(f) || math.IsInf(f, 0) {
		w.b = append(w.b, '0')
		return
	}
	w.b = strconv.AppendFloat(w.b, f, 'g', -1, 64)
}

func (w *jw) num(k string, n int64) {
	if n != 0 {
		w.key(k)
		w.b = strconv.AppendInt(w.b, n, 10)
	}
}

func (c *Command) isZero() bool {
	return c.Action == "" && c.CommandID == "" && c.Profile == "" && c.Args == nil && c.Actuator == nil && len(c.Target.Names()) == 0
}

func (r *Request) isZero() bool {
	return r.Command.isZero() && r.Incident == "" && r.Score == 0 && r.Criticality == "" && r.Requester == "" &&
		r.Reason == "" && !r.DryRun && r.ApprovalTimeout == 0
}

func appendRequest(b []byte, r *Request) []byte {
	w := open(b)
	if !r.Command.isZero() {
		w.key("command")
		w.b = r.Command.AppendJSON(w.b)
	}
	w.str("incident", r.Incident)
	w.float("score", r.Score)
	w.str("criticality", r.Criticality)
	w.str("requester", r.Requester)
	w.str("reason", r.Reason)
	w.bool("dry_run", r.DryRun)
	w.num("approval_timeout", int64(r.ApprovalTimeout))
	return w.close()
}

// AppendJSON appends the entry's JSON to b.
func (r *Result) AppendJSON(b []byte) []byte {
	w := open(b)
	w.key("id")
	w.b = appendString(w.b, r.ID)
	if !r.Request.isZero() {
		w.key("request")
		w.b = appendRequest(w.b, &r.Request)
	}
	w.str("actuator", r.Actuator)
	w.str("decision", string(r.Decision))
	w.str("rule", r.Rule)
	w.key("state")
	w.b = appendString(w.b, string(r.State))
	w.str("approver", r.Approver)
	w.str("comment", r.Comment)
	if r.Response != nil {
		w.key("response")
		w.b = r.Response.AppendJSON(w.b)
	}
	w.str("error", r.Error)
	w.num("attempts", int64(r.Attempts))
	w.bool("dry_run", r.DryRun)
	w.bool("manual", r.Manual)
	w.str("title", r.Title)
	w.time("requested", r.Requested)
	w.time("decided", r.Decided)
	w.time("finished", r.Finished)
	w.time("expires", r.Expires)
	w.time("undo_at", r.UndoAt)
	w.str("undone_by", r.UndoneBy)
	w.str("undo_of", r.UndoOf)
	return w.close()
}

// MarshalJSON writes the entry's JSON.
func (r Result) MarshalJSON() ([]byte, error) { return r.AppendJSON(nil), nil }
