package mdr

import (
	"fmt"
	"strings"
)

// Severity is the severity of an alert, from informational to critical.
// The zero value is SeverityUnknown.
type Severity uint8

// The severity scale, ordered so that a larger value is more severe.
const (
	SeverityUnknown Severity = iota
	SeverityInformational
	SeverityLow
	SeverityMedium
	SeverityHigh
	SeverityCritical
)

var severityNames = [...]string{"unknown", "informational", "low", "medium", "high", "critical"}

// String returns the severity's canonical name.
func (s Severity) String() string {
	if int(s) < len(severityNames) {
		return severityNames[s]
	}
	return fmt.Sprintf("severity(%d)", uint8(s))
}

// ParseSeverity reads a severity name in any case: informational (or info),
// low, medium (or moderate), high, critical (or crit), unknown. Sigma's level
// field uses these names.
func ParseSeverity(s string) (Severity, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "informational", "info", "information":
		return SeverityInformational, nil
	case "low":
		return SeverityLow, nil
	case "medium", "moderate", "med":
		return SeverityMedium, nil
	case "high":
		return SeverityHigh, nil
	case "critical", "crit":
		return SeverityCritical, nil
	case "unknown", "":
		return SeverityUnknown, nil
	}
	return SeverityUnknown, fmt.Errorf("%w: unknown severity %q", ErrInvalid, s)
}

// MarshalText implements encoding.TextMarshaler.
func (s Severity) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (s *Severity) UnmarshalText(b []byte) error {
	v, err := ParseSeverity(string(b))
	if err != nil {
		return err
	}
	*s = v
	return nil
}
