package reader_test

import (
	"fmt"
	"strings"

	"github.com/mdrkit/mdr/reader"
)

// Read NDJSON from any io.Reader, skipping and counting malformed lines; the
// events keep their field names, and nested objects are read by dotted path.
func Example() {
	const ndjson = `{"EventID": 1, "Computer": "WS1", "Image": "C:\\Windows\\System32\\cmd.exe", "UtcTime": "2026-03-02 09:00:00.000"}
{"EventID": 4688, "Computer": "WS1", "NewProcessName": "C:\\Windows\\System32\\whoami.exe"
{"event": {"code": "1"}, "process": {"executable": "/usr/bin/curl", "parent": {"executable": "/bin/sh"}}}
`
	r, err := reader.New(strings.NewReader(ndjson), "events.jsonl", reader.Options{
		OnError: reader.Skip,
		OnSkip:  func(e *reader.LineError) { fmt.Println("skipped:", e.Source, "line", e.Line) },
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer r.Close()
	for ev, err := range r.All() {
		if err != nil {
			fmt.Println(err)
			return
		}
		if img, ok := ev.String("Image"); ok {
			id, _ := ev.Int("EventID")
			fmt.Println(id, img, ev.Time().Format("15:04"))
		}
		if parent, ok := ev.String("process.parent.executable"); ok {
			fmt.Println("line", ev.Origin().Line, "parent", parent)
		}
	}
	fmt.Println("read", r.Count(), "skipped", r.Skipped())
	// Output:
	// 1 C:\Windows\System32\cmd.exe 09:00
	// skipped: events.jsonl line 2
	// line 3 parent /bin/sh
	// read 2 skipped 1
}
