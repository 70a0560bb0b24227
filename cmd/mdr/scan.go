package main

import (
	"bufio"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
	"unicode/utf8"

	"github.com/mdrkit/mdr"
	"github.com/mdrkit/mdr/detect"
	"github.com/mdrkit/mdr/reader"
)

// stringsFlag is a repeatable string flag.
type stringsFlag []string

func (s *stringsFlag) String() string     { return strings.Join(*s, ",") }
func (s *stringsFlag) Set(v string) error { *s = append(*s, v); return nil }

// scanMatch is one line of mdr scan's output.
type scanMatch struct {
	RuleID      string             `json:"rule_id"`
	RuleTitle   string             `json:"rule_title"`
	Level       string             `json:"level"`
	Tags        []string           `json:"tags"`
	File        string             `json:"file"`
	EventIndex  int64              `json:"event_index"`
	EventTime   string             `json:"event_time,omitempty"`
	EventID     string             `json:"event_id,omitempty"`
	Fields      map[string]any     `json:"fields,omitempty"`
	Explanation detect.Explanation `json:"explanation"`
	Explained   string             `json:"explained"`
}

// scanItem is one event in flight with its position.
type scanItem struct {
	ev    *mdr.Event
	file  string
	index int64
}

// scanBatch is a run of consecutive events; workers fill out.
type scanBatch struct {
	seq     int
	items   []scanItem
	out     []byte
	matches int64
	err     error
	evalErr []*detect.EvalError // rules that failed on an event, in item order
	ends    []int               // with correlation: end of each item's lines in out
	ms      [][]detect.Match    // with correlation: each item's matches that feed it
}

const scanBatchSize = 256

// runScan is "mdr scan": read events, run the rules, print matches as JSON
// lines in input order, and a summary line on stderr.
func runScan(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fset := flag.NewFlagSet("scan", flag.ContinueOnError)
	fset.SetOutput(stderr)
	var rulePaths stringsFlag
	fset.Var(&rulePaths, "rules", "rule file or directory (repeatable); without it, events are only read and decoded")
	workers := fset.Int("workers", 1, "goroutines matching events (output order is the same for any number)")
	onError := fset.String("on-error", "skip", "malformed input lines: skip (reported on stderr and counted) or stop")
	lateness := fset.Duration("lateness", 0, "correlation: how far behind the newest event time a match may arrive and still be correlated")
	maxLine := fset.Int("max-line-bytes", reader.DefaultMaxLineBytes, "longest input line or JSON array element accepted, in bytes")
	addPipelineFlag(fset)
	fset.Usage = func() {
		fmt.Fprintln(stderr, "usage: mdr scan [--rules PATH]… [--workers N] [--on-error skip|stop] [FILE…]\n\nReads NDJSON, JSON arrays or gzip of either (standard input without FILE).")
		fset.PrintDefaults()
	}
	cpuProfile := fset.String("cpuprofile", "", "write a CPU profile of the scan to this file")
	if err := fset.Parse(args); err != nil {
		return fmt.Errorf("%v: %w", err, errUsage)
	}
	if *workers < 1 {
		return fmt.Errorf("--workers must be at least 1: %w", errUsage)
	}
	if *lateness < 0 {
		return fmt.Errorf("--lateness must not be negative, not %v: %w", *lateness, errUsage)
	}
	if *maxLine < 1 {
		return fmt.Errorf("--max-line-bytes must be at least 1: %w", errUsage)
	}
	opts := reader.Options{MaxLineBytes: *maxLine}
	switch *onError {
	case "skip":
		opts.OnError = reader.Skip
		opts.OnSkip = func(le *reader.LineError) { fmt.Fprintf(stderr, "mdr scan: skipped %v\n", le) }
	case "stop":
		opts.OnError = reader.Stop
	default:
		return fmt.Errorf("--on-error must be skip or stop: %w", errUsage)
	}
	files := fset.Args()
	if len(files) == 0 {
		files = []string{"-"}
	}

	var rs *detect.Ruleset
	var sc *scanCorrelation
	var nrules, nrejected int
	if len(rulePaths) > 0 {
		rules, rejects, err := loadRules(ctx, rulePaths, stderr)
		if err != nil {
			return err
		}
		var crj []ruleReject
		rs, crj, err = compileRules(ctx, rules)
		if err != nil {
			return err
		}
		rejects = append(rejects, crj...)
		var corrRejects []detect.RuleError
		if sc, corrRejects, err = newScanCorrelation(rs, *lateness); err != nil {
			return err
		}
		rejects = append(rejects, rejectsOf(corrRejects)...)
		for _, r := range rejects {
			fmt.Fprintf(stderr, "mdr scan: rejected %s\n", r)
		}
		nrules, nrejected = rs.Len()-len(corrRejects), len(rejects)
	}

	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	// The scan allocates per event but keeps little alive: collect garbage
	// less often than Go's default once the rules are compiled (the compile
	// itself ran at the default, which keeps its peak memory low). GOGC in
	// the environment wins.
	if os.Getenv("GOGC") == "" {
		runtime.GC()
		debug.SetGCPercent(scanGCPercent)
	}
	w := bufio.NewWriterSize(stdout, 256<<10)
	start, cpu0 := time.Now(), processCPU()
	var events, matches, skipped int64
	var runErr error
	ev := &evalReport{w: stderr}
	if rs == nil || *workers == 1 {
		events, matches, skipped, runErr = scanSequential(ctx, rs, sc, files, opts, w, ev)
	} else {
		events, matches, skipped, runErr = scanParallel(ctx, rs, sc, files, opts, w, *workers, ev)
	}
	if sc != nil && runErr == nil {
		runErr = sc.finish(ctx, w)
	}
	if err := w.Flush(); err != nil && runErr == nil {
		runErr = err
	}
	el := time.Since(start)
	rate := float64(events) / el.Seconds()
	summary := fmt.Sprintf("mdr scan: %d events read, %d matches, %d rules loaded, %d rejected, %.3fs, %.0f events/s", events, matches, nrules, nrejected, el.Seconds(), rate)
	if cpu := processCPU() - cpu0; cpu > 0 {
		// on a shared machine the CPU time is the steadier measure
		summary += fmt.Sprintf(" (cpu %.3fs, %.0f events per cpu-second)", cpu.Seconds(), float64(events)/cpu.Seconds())
	}
	if skipped > 0 {
		summary += fmt.Sprintf(", %d malformed lines skipped", skipped)
	}
	if ev.n > 0 {
		summary += fmt.Sprintf(", %d rule evaluation errors (those rules skipped on those events)", ev.n)
	}
	if sc != nil {
		summary += sc.summary()
	}
	fmt.Fprintln(stderr, summary)
	return runErr
}

// scanGCPercent is the GOGC value mdr scan runs its event loop with.
const scanGCPercent = 400

// processCPU returns the user and system CPU time of the process so far.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// readAll reads every file in order and calls emit for each event.
func readAll(ctx context.Context, files []string, opts reader.Options, emit func(scanItem) error) (events, skipped int64, err error) {
	for _, f := range files {
		r, err := reader.OpenContext(ctx, f, opts)
		if err != nil {
			return events, skipped, err
		}
		var idx int64
		for r.Next() {
			if idx&1023 == 0 && ctx.Err() != nil {
				r.Close()
				return events, skipped, ctx.Err()
			}
			if err := emit(scanItem{ev: r.Event(), file: f, index: idx}); err != nil {
				r.Close()
				return events, skipped, err
			}
			idx++
			events++
		}
		skipped += r.Skipped()
		err = r.Err()
		r.Close()
		if err != nil {
			return events, skipped, err
		}
	}
	return events, skipped, nil
}

// evalReport counts the rules whose evaluation failed on an event (issue
// 17: one such event used to end the scan) and reports the first of them
// on stderr, in input order.
type evalReport struct {
	w io.Writer
	n int64
}

// evalReportMax is how many evaluation errors are reported one by one.
const evalReportMax = 20

func (e *evalReport) add(errs []*detect.EvalError) {
	for _, ee := range errs {
		e.n++
		switch {
		case e.n <= evalReportMax:
			fmt.Fprintf(e.w, "mdr scan: evaluation error, rule skipped on this event: %v\n", ee)
		case e.n == evalReportMax+1:
			fmt.Fprintln(e.w, "mdr scan: more evaluation errors (counted in the summary)")
		}
	}
}

// evalErrors splits an error of AppendMatches: the rules that failed on the
// event, or an error that ends the scan (a done context, anything else).
func evalErrors(ctx context.Context, err error) ([]*detect.EvalError, error) {
	if err == nil {
		return nil, nil
	}
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	ees := detect.EvalErrors(err)
	if len(ees) == 0 {
		return nil, err
	}
	return ees, nil
}

func scanSequential(ctx context.Context, rs *detect.Ruleset, sc *scanCorrelation, files []string, opts reader.Options, w *bufio.Writer, rep *evalReport) (events, matches, skipped int64, err error) {
	var ms []detect.Match
	var line []byte
	events, skipped, err = readAll(ctx, files, opts, func(it scanItem) error {
		if rs == nil {
			return nil
		}
		var err error
		ms, err = rs.AppendMatches(ctx, ms[:0], it.ev)
		ees, err := evalErrors(ctx, err)
		if err != nil {
			return err
		}
		rep.add(ees)
		for i := range ms {
			if ms[i].Hidden {
				continue
			}
			if line, err = appendMatchJSON(line[:0], &ms[i], it); err != nil {
				return err
			}
			w.Write(line)
			matches++
		}
		if sc != nil {
			return sc.observe(ctx, w, it, ms)
		}
		return nil
	})
	return events, matches, skipped, err
}

func scanParallel(ctx context.Context, rs *detect.Ruleset, sc *scanCorrelation, files []string, opts reader.Options, w *bufio.Writer, workers int, rep *evalReport) (events, matches, skipped int64, err error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	todo := make(chan *scanBatch, 2*workers)
	done := make(chan *scanBatch, 2*workers)
	var wg sync.WaitGroup
	for i := 0; i < workers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var ms []detect.Match
			var line []byte
			for b := range todo {
				for _, it := range b.items {
					var err error
					ms, err = rs.AppendMatches(ctx, ms[:0], it.ev)
					ees, err := evalErrors(ctx, err)
					if err != nil {
						b.err = err
						break
					}
					b.evalErr = append(b.evalErr, ees...)
					for i := range ms {
						if ms[i].Hidden {
							continue
						}
						if line, err = appendMatchJSON(line[:0], &ms[i], it); err != nil {
							b.err = err
							break
						}
						b.out = append(b.out, line...)
						b.matches++
					}
					if sc != nil && b.err == nil {
						b.ends = append(b.ends, len(b.out))
						b.ms = append(b.ms, sc.keep(ms))
					}
				}
				done <- b
			}
		}()
	}
	// writer: emits batches in sequence order
	var werr error
	wdone := make(chan struct{})
	go func() {
		defer close(wdone)
		pending := map[int]*scanBatch{}
		next := 0
		for b := range done {
			pending[b.seq] = b
			for {
				nb, ok := pending[next]
				if !ok {
					break
				}
				delete(pending, next)
				next++
				if nb.err != nil && werr == nil {
					werr = nb.err
					cancel()
				}
				if werr == nil {
					rep.add(nb.evalErr)
					write := func() error { _, err := w.Write(nb.out); return err }
					if sc != nil {
						write = func() error { return sc.writeBatch(ctx, w, nb) }
					}
					if err := write(); err != nil {
						werr = err
						cancel()
					}
					matches += nb.matches
				}
			}
		}
	}()
	seq := 0
	cur := &scanBatch{seq: seq, items: make([]scanItem, 0, scanBatchSize)}
	events, skipped, err = readAll(ctx, files, opts, func(it scanItem) error {
		cur.items = append(cur.items, it)
		if len(cur.items) == scanBatchSize {
			select {
			case todo <- cur:
			case <-ctx.Done():
				return ctx.Err()
			}
			seq++
			cur = &scanBatch{seq: seq, items: make([]scanItem, 0, scanBatchSize)}
		}
		return nil
	})
	if len(cur.items) > 0 && err == nil {
		todo <- cur
	}
	close(todo)
	wg.Wait()
	close(done)
	<-wdone
	if werr != nil && (err == nil || errors.Is(err, context.Canceled)) {
		err = werr
	}
	return events, matches, skipped, err
}

// appendMatchJSON renders one match as a JSON line: the object
// encoding/json makes of scanMatch, byte for byte, written field by field
// (through reflection it cost a scan more than some of its matching; the
// test compares both).
func appendMatchJSON(dst []byte, m *detect.Match, it scanItem) ([]byte, error) {
	r := m.Rule
	dst = append(dst, `{"rule_id":`...)
	dst = appendJSONString(dst, r.ID)
	dst = append(dst, `,"rule_title":`...)
	dst = appendJSONString(dst, r.Title)
	dst = append(dst, `,"level":`...)
	dst = appendJSONString(dst, r.Severity.String())
	dst = append(dst, `,"tags":[`...)
	for i, t := range r.Tags {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendJSONString(dst, t)
	}
	dst = append(dst, `],"file":`...)
	dst = appendJSONString(dst, it.file)
	dst = append(dst, `,"event_index":`...)
	dst = strconv.AppendInt(dst, it.index, 10)
	if t := m.Event.Time(); !t.IsZero() {
		dst = append(dst, `,"event_time":`...)
		dst = appendJSONString(dst, t.UTC().Format(time.RFC3339Nano))
	}
	if id := m.Event.ID(); id != "" {
		dst = append(dst, `,"event_id":`...)
		dst = appendJSONString(dst, id)
	}
	if len(r.Fields) > 0 {
		fields := make(map[string]any, len(r.Fields))
		for _, f := range r.Fields {
			if v, ok := m.Event.Get(f); ok {
				fields[f] = v // Value.MarshalJSON: +Inf and NaN as strings, not an error
			}
		}
		if len(fields) > 0 {
			b, err := json.Marshal(fields) // sorted keys, numbers as encoding/json writes them
			if err != nil {
				return dst, err
			}
			dst = append(dst, `,"fields":`...)
			dst = append(dst, b...)
		}
	}
	dst = append(dst, `,"explanation":{"conditions":`...)
	if m.Explanation.Conditions == nil {
		dst = append(dst, "null"...)
	} else {
		dst = append(dst, '[')
		for i, c := range m.Explanation.Conditions {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = append(dst, '{')
			if c.Field != "" {
				dst = append(dst, `"field":`...)
				dst = appendJSONString(dst, c.Field)
				dst = append(dst, ',')
			}
			if c.Value != "" {
				dst = append(dst, `"value":`...)
				dst = appendJSONString(dst, c.Value)
				dst = append(dst, ',')
			}
			dst = append(dst, `"operator":`...)
			dst = appendJSONString(dst, c.Operator)
			if c.Argument != "" {
				dst = append(dst, `,"argument":`...)
				dst = appendJSONString(dst, c.Argument)
			}
			if c.Negated {
				dst = append(dst, `,"negated":true`...)
			}
			dst = append(dst, '}')
		}
		dst = append(dst, ']')
	}
	dst = append(dst, `},"explained":`...)
	dst = appendJSONString(dst, m.Explanation.String())
	return append(dst, "}\n"...), nil
}

// appendJSONString appends s as a JSON string the way encoding/json writes
// it: with <, > and & escaped for HTML, invalid UTF-8 as U+FFFD, and U+2028
// and U+2029 escaped. Runs of eight plain ASCII bytes are copied without
// looking at each byte.
func appendJSONString(dst []byte, s string) []byte {
	const hex = "0123456789abcdef"
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		if i+8 <= len(s) && jsonPlain8(binary.LittleEndian.Uint64([]byte(s[i:i+8]))) {
			i += 8
			continue
		}
		b := s[i]
		if b < utf8.RuneSelf {
			if b >= 0x20 && b != '"' && b != '\\' && b != '<' && b != '>' && b != '&' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch b {
			case '\\', '"':
				dst = append(dst, '\\', b)
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default: // other control bytes, and <, > and &
				dst = append(dst, '\\', 'u', '0', '0', hex[b>>4], hex[b&0xF])
			}
			i++
			start = i
			continue
		}
		c, size := utf8.DecodeRuneInString(s[i:])
		if c == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i++
			start = i
			continue
		}
		if c == '\u2028' || c == '\u2029' {
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hex[c&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// jsonPlain8 reports whether 8 bytes are all printable ASCII that JSON
// writes as they are (none of ", \, <, > and &). The byte tests are the
// exact SWAR forms: (v - 0x01…) &^ v & 0x80… is non-zero exactly when a
// byte of v is zero, and for bytes below 0x80, (w - 0x20…) &^ w & 0x80…
// exactly when a byte is below 0x20.
func jsonPlain8(w uint64) bool {
	const lo, hi = 0x0101010101010101, 0x8080808080808080
	zero := func(v uint64) uint64 { return (v - lo) &^ v & hi }
	return w&hi == 0 && (w-0x20*lo)&^w&hi == 0 &&
		zero(w^('"'*lo))|zero(w^('\\'*lo))|zero(w^('<'*lo))|zero(w^('>'*lo))|zero(w^('&'*lo)) == 0
}
