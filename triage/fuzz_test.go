package triage_test

import (
	"errors"
	"testing"

	"github.com/mdrkit/mdr/triage"
)

// FuzzParseConfig: any bytes give a valid configuration or a
// *ConfigError, never a panic.
func FuzzParseConfig(f *testing.F) {
	f.Add([]byte("lookback: 2h\nmatch: any\nmatch_kinds: [host, user]\n"))
	f.Add([]byte("suppressions:\n  - id: s\n    when: alert.rule_id == 'x' && event.Image.endsWith('a')\n    reason: r\n    author: a\n    expires: 2026-01-01T00:00:00Z\n"))
	f.Add([]byte("criticality:\n  - {kind: host, patterns: ['dc*'], level: critical}\nweights: {tactic: 2, levels: {high: 60}}\n"))
	f.Add([]byte("colour: blue\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := triage.ParseConfig("fuzz.yaml", b)
		if err != nil {
			var ce *triage.ConfigError
			if !errors.As(err, &ce) {
				t.Fatalf("error of type %T: %v", err, err)
			}
			return
		}
		if err := c.Validate(); err != nil {
			t.Fatalf("parsed config does not validate: %v", err)
		}
	})
}
