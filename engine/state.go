package engine

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/mdrkit/mdr"
)

// detectorStateVersion is the version of Snapshot's envelope.
const detectorStateVersion = 1

type detectorState struct {
	Version    int             `json:"version"`
	Stats      Stats           `json:"stats"`
	Correlator json.RawMessage `json:"correlator,omitempty"`
}

// Snapshot returns the Detector's state (the correlation state and the
// counters) as one versioned value, so a host can store it atomically with
// its own position in the stream (see package jetstream). The events
// remembered for the entities of correlation alerts are not part of it: a
// correlation alert raised after a restore may name fewer entities, never
// a different id.
func (d *Detector) Snapshot(ctx context.Context) ([]byte, error) {
	st := detectorState{Version: detectorStateVersion, Stats: d.stats}
	if d.corr != nil {
		var mem oneKey
		if err := d.corr.SaveState(ctx, &mem); err != nil {
			return nil, err
		}
		st.Correlator = mem.val
	}
	return json.Marshal(st)
}

// Restore replaces the Detector's state with a Snapshot.
func (d *Detector) Restore(ctx context.Context, snap []byte) error {
	var st detectorState
	if err := json.Unmarshal(snap, &st); err != nil {
		return fmt.Errorf("%w: detector state: %v", mdr.ErrInvalid, err)
	}
	if st.Version != detectorStateVersion {
		return fmt.Errorf("%w: detector state version %d, this build reads %d", mdr.ErrInvalid, st.Version, detectorStateVersion)
	}
	if d.corr != nil && len(st.Correlator) > 0 {
		if err := d.corr.LoadState(ctx, &oneKey{val: st.Correlator, set: true}); err != nil {
			return err
		}
	}
	st.Stats.Correlator = d.stats.Correlator
	d.stats = st.Stats
	return nil
}

// oneKey is a StateStore holding one value, whatever its key.
type oneKey struct {
	val []byte
	set bool
}

func (o *oneKey) PutState(_ context.Context, _ string, val []byte) error {
	o.val, o.set = append([]byte(nil), val...), true
	return nil
}

func (o *oneKey) GetState(_ context.Context, key string) ([]byte, error) {
	if !o.set {
		return nil, fmt.Errorf("%w: %s", mdr.ErrNotFound, key)
	}
	return o.val, nil
}
