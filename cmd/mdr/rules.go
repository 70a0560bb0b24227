package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
)

// runRules is "mdr rules check [--json] PATH…": it loads and compiles rules
// and reports every rejection. The exit status is 1 when any rule is
// rejected.
func runRules(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "check" {
		fmt.Fprintln(stderr, "usage: mdr rules check [--json] PATH…")
		return fmt.Errorf("rules: want the subcommand check: %w", errUsage)
	}
	fset := flag.NewFlagSet("rules check", flag.ContinueOnError)
	fset.SetOutput(stderr)
	asJSON := fset.Bool("json", false, `print {"total":N,"compiled":N,"rejected":[{"path","id","reason"}…]}`)
	if err := fset.Parse(args[1:]); err != nil {
		return fmt.Errorf("%v: %w", err, errUsage)
	}
	if fset.NArg() == 0 {
		return fmt.Errorf("rules check: no rule path given: %w", errUsage)
	}
	rules, rejects, err := loadRules(ctx, fset.Args(), stderr)
	if err != nil {
		return err
	}
	rs, crj, err := compileRules(ctx, rules)
	if err != nil {
		return err
	}
	rejects = append(rejects, crj...)
	compiled := rs.Len()
	total := len(rules) + len(rejects) - len(crj)
	if *asJSON {
		out := struct {
			Total    int          `json:"total"`
			Compiled int          `json:"compiled"`
			Rejected []ruleReject `json:"rejected"`
		}{total, compiled, rejects}
		if out.Rejected == nil {
			out.Rejected = []ruleReject{}
		}
		enc := json.NewEncoder(stdout)
		if err := enc.Encode(out); err != nil {
			return err
		}
	} else {
		for _, r := range rejects {
			fmt.Fprintln(stdout, r.String())
		}
		st := rs.Stats()
		fmt.Fprintf(stdout, "%d rules: %d compiled (%d stateless, %d correlation; %d unrouted, %d without prefilter literals), %d rejected\n",
			total, compiled, st.Rules, st.Correlations, st.Unrouted, st.Unfiltered, len(rejects))
	}
	if len(rejects) > 0 {
		return fmt.Errorf("%d of %d rules rejected", len(rejects), total)
	}
	return nil
}
