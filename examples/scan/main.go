// Command scan shows how a host program embeds mdrkit's detection: it
// compiles its own native CEL rules together with the SigmaHQ rules (through
// detect/sigma and the built-in Windows pipeline) into one Ruleset, matches
// every event of a file or standard input, and prints each match with its
// explanation — which conditions held on which field values.
//
// Usage:
//
//	go run ./examples/scan [-sigma DIR] [FILE]
//
// -sigma names a directory of Sigma rules, for example the shared
// ../shared/data/sigma/rules/windows; without it only the native rules run.
// Without FILE the events are read from standard input (NDJSON, a JSON
// array, or gzip of either).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/mdrkit/mdr/detect"
	"github.com/mdrkit/mdr/detect/sigma"
	"github.com/mdrkit/mdr/reader"
)

// nativeRules are the host's own rules, in detect's native YAML format.
const nativeRules = `
- id: native-lsass-read
  title: Process opens lsass to read its memory
  severity: critical
  tags: [attack.credential-access, attack.t1003.001]
  logsource: {product: windows, category: process_access}
  condition: >
    e.TargetImage.endsWithFold("\\lsass.exe") &&
    e.GrantedAccess.equalsFold(["0x1010", "0x1410", "0x1438", "0x143a", "0x1fffff"])

- id: native-encoded-powershell
  title: PowerShell with an encoded command
  severity: high
  tags: [attack.execution, attack.t1059.001]
  logsource: {product: windows, category: process_creation}
  condition: >
    e.Image.endsWithFold(["\\powershell.exe", "\\pwsh.exe"]) &&
    e.CommandLine.containsFold(windash([" -enc ", " -ec ", " -encodedcommand "]))

- id: native-security-log-cleared
  title: Security event log cleared
  severity: high
  tags: [attack.defense-evasion, attack.t1070.001]
  logsource: {product: windows, service: security}
  condition: e.EventID.numEq(1102)
`

// config is what run needs: the Sigma rule directory ("" = none) and
// where the events come from.
type config struct {
	sigmaDir string
	in       io.Reader
	name     string
}

func main() {
	sigmaDir := flag.String("sigma", "", "also run the Sigma rules under `DIR`")
	flag.Parse()
	cfg := config{sigmaDir: *sigmaDir, in: os.Stdin, name: "-"}
	if flag.NArg() > 0 {
		f, err := os.Open(flag.Arg(0))
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		defer f.Close()
		cfg.in, cfg.name = f, flag.Arg(0)
	}
	if err := run(context.Background(), os.Stdout, cfg); err != nil {
		fmt.Fprintln(os.Stderr, "scan:", err)
		os.Exit(1)
	}
}

// loadSigma compiles every .yml file under dir. Rules that cannot be
// compiled are counted, with the first few reasons printed.
func loadSigma(w io.Writer, dir string) ([]detect.Rule, error) {
	var srcs []sigma.Source
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".yml") {
			return err
		}
		data, err := os.ReadFile(path)
		if err == nil {
			srcs = append(srcs, sigma.Source{Name: path, Data: data})
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	if len(srcs) == 0 {
		return nil, fmt.Errorf("no Sigma rule (.yml) under %s", dir)
	}
	c, err := sigma.New(sigma.WithPipeline(sigma.WindowsPipeline()))
	if err != nil {
		return nil, err
	}
	rules, err := c.Compile(srcs...)
	var le *sigma.LoadError
	if errors.As(err, &le) {
		fmt.Fprintf(w, "sigma: %d rules rejected\n", len(le.Problems))
		for i, p := range le.Problems {
			if i == 3 {
				break
			}
			fmt.Fprintf(w, "  %s:%d: %s: %s\n", p.File, p.Line, p.RuleID, p.Reason)
		}
	} else if err != nil {
		return nil, err
	}
	fmt.Fprintf(w, "sigma: %d rules compiled from %d files\n", len(rules), len(srcs))
	return rules, nil
}

func run(ctx context.Context, w io.Writer, cfg config) error {
	rules, err := detect.ParseRules([]byte(nativeRules), "native.yaml")
	if err != nil {
		return err
	}
	if cfg.sigmaDir != "" {
		srules, err := loadSigma(w, cfg.sigmaDir)
		if err != nil {
			return err
		}
		rules = append(rules, srules...)
	}
	// Compile once: the Ruleset is immutable and safe for concurrent use.
	// The pipeline's routing sends each rule only the events of its
	// logsource (Sysmon 1 and Security 4688 for process_creation, …).
	rs, err := detect.Compile(rules, detect.WithPipeline(sigma.WindowsPipeline().Routing()))
	if err != nil {
		if rs == nil {
			return err
		}
		fmt.Fprintf(w, "%d rules rejected by the engine\n", len(detect.Rejections(err)))
	}
	st := rs.Stats()
	fmt.Fprintf(w, "ruleset: %d rules, %d prefilter literals, %d rules without literals\n", st.Rules, st.Literals, st.Unfiltered)

	r, err := reader.New(cfg.in, cfg.name, reader.Options{OnError: reader.Skip})
	if err != nil {
		return err
	}
	defer r.Close()
	var ms []detect.Match
	events, matches := 0, 0
	for r.Next() {
		ev := r.Event()
		events++
		// AppendMatches with a reused slice allocates nothing for an event
		// that no rule matches.
		if ms, err = rs.AppendMatches(ctx, ms[:0], ev); err != nil {
			return err
		}
		for _, m := range ms {
			matches++
			o := ev.Origin()
			fmt.Fprintf(w, "\n%s:%d  %s  %s (%s)\n", o.Source, o.Line, strings.ToUpper(m.Rule.Severity.String()), m.Rule.Title, m.Rule.ID)
			for _, c := range m.Explanation.Conditions {
				if len(c.Value) > 120 {
					c.Value = c.Value[:120] + "…"
				}
				fmt.Fprintf(w, "    %s\n", c)
			}
		}
	}
	if err := r.Err(); err != nil {
		return err
	}
	fmt.Fprintf(w, "\n%d events, %d matches, %d malformed lines skipped\n", events, matches, r.Skipped())
	return nil
}
