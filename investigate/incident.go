package investigate

import (
	"slices"
	"strings"
	"time"

	"github.com/mdrkit/mdr"
)

// Incident is a group of alerts investigated together.
type Incident struct {
	ID     string      `json:"id"`
	Host   string      `json:"host,omitempty"`
	First  time.Time   `json:"first"`
	Last   time.Time   `json:"last"`
	Alerts []mdr.Alert `json:"alerts"`
}

// DefaultGap is the gap in event time that GroupByHostTime closes an
// incident after.
const DefaultGap = 30 * time.Minute

// GroupByHostTime groups alerts into incidents by host and time: the alerts
// of one host, in event time, form one incident until a gap of more than
// gap (DefaultGap when 0) between two of them. It is the simple grouping
// used until a triage package groups alerts along causal chains. Incident
// ids are deterministic: "incident:<host>:<time of the first alert>".
// Incidents are returned by first time, then host.
func GroupByHostTime(alerts []mdr.Alert, gap time.Duration) []Incident {
	if gap <= 0 {
		gap = DefaultGap
	}
	as := slices.Clone(alerts)
	slices.SortStableFunc(as, func(a, b mdr.Alert) int {
		if c := strings.Compare(strings.ToLower(a.Host), strings.ToLower(b.Host)); c != 0 {
			return c
		}
		return a.Time.Compare(b.Time)
	})
	var out []Incident
	for _, a := range as {
		if n := len(out); n > 0 && strings.EqualFold(out[n-1].Host, a.Host) && a.Time.Sub(out[n-1].Last) <= gap {
			in := &out[n-1]
			in.Alerts = append(in.Alerts, a)
			if a.Time.After(in.Last) {
				in.Last = a.Time
			}
			continue
		}
		out = append(out, Incident{Host: a.Host, First: a.Time, Last: a.Time, Alerts: []mdr.Alert{a}})
	}
	for i := range out {
		out[i].ID = "incident:" + strings.ToLower(out[i].Host) + ":" + out[i].First.UTC().Format("2006-01-02T15:04:05.000Z")
	}
	slices.SortStableFunc(out, func(a, b Incident) int {
		if c := a.First.Compare(b.First); c != 0 {
			return c
		}
		return strings.Compare(a.Host, b.Host)
	})
	return out
}
