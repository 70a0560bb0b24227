package mdr

import "time"

// The statuses of an incident's life. Package triage owns the transitions
// between them (its transition table); a store treats Incident.Status as an
// opaque string.
const (
	IncidentNew           = "new"
	IncidentTriaged       = "triaged"
	IncidentInvestigating = "investigating"
	IncidentContained     = "contained"
	IncidentRemediated    = "remediated"
	IncidentClosed        = "closed"
	IncidentFalsePositive = "false_positive"
)

// ScorePart is one named part of a triage score: what it added (or, when
// negative, took away) and why. Package triage documents how parts combine
// into a total, so a stored score can be recomputed from its parts.
type ScorePart struct {
	Name   string  `json:"name"`
	Value  float64 `json:"value"`
	Detail string  `json:"detail,omitempty"`
}

// RuleCount counts the alerts of one rule in an incident.
type RuleCount struct {
	RuleID string   `json:"rule_id"`
	Title  string   `json:"title,omitempty"`
	Level  Severity `json:"level"`
	Count  int      `json:"count"`
}

// Incident is a group of alerts that an analyst handles as one case: what
// it is about (hosts, users, ATT&CK tactics and techniques, rules), when
// (First and Last event time), how bad (Score with its Parts, Level) and
// where it stands (Status, Assignee, Notes).
//
// Package store persists incidents under optimistic versioning; package
// triage builds and updates them. An Incident is a plain value, safe to
// copy; its slices are shared by copies, so a holder that mutates one
// clones it first.
type Incident struct {
	ID       string   `json:"id"`
	Title    string   `json:"title"`
	Status   string   `json:"status,omitempty"`
	Severity Severity `json:"severity"`
	// Score is the triage score on 0–100 (store.ListQuery orders by it);
	// Parts are its named parts and Level its level.
	Score    float64     `json:"score,omitempty"`
	Level    Severity    `json:"level,omitempty"`
	Parts    []ScorePart `json:"parts,omitempty"`
	Assignee string      `json:"assignee,omitempty"`
	// AlertIDs are the incident's alerts (after deduplication), oldest first;
	// TopAlertIDs the highest-scored of them, highest first.
	AlertIDs    []string `json:"alert_ids,omitempty"`
	TopAlertIDs []string `json:"top_alert_ids,omitempty"`
	EntityIDs   []string `json:"entity_ids,omitempty"`
	Hosts       []string `json:"hosts,omitempty"`
	Users       []string `json:"users,omitempty"`
	// Tactics are ATT&CK tactic names in kill-chain order; Techniques are
	// technique ids ("T1059.001") in the kill-chain order of the tactics
	// their alerts carried (first seen first among equals).
	Tactics    []string    `json:"tactics,omitempty"`
	Techniques []string    `json:"techniques,omitempty"`
	Rules      []RuleCount `json:"rules,omitempty"`
	// Alerts counts the alerts raised into the incident (a deduplicated
	// alert counts every occurrence); Suppressed counts those a suppression
	// matched.
	Alerts     int `json:"alerts,omitempty"`
	Suppressed int `json:"suppressed,omitempty"`
	// Reopened counts how often the incident was reopened after closing.
	Reopened int `json:"reopened,omitempty"`
	// First and Last are the event times of its earliest and latest alert.
	First time.Time `json:"first,omitzero"`
	Last  time.Time `json:"last,omitzero"`
	// Created is the incident's time for listings; Updated is the last
	// change, as the caller tells it.
	Created time.Time `json:"created"`
	Updated time.Time `json:"updated,omitzero"`
	// Version is assigned by the store: 1 when created, incremented by
	// every update.
	Version uint64 `json:"version"`
	// Notes are the analysts' free-form notes, oldest first.
	Notes []Note `json:"notes,omitempty"`
}

// Note is one free-form note on an incident.
type Note struct {
	Time   time.Time `json:"time"`
	Author string    `json:"author,omitempty"`
	Text   string    `json:"text"`
}
