package sigma

import (
	"context"
	"path/filepath"
	"testing"
)

// TestAttackSamples runs the corpus over the two labelled attack datasets:
// no event may make a rule fail, and the detections are reported.
func TestAttackSamples(t *testing.T) {
	rs, _ := compileCorpus(t)
	for _, f := range []string{"evtx_attack_samples.jsonl", "evtx_to_mitre_attack.jsonl"} {
		events := readEvents(t, filepath.Join(dataDir(t), "events", f))
		rules := map[string]bool{}
		hit := 0
		for i, e := range events {
			ms, err := rs.Match(context.Background(), e)
			if err != nil {
				t.Fatalf("%s event %d: %v", f, i, err)
			}
			if len(ms) > 0 {
				hit++
			}
			for _, m := range ms {
				rules[m.Rule.ID] = true
			}
		}
		t.Logf("%s: %d events, %d with at least one detection, %d distinct rules fire", f, len(events), hit, len(rules))
		if hit == 0 {
			t.Errorf("%s: no detection at all in an attack dataset", f)
		}
	}
}
