package main

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"
)

var updateGolden = flag.Bool("update-demo", false, "rewrite testdata/demo-seed1.golden from the current output")

// TestDemoGolden compares the whole report for seed 1 with a golden file, so
// that any change to the generator, the mapping or the report shows up in
// review. Regenerate with: go test ./cmd/mdr -run TestDemoGolden -update-demo
//
// It runs the native rules only (--sigma ”), so that the golden file
// follows this command's rules and report, not the Sigma corpus or
// compiler; TestDemoSigma covers the Sigma part.
func TestDemoGolden(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run([]string{"demo", "--seed", "1", "--sigma", ""}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	golden := filepath.Join("testdata", "demo-seed1.golden")
	if *updateGolden {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(golden, out.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (create it with -update-demo)", err)
	}
	if !bytes.Equal(out.Bytes(), want) {
		gl, wl := bytes.Split(out.Bytes(), []byte("\n")), bytes.Split(want, []byte("\n"))
		for i := 0; i < len(gl) || i < len(wl); i++ {
			var g, w []byte
			if i < len(gl) {
				g = gl[i]
			}
			if i < len(wl) {
				w = wl[i]
			}
			if !bytes.Equal(g, w) {
				t.Fatalf("report differs from %s at line %d:\n got: %s\nwant: %s\n(regenerate with -update-demo if the change is intended)", golden, i+1, g, w)
			}
		}
	}
}
