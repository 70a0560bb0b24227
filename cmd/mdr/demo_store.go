package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/mdrkit/mdr"
	"github.com/mdrkit/mdr/detect"
	"github.com/mdrkit/mdr/store"
	"github.com/mdrkit/mdr/store/badger"
)

// stored is what the store step wrote and read back.
type stored struct {
	dir        string // the store directory
	temp       bool   // dir is a temporary directory, removed at the end
	events     store.AppendResult
	alertsPut  int
	alertsOld  int // alerts already in a kept store (--store of a previous run)
	edges      int
	stateBytes int // size of the saved correlation state
	alerts     []mdr.Alert
	raised     map[string]bool // ids of the alerts this run raised
}

// openStore opens the badger store in --store DIR, or in a new temporary
// directory.
func (d *demo) openStore() error {
	dir := d.storeDir
	if dir == "" {
		var err error
		if dir, err = os.MkdirTemp("", "mdr-demo-store-*"); err != nil {
			return fmt.Errorf("demo: %w", err)
		}
		d.st.temp = true
	}
	d.st.dir = dir
	s, err := badger.Open(badger.DefaultConfig(dir))
	if err != nil {
		if d.st.temp {
			os.RemoveAll(dir)
		}
		return fmt.Errorf("demo: %w", err)
	}
	d.db = s
	return nil
}

// closeStore closes the store and removes a temporary one.
func (d *demo) closeStore() error {
	if d.db == nil {
		return nil
	}
	err := d.db.Close()
	d.db = nil
	if d.st.temp {
		if rerr := os.RemoveAll(d.st.dir); err == nil && rerr != nil {
			err = rerr
		}
	}
	if err != nil {
		return fmt.Errorf("demo: closing the store: %w", err)
	}
	return nil
}

// storeEvents writes the events, the alerts and the correlator's state.
func (d *demo) storeEvents(ctx context.Context) error {
	res, err := d.db.AppendEvents(ctx, d.events)
	if err != nil {
		return fmt.Errorf("demo: storing events: %w", err)
	}
	d.st.events = res
	d.st.raised = map[string]bool{}
	for _, a := range d.alerts() {
		d.st.raised[a.ID] = true
		if _, err := d.db.PutAlert(ctx, store.AlertRecord{Alert: a, Status: store.StatusNew, Updated: a.Time}); err != nil {
			if errors.Is(err, mdr.ErrConflict) {
				d.st.alertsOld++
				continue
			}
			return fmt.Errorf("demo: storing alert %s: %w", a.ID, err)
		}
		d.st.alertsPut++
	}
	if err := d.correlator.SaveState(ctx, d.db); err != nil {
		return fmt.Errorf("demo: saving correlation state: %w", err)
	}
	b, err := d.db.GetState(ctx, detect.DefaultCorrelatorConfig().StateKey)
	if err != nil {
		return fmt.Errorf("demo: reading the correlation state back: %w", err)
	}
	d.st.stateBytes = len(b)
	return nil
}

// storeRelations writes the relations the schema step found.
func (d *demo) storeRelations(ctx context.Context) error {
	if err := d.db.AppendEdges(ctx, d.relations); err != nil {
		return fmt.Errorf("demo: storing relations: %w", err)
	}
	d.st.edges = len(d.relations)
	return nil
}

// readAlerts reads back from the store the alerts this run raised: it lists
// the alerts of the run's time range and keeps those with this run's ids (a
// kept store may hold other runs' alerts of the same time). The report
// prints what the store holds, not what was computed.
func (d *demo) readAlerts(ctx context.Context) error {
	var from, to time.Time
	for _, ev := range d.events {
		t := ev.Time()
		if from.IsZero() || t.Before(from) {
			from = t
		}
		if t.After(to) {
			to = t
		}
	}
	q := store.ListQuery{From: from, To: to.Add(time.Nanosecond)}
	for rec, err := range d.db.ListAlerts(ctx, q) {
		if err != nil {
			return fmt.Errorf("demo: reading alerts back: %w", err)
		}
		if d.st.raised[rec.Alert.ID] {
			d.st.alerts = append(d.st.alerts, rec.Alert)
		}
	}
	sortAlerts(d.st.alerts)
	return nil
}
