package engine

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/mdrkit/mdr/detect"
	"github.com/mdrkit/mdr/detect/sigma"
)

// DefaultMaxFileSize is the size cap of one rule file: the largest SigmaHQ
// rule is under 40 KB, so 4 MiB leaves room for generated rule files while
// refusing a 58 MB file before reading it.
const DefaultMaxFileSize = 4 << 20

// Option configures Load and Compile. Options that can fail return an error
// from Load.
type Option func(*config) error

type config struct {
	pipeline     *sigma.Pipeline
	pipelineFile string
	maxFileSize  int64
	detectOpts   []detect.Option
	extra        []detect.Rule
	sources      []Source
}

// WithPipeline compiles Sigma rules through p (field mappings and logsource
// routing). The default is sigma.WindowsPipeline().
func WithPipeline(p *sigma.Pipeline) Option {
	return func(c *config) error {
		if p == nil {
			return errors.New("engine: nil pipeline")
		}
		c.pipeline = p
		return nil
	}
}

// WithPipelineFile loads the Sigma processing pipeline from a YAML file
// (see sigma.LoadPipeline); an empty path keeps the default.
func WithPipelineFile(path string) Option {
	return func(c *config) error { c.pipelineFile = path; return nil }
}

// WithMaxFileSize sets the size cap of one rule file (DefaultMaxFileSize
// when not given). A larger file is rejected without being read.
func WithMaxFileSize(n int64) Option {
	return func(c *config) error {
		if n <= 0 {
			return fmt.Errorf("engine: max file size must be positive, got %d", n)
		}
		c.maxFileSize = n
		return nil
	}
}

// WithDetectOptions passes options to detect.Compile (cost limit, …). The
// logsource routing of the Sigma pipeline is added by Load.
func WithDetectOptions(opts ...detect.Option) Option {
	return func(c *config) error { c.detectOpts = append(c.detectOpts, opts...); return nil }
}

// WithRules adds rules already parsed (for example rules embedded in the
// host program) to those read from files.
func WithRules(rules ...detect.Rule) Option {
	return func(c *config) error { c.extra = append(c.extra, rules...); return nil }
}

// WithExtraSources adds rule sources held in memory (for example a rule
// file embedded in the host program), parsed with the files Load reads
// (a Sigma source is compiled together with the Sigma files).
func WithExtraSources(srcs ...Source) Option {
	return func(c *config) error { c.sources = append(c.sources, srcs...); return nil }
}

// Source is one rule file's content and the name errors give it.
type Source struct {
	Name string
	Data []byte
}

// Rules is a compiled set of rules with what was rejected on the way. It is
// immutable and safe for concurrent use.
type Rules struct {
	// Ruleset holds every accepted rule, native and Sigma, correlations
	// included.
	Ruleset *detect.Ruleset
	// Rejects lists every rule or file that was not accepted.
	Rejects []Reject
	// Skipped lists paths under a rules folder that are not regular files.
	Skipped []Skipped
	// Files is the number of rule files read; SigmaFiles how many of them
	// were Sigma.
	Files, SigmaFiles int
	// Pipeline is the Sigma pipeline the rules were compiled with.
	Pipeline *sigma.Pipeline

	sigmaIDs map[string]bool
}

// IsSigma reports whether the rule with this id came from a Sigma file.
func (r *Rules) IsSigma(id string) bool { return r.sigmaIDs[id] }

// Len is the number of accepted rules (correlations included).
func (r *Rules) Len() int {
	if r == nil || r.Ruleset == nil {
		return 0
	}
	return r.Ruleset.Len()
}

// Load reads the rule files under paths and compiles them. A path that is
// a file is read whatever its name (it must be a regular file); a folder is
// walked for regular .yml and .yaml files in lexical order, and anything
// else in it that is not a regular file is listed in Rules.Skipped. Every
// rule that cannot be parsed or compiled is listed in Rules.Rejects; the
// error is for a path that cannot be read at all, a bad option, or ctx
// ending.
func Load(ctx context.Context, paths []string, opts ...Option) (*Rules, error) {
	p, err := Parse(ctx, paths, opts...)
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return p.CompileContext(ctx)
}

// Parse reads and parses the rule files under paths as Load does, without
// compiling them into a Ruleset.
func Parse(ctx context.Context, paths []string, opts ...Option) (*Parsed, error) {
	cfg, err := newConfig(opts)
	if err != nil {
		return nil, err
	}
	var files []string
	var skipped []Skipped
	for _, p := range paths {
		st, err := os.Stat(p)
		if err != nil {
			return nil, fmt.Errorf("rules: %w", err)
		}
		if !st.IsDir() {
			if !st.Mode().IsRegular() {
				return nil, fmt.Errorf("rules: %s: not a regular file (%s)", p, st.Mode().Type())
			}
			files = append(files, p)
			continue
		}
		var found []string
		err = filepath.WalkDir(p, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if err := ctx.Err(); err != nil {
				return err
			}
			if d.IsDir() || !IsRuleFile(d.Name()) {
				return nil
			}
			if !d.Type().IsRegular() {
				skipped = append(skipped, Skipped{Path: path, Reason: "not a regular file (" + kindOf(d.Type()) + "), skipped"})
				return nil
			}
			found = append(found, path)
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("rules: %w", err)
		}
		sort.Strings(found)
		files = append(files, found...)
	}
	var srcs []Source
	var rejects []Reject
	for _, f := range files {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		data, err := readCapped(f, cfg.maxFileSize)
		if errors.Is(err, ErrTooLarge) {
			rejects = append(rejects, Reject{Path: f, Reason: err.Error()})
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("rules: %w", err)
		}
		srcs = append(srcs, Source{Name: f, Data: data})
	}
	p, err := parse(ctx, cfg, append(srcs, cfg.sources...))
	if err != nil {
		return nil, err
	}
	p.Rejects = append(rejects, p.Rejects...)
	p.Skipped = skipped
	return p, nil
}

// LoadSources parses and compiles rule sources held in memory, as Load
// does for files.
func LoadSources(ctx context.Context, srcs []Source, opts ...Option) (*Rules, error) {
	cfg, err := newConfig(opts)
	if err != nil {
		return nil, err
	}
	p, err := parse(ctx, cfg, append(srcs, cfg.sources...))
	if err != nil {
		return nil, err
	}
	return p.CompileContext(ctx)
}

func newConfig(opts []Option) (*config, error) {
	cfg := &config{maxFileSize: DefaultMaxFileSize}
	for _, o := range opts {
		if err := o(cfg); err != nil {
			return nil, err
		}
	}
	if cfg.pipelineFile != "" {
		p, err := sigma.LoadPipeline(cfg.pipelineFile)
		if err != nil {
			return nil, err
		}
		cfg.pipeline = p
	}
	if cfg.pipeline == nil {
		cfg.pipeline = sigma.WindowsPipeline()
	}
	return cfg, nil
}

// Parsed holds rules read and parsed (Sigma rules already turned into
// detect rules) but not yet compiled into a Ruleset: a host that wants to
// add or filter rules, or compile them with other options, starts here.
// It is a plain value; Compile does not change it.
type Parsed struct {
	Rules      []detect.Rule
	Rejects    []Reject
	Skipped    []Skipped
	Files      int
	SigmaFiles int
	Pipeline   *sigma.Pipeline

	detectOpts []detect.Option
	sigmaIDs   map[string]bool
}

// IsSigma reports whether the rule with this id came from a Sigma file.
func (p *Parsed) IsSigma(id string) bool { return p.sigmaIDs[id] }

// Compile is CompileContext with context.Background().
func (p *Parsed) Compile(opts ...detect.Option) (*Rules, error) {
	return p.CompileContext(context.Background(), opts...)
}

// CompileContext compiles the parsed rules into one Ruleset, routed by the
// Sigma pipeline's logsource mappings, with the detect options given to
// Parse and then opts. Rules the compiler refuses are added to the rejects.
// When ctx ends the compile stops and ctx.Err() is returned
// (detect.CompileContext).
func (p *Parsed) CompileContext(ctx context.Context, opts ...detect.Option) (*Rules, error) {
	dopts := append([]detect.Option{detect.WithPipeline(p.Pipeline.Routing())}, p.detectOpts...)
	dopts = append(dopts, opts...)
	out := &Rules{Rejects: append([]Reject(nil), p.Rejects...), Skipped: p.Skipped, Files: p.Files,
		SigmaFiles: p.SigmaFiles, Pipeline: p.Pipeline, sigmaIDs: p.sigmaIDs}
	rs, err := detect.CompileContext(ctx, p.Rules, dopts...)
	if err != nil {
		rj := detect.Rejections(err)
		if rj == nil || rs == nil {
			return nil, err
		}
		out.Rejects = append(out.Rejects, rejectsOf(rj)...)
	}
	out.Ruleset = rs
	return out, nil
}

func parse(ctx context.Context, cfg *config, srcs []Source) (*Parsed, error) {
	out := &Parsed{Pipeline: cfg.pipeline, sigmaIDs: map[string]bool{}, Files: len(srcs), detectOpts: cfg.detectOpts}
	rules := append([]detect.Rule(nil), cfg.extra...)
	var sigmaSrcs []sigma.Source
	for _, s := range srcs {
		if sigma.IsSigma(s.Data) {
			sigmaSrcs = append(sigmaSrcs, sigma.Source{Name: s.Name, Data: s.Data})
			continue
		}
		rs, err := detect.ParseRules(s.Data, s.Name)
		rules = append(rules, rs...)
		if err != nil {
			rj := detect.Rejections(err)
			if rj == nil {
				out.Rejects = append(out.Rejects, Reject{Path: s.Name, Reason: err.Error()})
			}
			out.Rejects = append(out.Rejects, rejectsOf(rj)...)
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if len(sigmaSrcs) > 0 {
		out.SigmaFiles = len(sigmaSrcs)
		c, err := sigma.New(sigma.WithPipeline(cfg.pipeline))
		if err != nil {
			return nil, err
		}
		srules, err := c.Compile(sigmaSrcs...)
		if err != nil {
			var le *sigma.LoadError
			if !errors.As(err, &le) {
				return nil, err
			}
			for _, pr := range le.Problems {
				reason := pr.Reason
				if pr.Field != "" {
					reason = fmt.Sprintf("field %q: %s", pr.Field, reason)
				}
				if pr.Modifier != "" {
					reason = fmt.Sprintf("modifier %q: %s", pr.Modifier, reason)
				}
				out.Rejects = append(out.Rejects, Reject{Path: pr.File, Line: int64(pr.Line), ID: pr.RuleID, Reason: reason})
			}
		}
		for _, r := range srules {
			out.sigmaIDs[r.ID] = true
		}
		rules = append(rules, srules...)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	out.Rules = rules
	return out, nil
}

func rejectsOf(errs []detect.RuleError) []Reject {
	out := make([]Reject, len(errs))
	for i, e := range errs {
		out[i] = Reject{Path: e.File, Line: e.Line, ID: e.RuleID, Reason: e.Reason}
	}
	return out
}

// IsRuleFile reports whether a file name is a rule file's (.yml, .yaml),
// as Load picks them in a folder.
func IsRuleFile(name string) bool {
	ext := strings.ToLower(filepath.Ext(name))
	return ext == ".yml" || ext == ".yaml"
}

func kindOf(m fs.FileMode) string {
	switch {
	case m&fs.ModeNamedPipe != 0:
		return "named pipe"
	case m&fs.ModeSocket != 0:
		return "socket"
	case m&fs.ModeDevice != 0:
		return "device"
	case m&fs.ModeSymlink != 0:
		return "symbolic link"
	}
	return m.String()
}

// readCapped reads a regular file of at most max bytes. The file is opened
// without blocking on a FIFO that replaced it after the walk (O_NONBLOCK
// has no effect on regular files), checked to be regular, and read through
// a limit, so a file growing while read cannot pass the cap either.
func readCapped(path string, max int64) ([]byte, error) {
	f, err := openNoBlock(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: not a regular file (%s)", path, kindOf(st.Mode().Type()))
	}
	if st.Size() > max {
		return nil, fmt.Errorf("%w: %s is %d bytes, the cap is %d", ErrTooLarge, path, st.Size(), max)
	}
	data, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > max {
		return nil, fmt.Errorf("%w: %s grew past the cap of %d bytes while read", ErrTooLarge, path, max)
	}
	return data, nil
}
