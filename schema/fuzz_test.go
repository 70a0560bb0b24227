package schema_test

import (
	"bufio"
	"os"
	"testing"

	"github.com/mdrkit/mdr"
	"github.com/mdrkit/mdr/internal/codec"
	"github.com/mdrkit/mdr/internal/shareddata"
	"github.com/mdrkit/mdr/schema"
)

// FuzzMap decodes arbitrary JSON into an event and maps it: mapping must
// never panic, and every result must keep its invariants (relations join
// entities of the result, ids carry their kind's prefix). The seed corpus is
// one line of each (dialect, event id) in the shared logs plus the
// hand-written ECS and OCSF events.
func FuzzMap(f *testing.F) {
	seen := map[string]bool{}
	add := func(path string, all bool) {
		fh, err := os.Open(path)
		if err != nil {
			f.Fatal(err)
		}
		defer fh.Close()
		sc := bufio.NewScanner(fh)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		b := mdr.NewBuilder(48)
		for sc.Scan() {
			line := append([]byte(nil), sc.Bytes()...)
			ev, err := codec.Decode(line, mdr.Origin{Source: path}, b)
			if err != nil {
				continue
			}
			r, _ := schema.Extract(ev)
			key := r.Dialect.String() + "/" + r.Code
			if all || !seen[key] {
				seen[key] = true
				f.Add(line)
			}
		}
	}
	for _, name := range shareddata.EventFiles {
		add(shareddata.Path(f, "events", name), false)
	}
	add("testdata/ecs.ndjson", true)
	add("testdata/ocsf.ndjson", true)
	m := schema.Mapper{Processes: schema.NewProcessTable(64)}
	f.Fuzz(func(t *testing.T, line []byte) {
		ev, err := codec.Decode(line, mdr.Origin{Source: "fuzz", Line: 1}, mdr.NewBuilder(16))
		if err != nil {
			return
		}
		var r schema.Result
		m.Map(ev, &r) // errors are allowed; panics and broken invariants are not
		checkResult(t, ev, &r)
		schema.Detect(ev)
		for _, c := range []string{"process.executable", "user.name", "destination.ip", "host.name"} {
			schema.Lookup(ev, c)
		}
	})
}
