package detect

import (
	"time"

	"github.com/mdrkit/mdr"
)

// Logsource says which kind of events a rule is written for, in Sigma's
// terms. Empty parts match anything. Like every type of this file it is a
// plain value: safe for concurrent reads, not for concurrent writes.
type Logsource struct {
	Product  string `yaml:"product,omitempty" json:"product,omitempty"`
	Category string `yaml:"category,omitempty" json:"category,omitempty"`
	Service  string `yaml:"service,omitempty" json:"service,omitempty"`
}

// Rule is one detection rule before compilation. Hand-written rules come
// from the native YAML format (LoadFile, ParseRules); Sigma rules are
// compiled into Rules by detect/sigma. Condition is a CEL expression over
// the event, which is bound to the variable e (see the package doc for the
// detection functions). A correlation rule has Correlation set and no
// Condition. Compile copies the rules it accepts; a Rule is safe for
// concurrent reads.
type Rule struct {
	ID             string       `yaml:"id" json:"id"`
	Title          string       `yaml:"title" json:"title"`
	Description    string       `yaml:"description,omitempty" json:"description,omitempty"`
	Author         string       `yaml:"author,omitempty" json:"author,omitempty"`
	References     []string     `yaml:"references,omitempty" json:"references,omitempty"`
	Severity       mdr.Severity `yaml:"severity" json:"severity"`
	Status         string       `yaml:"status,omitempty" json:"status,omitempty"`
	Tags           []string     `yaml:"tags,omitempty" json:"tags,omitempty"`
	FalsePositives []string     `yaml:"falsepositives,omitempty" json:"falsepositives,omitempty"`
	Logsource      Logsource    `yaml:"logsource,omitempty" json:"logsource,omitempty"`
	// Condition is the CEL boolean expression over e.
	Condition string `yaml:"condition,omitempty" json:"condition,omitempty"`
	// Fields are output fields copied into the alert when the rule matches.
	Fields []string `yaml:"fields,omitempty" json:"fields,omitempty"`
	// Correlation, when set, makes this a correlation rule over the matches
	// of other rules.
	Correlation *Correlation `yaml:"correlation,omitempty" json:"correlation,omitempty"`
	// Hidden rules feed correlations but raise no alert of their own
	// (Sigma's generate: false on a correlation's base rules).
	Hidden bool `yaml:"hidden,omitempty" json:"hidden,omitempty"`
	// Source says where the rule was read: file and 1-based line.
	Source mdr.Origin `yaml:"-" json:"source,omitempty"`
}

// CorrelationType is the kind of a correlation rule.
type CorrelationType string

// The correlation types of the Sigma correlation specification.
const (
	EventCount      CorrelationType = "event_count"
	ValueCount      CorrelationType = "value_count"
	Temporal        CorrelationType = "temporal"
	TemporalOrdered CorrelationType = "temporal_ordered"
	ValueSum        CorrelationType = "value_sum"
	ValueAvg        CorrelationType = "value_avg"
	ValuePercentile CorrelationType = "value_percentile"
)

// Correlation is the correlation block of a rule: it fires when the matches
// of Rules, grouped by the values of GroupBy, meet Condition within Timespan
// of event time.
type Correlation struct {
	Type CorrelationType `yaml:"type" json:"type"`
	// Rules are the ids (or names) of the rules whose matches are correlated.
	// For temporal_ordered their order is the required order.
	Rules []string `yaml:"rules" json:"rules"`
	// GroupBy are the fields whose values form a group. A base rule's field
	// may be renamed to a common name through Aliases.
	GroupBy  []string      `yaml:"group-by,omitempty" json:"group_by,omitempty"`
	Timespan time.Duration `yaml:"timespan" json:"timespan"`
	// Condition is the threshold: count (event_count), distinct values of
	// Field (value_count), sum/avg/percentile of Field, or the number of
	// distinct rules seen (temporal).
	Condition CorrelationCondition `yaml:"condition,omitempty" json:"condition,omitempty"`
	// Aliases maps an alias name to the field it stands for in each rule:
	// alias → rule id → field.
	Aliases map[string]map[string]string `yaml:"aliases,omitempty" json:"aliases,omitempty"`
}

// CorrelationCondition is a numeric threshold on a correlation's measure.
// Each bound that is set must hold.
type CorrelationCondition struct {
	GT  *float64 `yaml:"gt,omitempty" json:"gt,omitempty"`
	GTE *float64 `yaml:"gte,omitempty" json:"gte,omitempty"`
	LT  *float64 `yaml:"lt,omitempty" json:"lt,omitempty"`
	LTE *float64 `yaml:"lte,omitempty" json:"lte,omitempty"`
	EQ  *float64 `yaml:"eq,omitempty" json:"eq,omitempty"`
	NEQ *float64 `yaml:"neq,omitempty" json:"neq,omitempty"`
	// Field is the field measured by value_count, value_sum, value_avg and
	// value_percentile.
	Field string `yaml:"field,omitempty" json:"field,omitempty"`
	// Percentile (0–100) for value_percentile.
	Percentile float64 `yaml:"percentile,omitempty" json:"percentile,omitempty"`
}

// LogsourceMapping says which events a logsource covers: an event belongs to
// Logsource when it satisfies any one of Conditions, and it satisfies a
// condition when, for every field of the condition, the event's value equals
// one of the listed values (case-insensitively; numbers compare by value, so
// "1" matches the integer 1).
type LogsourceMapping struct {
	Logsource  Logsource             `yaml:"logsource" json:"logsource"`
	Conditions []map[string][]string `yaml:"conditions" json:"conditions"`
}

// Pipeline routes rules to events by logsource. A rule whose logsource has
// no mapping in the pipeline meets every event (and the ruleset reports it
// as unrouted); a rule with an empty logsource meets every event.
type Pipeline struct {
	Name       string             `yaml:"name" json:"name"`
	Logsources []LogsourceMapping `yaml:"logsources" json:"logsources"`
}
