package sigma_test

import (
	"context"
	"fmt"

	"github.com/mdrkit/mdr"
	"github.com/mdrkit/mdr/detect"
	"github.com/mdrkit/mdr/detect/sigma"
)

// Compile a Sigma rule with the built-in Windows pipeline and run it on a
// Sysmon and a Security 4688 event.
func Example() {
	rule := `title: Whoami Execution
id: 5b0f0c4e-0000-4000-8000-000000000001
logsource:
    category: process_creation
    product: windows
detection:
    selection:
        Image|endswith: '\whoami.exe'
    condition: selection
level: high
`
	p := sigma.WindowsPipeline()
	c, err := sigma.New(sigma.WithPipeline(p))
	if err != nil {
		panic(err)
	}
	rules, err := c.Compile(sigma.Source{Name: "whoami.yml", Data: []byte(rule)})
	if err != nil {
		panic(err)
	}
	fmt.Println(rules[0].Condition)
	rs, err := detect.Compile(rules, detect.WithPipeline(p.Routing()))
	if err != nil {
		panic(err)
	}
	for _, e := range []*mdr.Event{
		mdr.NewEvent(mdr.Origin{}, mdr.Field{Key: "Channel", Value: mdr.String("Microsoft-Windows-Sysmon/Operational")},
			mdr.Field{Key: "EventID", Value: mdr.Int(1)}, mdr.Field{Key: "Image", Value: mdr.String(`C:\Windows\System32\whoami.exe`)}),
		mdr.NewEvent(mdr.Origin{}, mdr.Field{Key: "Channel", Value: mdr.String("Security")},
			mdr.Field{Key: "EventID", Value: mdr.Int(4688)}, mdr.Field{Key: "NewProcessName", Value: mdr.String(`C:\Windows\System32\WHOAMI.EXE`)}),
	} {
		ms, _ := rs.Match(context.Background(), e)
		for _, m := range ms {
			fmt.Println(m.Rule.Title, m.Rule.Severity)
		}
	}
	// Output:
	// e.Image.endsWithFold("\\whoami.exe") || e.NewProcessName.endsWithFold("\\whoami.exe")
	// Whoami Execution high
	// Whoami Execution high
}

// Load a pipeline of your own from YAML, on top of the built-in one.
func ExampleParsePipeline() {
	p, err := sigma.ParsePipeline("soc.yml", []byte(`name: soc
extends: windows
fields:
    - logsource: {product: acme}
      map:
          Image: [proc.path]
placeholders:
    Admins: [adm_alice, adm_bob]
`))
	if err != nil {
		panic(err)
	}
	c, _ := sigma.New(sigma.WithPipeline(p))
	rules, _ := c.Compile(sigma.Source{Name: "r.yml", Data: []byte(`title: t
logsource: {product: acme}
detection:
    sel:
        Image|endswith: '\cmd.exe'
    filter:
        User|expand: '%Admins%'
    condition: sel and not filter
`)})
	fmt.Println(rules[0].Condition)
	// Output:
	// e["proc.path"].endsWithFold("\\cmd.exe") && !(e.User.equalsFold(["adm_alice", "adm_bob"]))
}
