package main

import (
	"context"
	"flag"
	"fmt"
	"io"

	"github.com/mdrkit/mdr/detect"
	"github.com/mdrkit/mdr/detect/sigma"
	"github.com/mdrkit/mdr/engine"
)

// ruleReject is one rule (or rule file) that could not be loaded or
// compiled: where, which rule, and why.
type ruleReject = engine.Reject

func rejectsOf(errs []detect.RuleError) []ruleReject {
	out := make([]ruleReject, len(errs))
	for i, e := range errs {
		out[i] = ruleReject{Path: e.File, Line: e.Line, ID: e.RuleID, Reason: e.Reason}
	}
	return out
}

// loadRules reads and parses the rules under paths through engine.Parse
// (regular files only, each under a size cap; folders walked for .yml and
// .yaml files in lexical order). Paths in a folder that are not regular
// files are noted on notes and skipped. Rules that cannot be read are
// returned as rejects (all of them); an error is returned only when a path
// cannot be read at all or ctx ends.
func loadRules(ctx context.Context, paths []string, notes io.Writer) ([]detect.Rule, []ruleReject, error) {
	p, err := engine.Parse(ctx, paths, engine.WithPipelineFile(sigmaPipelinePath))
	if err != nil {
		return nil, nil, err
	}
	for _, s := range p.Skipped {
		fmt.Fprintf(notes, "mdr: rules: %s\n", s)
	}
	if p.SigmaFiles > 0 {
		sigmaPipeline = p.Pipeline
	}
	return p.Rules, p.Rejects, nil
}

// sigmaPipelinePath is the --pipeline flag: a YAML processing pipeline for
// Sigma rules (see sigma.ParsePipeline); empty means the built-in Windows
// pipeline.
var sigmaPipelinePath string

// sigmaPipeline is the pipeline the loaded Sigma rules were compiled with;
// nil when no Sigma rule was loaded.
var sigmaPipeline *sigma.Pipeline

// addPipelineFlag registers --pipeline on a command's flag set.
func addPipelineFlag(fset *flag.FlagSet) {
	fset.StringVar(&sigmaPipelinePath, "pipeline", "", "Sigma processing pipeline (YAML; default: the built-in Windows pipeline)")
}

// compileOptions are the detect options for the loaded rules: the logsource
// pipeline that routes them (none for native rules; detect/sigma ships the
// Windows one).
func compileOptions() []detect.Option {
	if sigmaPipeline != nil {
		return []detect.Option{detect.WithPipeline(sigmaPipeline.Routing())}
	}
	return nil
}

// compileRules compiles rules and returns the ruleset with every rejection;
// ctx ending (Ctrl-C) stops the compile.
func compileRules(ctx context.Context, rules []detect.Rule) (*detect.Ruleset, []ruleReject, error) {
	rs, err := detect.CompileContext(ctx, rules, compileOptions()...)
	if err != nil {
		rj := detect.Rejections(err)
		if rj == nil || rs == nil {
			return nil, nil, err
		}
		return rs, rejectsOf(rj), nil
	}
	return rs, nil, nil
}
