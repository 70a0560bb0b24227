package triage

import (
	"context"
	"errors"

	"github.com/mdrkit/mdr"
	"github.com/mdrkit/mdr/engine"
	"github.com/mdrkit/mdr/reader"
)

// RunStats counts what RunFiles did.
type RunStats struct {
	Events       int64 `json:"events"`
	Skipped      int64 `json:"skipped"` // malformed lines skipped
	Alerts       int64 `json:"alerts"`  // alerts pushed
	Deduplicated int64 `json:"deduplicated"`
	Suppressed   int64 `json:"suppressed"`
	PushErrors   int64 `json:"push_errors"` // suppression or linker errors (the alert was still queued)
}

// RunFiles reads event files (see package reader), runs the detector over
// them and pushes every alert into q with its event; then it flushes q.
// onAlert, when set, is called after each push (for example to remember
// which file an event came from); onError with every non-fatal push error.
func RunFiles(ctx context.Context, q *Queue, d *engine.Detector, files []string, opts reader.Options,
	onAlert func(ev *mdr.Event, a *mdr.Alert, p Pushed), onError func(error)) (RunStats, error) {
	var rs RunStats
	fs, err := engine.DetectFiles(ctx, d, files, opts, func(ev *mdr.Event, alerts []mdr.Alert) error {
		for i := range alerts {
			p, err := q.Push(ctx, alerts[i], ev)
			if err != nil {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				rs.PushErrors++
				if onError != nil {
					onError(err)
				}
			}
			rs.Alerts++
			if p.Deduplicated {
				rs.Deduplicated++
			}
			if p.Suppressed {
				rs.Suppressed++
			}
			if onAlert != nil {
				onAlert(ev, &alerts[i], p)
			}
		}
		return nil
	})
	rs.Events, rs.Skipped = fs.Events, fs.Skipped
	if err != nil {
		return rs, err
	}
	if err := q.Flush(ctx); err != nil {
		return rs, errors.Join(err)
	}
	return rs, nil
}
