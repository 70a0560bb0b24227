package triage

import (
	"strings"

	"github.com/mdrkit/mdr/detect"
)

// rulesetCatalog reads rule statuses and building-block tags from a
// compiled ruleset.
type rulesetCatalog struct{ rs *detect.Ruleset }

// CatalogOf returns a RuleCatalog over a compiled ruleset: each rule's
// Sigma status, and whether it is a hunting rule (tag
// detection.threat-hunting). It is safe for concurrent use.
func CatalogOf(rs *detect.Ruleset) RuleCatalog { return rulesetCatalog{rs} }

func (c rulesetCatalog) RuleInfo(id string) (RuleInfo, bool) {
	r, ok := c.rs.Rule(id)
	if !ok {
		return RuleInfo{}, false
	}
	return RuleInfo{Status: strings.ToLower(r.Status), BuildingBlock: isBuildingBlock(r.Tags), NoKnownFalsePositives: noKnownFPs(r.FalsePositives)}, true
}

func noKnownFPs(fps []string) bool {
	for _, f := range fps {
		switch strings.ToLower(strings.TrimSpace(strings.TrimSuffix(f, "."))) {
		case "unknown", "unlikely", "none", "":
		default:
			return false
		}
	}
	return true
}

// knownFPs adds known false positives to another catalog.
type knownFPs struct {
	next RuleCatalog
	ids  map[string]bool
}

func withKnownFPs(next RuleCatalog, ids []string) RuleCatalog {
	m := make(map[string]bool, len(ids))
	for _, id := range ids {
		m[strings.ToLower(id)] = true
	}
	return knownFPs{next, m}
}

func (k knownFPs) RuleInfo(id string) (RuleInfo, bool) {
	var info RuleInfo
	ok := false
	if k.next != nil {
		info, ok = k.next.RuleInfo(id)
	}
	if k.ids[strings.ToLower(id)] {
		info.KnownFalsePositive, ok = true, true
	}
	return info, ok
}
