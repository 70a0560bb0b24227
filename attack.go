package mdr

import (
	"strings"
)

// Tactic is a MITRE ATT&CK enterprise tactic.
type Tactic struct {
	ID    string // "TA0002"
	Name  string // "execution"
	Order int    // position in the kill chain, 1 = reconnaissance
}

// Tactics is the ATT&CK enterprise tactic list in kill-chain order.
var Tactics = []Tactic{
	{"TA0043", "reconnaissance", 1},
	{"TA0042", "resource-development", 2},
	{"TA0001", "initial-access", 3},
	{"TA0002", "execution", 4},
	{"TA0003", "persistence", 5},
	{"TA0004", "privilege-escalation", 6},
	{"TA0005", "defense-evasion", 7},
	{"TA0006", "credential-access", 8},
	{"TA0007", "discovery", 9},
	{"TA0008", "lateral-movement", 10},
	{"TA0009", "collection", 11},
	{"TA0011", "command-and-control", 12},
	{"TA0010", "exfiltration", 13},
	{"TA0040", "impact", 14},
}

// TagKind classifies an ATT&CK-style tag.
type TagKind uint8

// Kinds of tag.
const (
	TagOther     TagKind = iota
	TagTactic            // attack.execution, attack.ta0002
	TagTechnique         // attack.t1059, attack.t1059.001
	TagGroup             // attack.g0032
	TagSoftware          // attack.s0002
	TagCVE               // cve.2021-44228
	TagDetection         // detection.emerging-threats
)

// Tag is a parsed rule tag.
type Tag struct {
	Kind TagKind
	// ID is the canonical identifier: "TA0002", "T1059.001", "G0032",
	// "S0002", "CVE-2021-44228"; for other tags the tag lower-cased.
	ID string
	// Tactic is set for tactic tags.
	Tactic *Tactic
}

// TacticByName finds a tactic by name ("execution", "lateral_movement",
// "Lateral Movement") or id ("TA0008"), in any case.
func TacticByName(s string) (*Tactic, bool) {
	n := strings.ToLower(strings.TrimSpace(s))
	n = strings.NewReplacer("_", "-", " ", "-").Replace(n)
	for i := range Tactics {
		if Tactics[i].Name == n || strings.EqualFold(Tactics[i].ID, n) {
			return &Tactics[i], true
		}
	}
	return nil, false
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// ParseTag parses a Sigma-style tag such as "attack.t1059.001",
// "attack.execution", "attack.g0032", "cve.2021-44228". Unknown tags are
// TagOther with the lower-cased tag as ID; ParseTag never fails.
func ParseTag(tag string) Tag {
	t := strings.ToLower(strings.TrimSpace(tag))
	if rest, ok := strings.CutPrefix(t, "attack."); ok {
		if tac, ok := TacticByName(rest); ok {
			return Tag{Kind: TagTactic, ID: tac.ID, Tactic: tac}
		}
		if len(rest) > 1 {
			switch rest[0] {
			case 't':
				main, sub, hasSub := strings.Cut(rest[1:], ".")
				if isDigits(main) && (!hasSub || isDigits(sub)) {
					id := "T" + main
					if hasSub {
						id += "." + sub
					}
					return Tag{Kind: TagTechnique, ID: id}
				}
			case 'g':
				if isDigits(rest[1:]) {
					return Tag{Kind: TagGroup, ID: "G" + rest[1:]}
				}
			case 's':
				if isDigits(rest[1:]) {
					return Tag{Kind: TagSoftware, ID: "S" + rest[1:]}
				}
			}
		}
	}
	if rest, ok := strings.CutPrefix(t, "cve."); ok {
		return Tag{Kind: TagCVE, ID: "CVE-" + strings.ToUpper(rest)}
	}
	if strings.HasPrefix(t, "detection.") {
		return Tag{Kind: TagDetection, ID: t}
	}
	return Tag{Kind: TagOther, ID: t}
}

// TechniquesOf returns the technique ids ("T1059.001") named by tags, in
// order, without duplicates.
func TechniquesOf(tags []string) []string { return idsOf(tags, TagTechnique) }

// TacticsOf returns the tactics named by tags, in order, without duplicates.
func TacticsOf(tags []string) []*Tactic {
	var out []*Tactic
	for _, t := range tags {
		p := ParseTag(t)
		if p.Kind != TagTactic {
			continue
		}
		dup := false
		for _, o := range out {
			dup = dup || o == p.Tactic
		}
		if !dup {
			out = append(out, p.Tactic)
		}
	}
	return out
}

func idsOf(tags []string, k TagKind) []string {
	var out []string
	for _, t := range tags {
		p := ParseTag(t)
		if p.Kind != k {
			continue
		}
		dup := false
		for _, o := range out {
			dup = dup || o == p.ID
		}
		if !dup {
			out = append(out, p.ID)
		}
	}
	return out
}
