package schema_test

import (
	"testing"

	"github.com/mdrkit/mdr"
	"github.com/mdrkit/mdr/internal/shareddata"
	"github.com/mdrkit/mdr/reader"
	"github.com/mdrkit/mdr/schema"
)

// loadReal reads the shared Windows logs and keeps the events of the given
// dialect (all when d is DialectUnknown).
func loadReal(b *testing.B, keep func(schema.Dialect) bool) []*mdr.Event {
	b.Helper()
	var evs []*mdr.Event
	for _, name := range shareddata.EventFiles {
		r, err := reader.Open(shareddata.Path(b, "events", name), reader.Options{})
		if err != nil {
			b.Fatal(err)
		}
		for r.Next() {
			if keep(schema.Detect(r.Event())) {
				evs = append(evs, r.Event())
			}
		}
		if err := r.Err(); err != nil {
			b.Fatal(err)
		}
		r.Close()
	}
	if len(evs) == 0 {
		b.Fatal("no events")
	}
	return evs
}

func benchMap(b *testing.B, evs []*mdr.Event, table bool) {
	m := schema.Mapper{}
	if table {
		m.Processes = schema.NewProcessTable(1 << 16)
	}
	var r schema.Result
	b.ReportAllocs()
	b.ResetTimer()
	i := 0
	for b.Loop() {
		m.Map(evs[i], &r)
		i++
		if i == len(evs) {
			i = 0
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkMapSysmon maps the real Sysmon events (mostly 1, 7, 11, 13).
func BenchmarkMapSysmon(b *testing.B) {
	benchMap(b, loadReal(b, func(d schema.Dialect) bool { return d == schema.DialectSysmon }), true)
}

// BenchmarkMapSecurity maps the real Security events (a third unsupported).
func BenchmarkMapSecurity(b *testing.B) {
	benchMap(b, loadReal(b, func(d schema.Dialect) bool { return d == schema.DialectSecurity }), true)
}

// BenchmarkMapAll maps every event of the shared logs, most of which are of
// kinds the package does not map.
func BenchmarkMapAll(b *testing.B) {
	benchMap(b, loadReal(b, func(schema.Dialect) bool { return true }), true)
}

// BenchmarkMapAllStateless is BenchmarkMapAll without a ProcessTable.
func BenchmarkMapAllStateless(b *testing.B) {
	benchMap(b, loadReal(b, func(schema.Dialect) bool { return true }), false)
}

func BenchmarkDetect(b *testing.B) {
	evs := loadReal(b, func(schema.Dialect) bool { return true })
	b.ReportAllocs()
	b.ResetTimer()
	i := 0
	for b.Loop() {
		schema.Detect(evs[i])
		i++
		if i == len(evs) {
			i = 0
		}
	}
}

func BenchmarkLookup(b *testing.B) {
	evs := loadReal(b, func(d schema.Dialect) bool { return d == schema.DialectSysmon })
	b.ReportAllocs()
	b.ResetTimer()
	i := 0
	for b.Loop() {
		schema.Lookup(evs[i], "process.executable")
		i++
		if i == len(evs) {
			i = 0
		}
	}
}
