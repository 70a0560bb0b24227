package svg_test

import (
	"bytes"
	"context"
	"fmt"
	"strings"

	"github.com/mdrkit/mdr/investigate/svg"
)

// Render the DOT text of an incident graph (investigate.Graph.WriteDOT writes
// it) to SVG, in process: no Graphviz binary is needed.
func Example() {
	ctx := context.Background()
	r, err := svg.New(ctx)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer r.Close()
	dot := []byte(`digraph incident {
  "winword.exe" -> "powershell.exe" [label="spawned"];
  "powershell.exe" -> "203.0.113.9:443" [label="connected"];
}`)
	var out bytes.Buffer
	if err := r.Render(ctx, dot, &out); err != nil {
		fmt.Println(err)
		return
	}
	s := out.String()
	fmt.Println(strings.Contains(s, "<svg"), strings.Count(s, `class="node"`), strings.Count(s, `class="edge"`))
	// Output:
	// true 3 2
}
