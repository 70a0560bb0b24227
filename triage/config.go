package triage

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/mdrkit/mdr"
)

// Weights are the numbers of the built-in scorers.
type Weights struct {
	// Levels is the base score of an alert per rule level.
	Levels map[string]float64 `yaml:"levels" json:"levels"`
	// Status is the factor per rule status (stable, test, experimental, …).
	Status map[string]float64 `yaml:"status" json:"status"`
	// KnownFP and BuildingBlock are the factors for rules known to fire on
	// benign activity and for hunting/building-block rules.
	KnownFP       float64 `yaml:"known_fp" json:"known_fp"`
	BuildingBlock float64 `yaml:"building_block" json:"building_block"`
	// Prevalence (k) and Repeat (kp) shape the rarity factor
	// 1/(1+k·ln(1+hosts)) · 1/(1+kp·ln(1+occurrences)).
	Prevalence float64 `yaml:"prevalence" json:"prevalence"`
	Repeat     float64 `yaml:"repeat" json:"repeat"`
	// EntityRisk weighs the risk the incident's hosts and users carry from
	// other alerts within RiskWindow (Elastic's entity risk).
	EntityRisk float64 `yaml:"entity_risk" json:"entity_risk"`
	// NoKnownFP is the factor for rules whose falsepositives say only
	// "unknown" or "unlikely" (or name none).
	NoKnownFP float64 `yaml:"no_known_fp" json:"no_known_fp"`
	// Tactic is added per distinct ATT&CK tactic of an incident beyond the
	// first (×1.5 when they appeared in kill-chain order).
	Tactic float64 `yaml:"tactic" json:"tactic"`
}

// Matching says how alerts join an incident by shared entities.
type Matching string

// The matching modes (Sentinel's): an alert joins an incident when it
// shares any one of the selected entities, or all of its selected ones.
const (
	MatchAny Matching = "any"
	MatchAll Matching = "all"
)

// Reopen is the policy for an alert that matches a closed incident.
type Reopen string

// Reopen policies.
const (
	ReopenIncident Reopen = "reopen" // the incident goes back to new
	ReopenNever    Reopen = "new"    // a new incident is started
)

// Config configures a Queue. Start from DefaultConfig; Validate checks it.
// It can be read from YAML with ReadConfig (unknown keys are errors).
type Config struct {
	// Lookback is how far apart in event time an alert and an incident's
	// last alert on a shared entity may be for the alert to join it.
	Lookback time.Duration `yaml:"lookback" json:"lookback"`
	// DedupWindow: the same rule on the same key (host, process image and
	// DedupFields) within this event-time window is one alert with a count.
	DedupWindow time.Duration `yaml:"dedup_window" json:"dedup_window"`
	DedupFields []string      `yaml:"dedup_fields" json:"dedup_fields,omitempty"`
	// Match and MatchKinds select the grouping entities: "host" (the
	// alert's host), or entity kinds ("user", "process", …).
	Match      Matching `yaml:"match" json:"match"`
	MatchKinds []string `yaml:"match_kinds" json:"match_kinds"`
	// IgnoreEntities are regular expressions (case-insensitive) of entity
	// names never used for grouping (SYSTEM, machine accounts, …).
	IgnoreEntities []string `yaml:"ignore_entities" json:"ignore_entities,omitempty"`
	Reopen         Reopen   `yaml:"reopen" json:"reopen"`
	// RiskWindow is the event-time window of entity risk.
	RiskWindow time.Duration `yaml:"risk_window" json:"risk_window"`
	// Bounds: incidents and alerts held in memory (the least recently
	// active incident and its alerts are evicted first, and counted),
	// learned patterns, event ids kept per alert, top alerts per incident.
	MaxIncidents int `yaml:"max_incidents" json:"max_incidents"`
	MaxAlerts    int `yaml:"max_alerts" json:"max_alerts"`
	MaxPatterns  int `yaml:"max_patterns" json:"max_patterns"`
	MaxEventIDs  int `yaml:"max_event_ids" json:"max_event_ids"`
	TopAlerts    int `yaml:"top_alerts" json:"top_alerts"`

	Weights      Weights           `yaml:"weights" json:"weights"`
	Criticality  []CriticalityRule `yaml:"criticality" json:"criticality,omitempty"`
	Suppressions []Suppression     `yaml:"suppressions" json:"suppressions,omitempty"`
	// KnownFalsePositives are rule ids known to fire on benign activity
	// (see ReadKnownFPs); KnownFalsePositivesFile, when set in YAML, is
	// read by ReadConfig relative to the config file.
	KnownFalsePositives     []string `yaml:"known_false_positives" json:"known_false_positives,omitempty"`
	KnownFalsePositivesFile string   `yaml:"known_false_positives_file" json:"-"`

	lines map[string]int // YAML lines of keys, for errors
	file  string
}

// DefaultConfig returns the defaults: 24 h lookback on the host, 1 h dedup
// window, reopen closed incidents, 10,000 incidents and 200,000 alerts in
// memory.
func DefaultConfig() Config {
	return Config{
		Lookback:    24 * time.Hour,
		DedupWindow: time.Hour,
		Match:       MatchAny,
		MatchKinds:  []string{"host"},
		IgnoreEntities: []string{`^(nt authority\\)?(system|local service|network service)$`, `\$$`,
			`^(-|localhost|127\.0\.0\.1|::1)?$`},
		Reopen:       ReopenIncident,
		RiskWindow:   30 * 24 * time.Hour,
		MaxIncidents: 10_000,
		MaxAlerts:    200_000,
		MaxPatterns:  100_000,
		MaxEventIDs:  10_000,
		TopAlerts:    5,
		Weights: Weights{
			Levels:        map[string]float64{"unknown": 10, "informational": 3, "low": 10, "medium": 25, "high": 55, "critical": 80},
			Status:        map[string]float64{"stable": 1, "test": 0.9, "experimental": 0.8, "deprecated": 0.5, "unsupported": 0.5},
			KnownFP:       0.5,
			BuildingBlock: 0.6,
			Prevalence:    1,
			Repeat:        0,
			Tactic:        0.5,
			EntityRisk:    0.5,
			NoKnownFP:     1.3,
		},
	}
}

// Validate checks c and names the first bad key.
func (c *Config) Validate() error {
	bad := func(key string, format string, args ...any) error {
		return &ConfigError{File: c.file, Line: c.lines[key], Key: key, Err: fmt.Errorf("%w: %s", ErrConfig, fmt.Sprintf(format, args...))}
	}
	if c.Lookback <= 0 {
		return bad("lookback", "must be positive")
	}
	if c.RiskWindow <= 0 {
		return bad("risk_window", "must be positive")
	}
	if c.DedupWindow < 0 {
		return bad("dedup_window", "must not be negative")
	}
	if c.Match != MatchAny && c.Match != MatchAll {
		return bad("match", "%q: want any or all", c.Match)
	}
	for _, k := range c.MatchKinds {
		if _, err := mdr.ParseEntityKind(k); err != nil {
			return bad("match_kinds", "%v", err)
		}
	}
	for _, p := range c.IgnoreEntities {
		if _, err := regexp.Compile(p); err != nil {
			return bad("ignore_entities", "%v", err)
		}
	}
	if c.Reopen != ReopenIncident && c.Reopen != ReopenNever {
		return bad("reopen", "%q: want reopen or new", c.Reopen)
	}
	for k, v := range map[string]int{"max_incidents": c.MaxIncidents, "max_alerts": c.MaxAlerts, "max_patterns": c.MaxPatterns, "max_event_ids": c.MaxEventIDs, "top_alerts": c.TopAlerts} {
		if v < 1 {
			return bad(k, "must be at least 1")
		}
	}
	w := &c.Weights
	for k, v := range w.Levels {
		if _, err := mdr.ParseSeverity(k); err != nil || v < 0 || v > 100 {
			return bad("weights", "levels.%s: want a severity name and a value in 0–100", k)
		}
	}
	for k, v := range map[string]float64{"known_fp": w.KnownFP, "building_block": w.BuildingBlock, "prevalence": w.Prevalence, "repeat": w.Repeat, "tactic": w.Tactic, "entity_risk": w.EntityRisk, "no_known_fp": w.NoKnownFP} {
		if v < 0 || v > 100 {
			return bad("weights", "%s: %v out of range", k, v)
		}
	}
	for i := range c.Criticality {
		if err := c.Criticality[i].validate(); err != nil {
			return bad(fmt.Sprintf("criticality[%d]", i), "%v", err)
		}
	}
	env, err := suppressionEnv()
	if err != nil {
		return err
	}
	seen := map[string]bool{}
	for i, s := range c.Suppressions {
		key := fmt.Sprintf("suppressions[%d]", i)
		if s.ID == "" || seen[s.ID] {
			return bad(key, "every suppression needs a unique id")
		}
		seen[s.ID] = true
		if _, err := compileSuppression(env, s); err != nil {
			return bad(key+".when", "%v", err)
		}
	}
	return nil
}

// ReadConfig reads a YAML configuration over DefaultConfig. Unknown keys,
// bad values and CEL expressions that do not compile are *ConfigError
// values naming the file and line.
func ReadConfig(path string) (Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Config{}, err
	}
	return ParseConfig(path, b)
}

// maxKnownFPsFile caps what is read of a known-false-positives file.
const maxKnownFPsFile = 16 << 20

var yamlLine = regexp.MustCompile(`line (\d+)`)

// ParseConfig is ReadConfig on bytes; name is used in errors and to find
// known_false_positives_file.
func ParseConfig(name string, b []byte) (Config, error) {
	c := DefaultConfig()
	c.file = name
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil && !errors.Is(err, io.EOF) {
		line := 0
		if m := yamlLine.FindStringSubmatch(err.Error()); m != nil {
			line, _ = strconv.Atoi(m[1])
		}
		return Config{}, &ConfigError{File: name, Line: line, Err: fmt.Errorf("%w: %v", ErrConfig, err)}
	}
	var root yaml.Node
	if err := yaml.Unmarshal(b, &root); err == nil {
		c.lines = keyLines(&root)
	}
	if c.KnownFalsePositivesFile != "" {
		p := c.KnownFalsePositivesFile
		if !strings.HasPrefix(p, "/") {
			if i := strings.LastIndex(name, "/"); i >= 0 {
				p = name[:i+1] + p
			}
		}
		f, err := os.Open(p)
		if err != nil {
			return Config{}, &ConfigError{File: name, Line: c.lines["known_false_positives_file"], Key: "known_false_positives_file", Err: err}
		}
		var ids []string
		if st, serr := f.Stat(); serr != nil || !st.Mode().IsRegular() {
			err = fmt.Errorf("%w: %s is not a regular file", ErrConfig, p)
		} else {
			ids, err = ReadKnownFPs(io.LimitReader(f, maxKnownFPsFile))
		}
		f.Close()
		if err != nil {
			return Config{}, &ConfigError{File: name, Line: c.lines["known_false_positives_file"], Key: "known_false_positives_file", Err: err}
		}
		c.KnownFalsePositives = append(c.KnownFalsePositives, ids...)
	}
	return c, c.Validate()
}

// keyLines maps "key", "list[i]" and "list[i].key" of the top-level
// mapping to their lines.
func keyLines(root *yaml.Node) map[string]int {
	out := map[string]int{}
	if root.Kind != yaml.DocumentNode || len(root.Content) == 0 || root.Content[0].Kind != yaml.MappingNode {
		return out
	}
	m := root.Content[0]
	for i := 0; i+1 < len(m.Content); i += 2 {
		k, v := m.Content[i], m.Content[i+1]
		out[k.Value] = k.Line
		if v.Kind == yaml.SequenceNode {
			for j, it := range v.Content {
				key := fmt.Sprintf("%s[%d]", k.Value, j)
				out[key] = it.Line
				if it.Kind == yaml.MappingNode {
					for x := 0; x+1 < len(it.Content); x += 2 {
						out[key+"."+it.Content[x].Value] = it.Content[x].Line
					}
				}
			}
		}
	}
	return out
}

// ReadKnownFPs reads rule ids from SigmaHQ's known-FPs.csv format
// ("RuleId;RuleName;MatchString" with a header line); blank lines and lines
// starting with # are skipped.
func ReadKnownFPs(r io.Reader) ([]string, error) {
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(r); err != nil {
		return nil, err
	}
	var ids []string
	seen := map[string]bool{}
	for i, line := range strings.Split(buf.String(), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") || (i == 0 && strings.HasPrefix(strings.ToLower(line), "ruleid")) {
			continue
		}
		id, _, _ := strings.Cut(line, ";")
		id = strings.TrimSpace(id)
		if id == "" {
			return nil, fmt.Errorf("%w: known false positives line %d: no rule id", ErrConfig, i+1)
		}
		if !seen[id] {
			seen[id] = true
			ids = append(ids, id)
		}
	}
	return ids, nil
}
