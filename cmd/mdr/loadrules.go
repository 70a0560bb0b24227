package main

import (
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/mdrkit/mdr/detect"
	"github.com/mdrkit/mdr/detect/sigma"
)

// ruleReject is one rule (or rule file) that could not be loaded or
// compiled: where, which rule, and why.
type ruleReject struct {
	Path   string `json:"path"`
	Line   int64  `json:"line,omitempty"`
	ID     string `json:"id"`
	Reason string `json:"reason"`
}

func (r ruleReject) String() string {
	loc := r.Path
	if r.Line > 0 {
		loc += fmt.Sprintf(":%d", r.Line)
	}
	if r.ID != "" {
		return fmt.Sprintf("%s: rule %s: %s", loc, r.ID, r.Reason)
	}
	return fmt.Sprintf("%s: %s", loc, r.Reason)
}

func rejectsOf(errs []detect.RuleError) []ruleReject {
	out := make([]ruleReject, len(errs))
	for i, e := range errs {
		out[i] = ruleReject{Path: e.File, Line: e.Line, ID: e.RuleID, Reason: e.Reason}
	}
	return out
}

// isRuleFile reports whether a directory entry is a rule file.
func isRuleFile(name string) bool {
	ext := strings.ToLower(filepath.Ext(name))
	return ext == ".yml" || ext == ".yaml"
}

// loadRules reads the rules under paths: files are read whatever their
// name; directories are walked for .yml and .yaml files, in lexical order.
// Rules that cannot be read are returned as rejects (all of them); an error
// is returned only when a path cannot be read at all.
func loadRules(paths []string) ([]detect.Rule, []ruleReject, error) {
	var files []string
	for _, p := range paths {
		st, err := os.Stat(p)
		if err != nil {
			return nil, nil, fmt.Errorf("rules: %w", err)
		}
		if !st.IsDir() {
			files = append(files, p)
			continue
		}
		var found []string
		err = filepath.WalkDir(p, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if !d.IsDir() && isRuleFile(d.Name()) {
				found = append(found, path)
			}
			return nil
		})
		if err != nil {
			return nil, nil, fmt.Errorf("rules: %w", err)
		}
		sort.Strings(found)
		files = append(files, found...)
	}
	var rules []detect.Rule
	var rejects []ruleReject
	var sigmaSrcs []sigma.Source
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, nil, fmt.Errorf("rules: %w", err)
		}
		if sigma.IsSigma(data) {
			sigmaSrcs = append(sigmaSrcs, sigma.Source{Name: f, Data: data})
			continue
		}
		rs, rj := parseRuleFile(f, data)
		rules = append(rules, rs...)
		rejects = append(rejects, rj...)
	}
	if len(sigmaSrcs) > 0 {
		rs, rj, err := compileSigma(sigmaSrcs)
		if err != nil {
			return nil, nil, err
		}
		rules = append(rules, rs...)
		rejects = append(rejects, rj...)
	}
	return rules, rejects, nil
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

// compileSigma compiles Sigma files together (correlations and filters may
// refer to rules of other files) through the Sigma pipeline.
func compileSigma(srcs []sigma.Source) ([]detect.Rule, []ruleReject, error) {
	p := sigma.WindowsPipeline()
	if sigmaPipelinePath != "" {
		var err error
		if p, err = sigma.LoadPipeline(sigmaPipelinePath); err != nil {
			return nil, nil, err
		}
	}
	c, err := sigma.New(sigma.WithPipeline(p))
	if err != nil {
		return nil, nil, err
	}
	rules, err := c.Compile(srcs...)
	var rejects []ruleReject
	if err != nil {
		var le *sigma.LoadError
		if !errors.As(err, &le) {
			return nil, nil, err
		}
		for _, pr := range le.Problems {
			reason := pr.Reason
			if pr.Field != "" {
				reason = fmt.Sprintf("field %q: %s", pr.Field, reason)
			}
			if pr.Modifier != "" {
				reason = fmt.Sprintf("modifier %q: %s", pr.Modifier, reason)
			}
			rejects = append(rejects, ruleReject{Path: pr.File, Line: int64(pr.Line), ID: pr.RuleID, Reason: reason})
		}
	}
	sigmaPipeline = p
	return rules, rejects, nil
}

// parseRuleFile parses one rule file. This is the one place that decides
// the format of a file: native detect rules here; Sigma rules (files with a
// top-level detection:, correlation: or filter: key) go to detect/sigma
// (see loadRules).
func parseRuleFile(path string, data []byte) ([]detect.Rule, []ruleReject) {
	rules, err := detect.ParseRules(data, path)
	if err != nil {
		rj := detect.Rejections(err)
		if rj == nil {
			return rules, []ruleReject{{Path: path, Reason: err.Error()}}
		}
		return rules, rejectsOf(rj)
	}
	return rules, nil
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

// compileRules compiles rules and returns the ruleset with every rejection.
func compileRules(rules []detect.Rule) (*detect.Ruleset, []ruleReject, error) {
	rs, err := detect.Compile(rules, compileOptions()...)
	if err != nil {
		rj := detect.Rejections(err)
		if rj == nil || rs == nil {
			return nil, nil, err
		}
		return rs, rejectsOf(rj), nil
	}
	return rs, nil, nil
}
