package mdr

import "time"

// Alert is what a rule raises on a match: the rule's identity and judgement,
// the event (or events, for a correlation) that matched, and the entities
// involved. Alerts are plain values; triage scores and groups them.
type Alert struct {
	ID        string    `json:"id"`
	RuleID    string    `json:"rule_id"`
	RuleTitle string    `json:"rule_title"`
	Severity  Severity  `json:"severity"`
	Tags      []string  `json:"tags,omitempty"`
	Time      time.Time `json:"time"`                // event time of the (last) matching event
	EventIDs  []string  `json:"event_ids,omitempty"` // the matching events
	Host      string    `json:"host,omitempty"`
	Entities  []Entity  `json:"entities,omitempty"`
	// Fields holds the rule's output fields with the values they had.
	Fields map[string]string `json:"fields,omitempty"`
	// Explanation says in words why the rule matched.
	Explanation string `json:"explanation,omitempty"`
	// Confidence in [0,1] that the alert is a true positive, where the rule
	// or its status says (0 = unknown).
	Confidence float64 `json:"confidence,omitempty"`
}
