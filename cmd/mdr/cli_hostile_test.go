package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// cliTimeout bounds one run of the built mdr on a hostile input: each of
// these cases once hung (an endless loop, a signal ignored, minutes of
// compiling), and a hang must fail the test in seconds, not time out CI.
const cliTimeout = 30 * time.Second

// buildCLI builds mdr into a temporary directory and returns its path.
func buildCLI(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "mdr")
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, "go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// cliRun is the result of one run of the built mdr.
type cliRun struct {
	code           int
	stdout, stderr string
	took           time.Duration
}

// syncBuffer is a bytes.Buffer safe for a writer and a reader at once.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// waitFor waits up to cliTimeout for the buffer to hold sub.
func (s *syncBuffer) waitFor(sub string) bool {
	for deadline := time.Now().Add(cliTimeout); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if strings.Contains(s.String(), sub) {
			return true
		}
	}
	return false
}

// runCLI runs bin with args under cliTimeout; stdin, when not nil, is the
// standard input, and stdout, when not nil, the standard output (else it is
// captured). setup, when not nil, is called once the process has started,
// with its standard error as it is written.
func runCLI(t *testing.T, bin string, stdin, stdout *os.File, setup func(*exec.Cmd, *syncBuffer), args ...string) cliRun {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), cliTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	var out bytes.Buffer
	var errOut syncBuffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if stdin != nil {
		cmd.Stdin = stdin
	}
	if stdout != nil {
		cmd.Stdout = stdout
	}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	if setup != nil {
		setup(cmd, &errOut)
	}
	err := cmd.Wait()
	r := cliRun{stdout: out.String(), stderr: errOut.String(), took: time.Since(start)}
	if ctx.Err() != nil {
		t.Fatalf("mdr %s did not end within %v (killed)\nstderr: %.2000s", strings.Join(args, " "), cliTimeout, r.stderr)
	}
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		r.code = ee.ExitCode()
	default:
		t.Fatal(err)
	}
	if strings.Contains(r.stderr, "panic:") || strings.Contains(r.stderr, "goroutine ") {
		t.Fatalf("mdr %s panicked:\n%.3000s", strings.Join(args, " "), r.stderr)
	}
	return r
}

// hostileFile is the path of a file of the hostile-input corpus.
func hostileFile(name string) string {
	return filepath.Join("..", "..", "testdata", "hostile", name)
}

// expect checks a run's exit status and that stdout+stderr hold each of
// want.
func expect(t *testing.T, r cliRun, code int, want ...string) {
	t.Helper()
	if r.code != code {
		t.Errorf("exit status %d, want %d\nstdout: %.1000s\nstderr: %.2000s", r.code, code, r.stdout, r.stderr)
	}
	all := r.stdout + r.stderr
	for _, w := range want {
		if !strings.Contains(all, w) {
			t.Errorf("output lacks %q\nstdout: %.1000s\nstderr: %.2000s", w, r.stdout, r.stderr)
		}
	}
}

// TestCLIHostile runs the built mdr on every case of issue 17, each under
// cliTimeout: the eight defects and the minor ones.
func TestCLIHostile(t *testing.T) {
	bin := buildCLI(t)
	tmp := t.TempDir()
	store := func() string { d, _ := os.MkdirTemp(tmp, "store"); return d }

	t.Run("1 unclosed array: scan ends", func(t *testing.T) {
		r := runCLI(t, bin, nil, nil, nil, "scan", hostileFile("unclosed-array.json"))
		expect(t, r, 0, "unterminated JSON array", "0 events read", "1 malformed lines skipped")
		if n := strings.Count(r.stderr, "unterminated"); n != 1 {
			t.Errorf("reported %d times", n)
		}
		r = runCLI(t, bin, nil, nil, nil, "scan", "--on-error", "stop", hostileFile("cut-array.json"))
		expect(t, r, 1, "cut-array.json:6:", "unterminated JSON array", "5 events read")
	})
	t.Run("1 unclosed array: scan from stdin", func(t *testing.T) {
		f, err := os.Open(hostileFile("unclosed-array.json"))
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		expect(t, runCLI(t, bin, f, nil, nil, "scan"), 0, "1 malformed lines skipped")
	})
	t.Run("1 unclosed array: ingest", func(t *testing.T) {
		expect(t, runCLI(t, bin, nil, nil, nil, "ingest", "--store", store(), hostileFile("unclosed-array.json")), 0, "0 stored", "1 malformed lines skipped")
		expect(t, runCLI(t, bin, nil, nil, nil, "ingest", "--store", store(), hostileFile("cut-array.json")), 0, "5 stored", "unterminated JSON array")
	})
	t.Run("2 damaged gzip: ingest", func(t *testing.T) {
		expect(t, runCLI(t, bin, nil, nil, nil, "ingest", "--store", store(), hostileFile("cut.jsonl.gz")), 1, "unexpected EOF", "1485 stored", "1485 events read before it were kept")
		expect(t, runCLI(t, bin, nil, nil, nil, "ingest", "--store", store(), hostileFile("no-trailer.jsonl.gz")), 1, "unexpected EOF", "3000 stored")
		expect(t, runCLI(t, bin, nil, nil, nil, "scan", hostileFile("no-trailer.jsonl.gz")), 1, "unexpected EOF", "3000 events read")
	})
	t.Run("3 ids: no false duplicates", func(t *testing.T) {
		expect(t, runCLI(t, bin, nil, nil, nil, "ingest", "--store", store(), hostileFile("auditd-no-id.jsonl")), 0, "12 stored, 0 duplicates")
		expect(t, runCLI(t, bin, nil, nil, nil, "ingest", "--store", store(), hostileFile("ids-number-string.jsonl")), 0, "5 stored, 0 duplicates")
	})
	t.Run("4 evaluation error: the scan goes on", func(t *testing.T) {
		var outs []string
		for _, w := range []string{"1", "2", "3"} {
			r := runCLI(t, bin, nil, nil, nil, "scan", "--workers", w, "--rules", hostileFile("cost-rules.yml"), hostileFile("cost-events.jsonl"), hostileFile("inf-field.jsonl"))
			expect(t, r, 0, "cost-events.jsonl:3: rule cost-event:", "cost limit exceeded", "10 events read, 10 matches", "1 rule evaluation errors", `"Size":"+Inf"`)
			outs = append(outs, r.stdout)
		}
		if outs[0] != outs[1] || outs[0] != outs[2] {
			t.Error("the output differs with the number of workers")
		}
	})
	t.Run("5 wide event", func(t *testing.T) {
		var b strings.Builder
		b.WriteString(`{"Image":"x"`)
		for i := 0; i < 100_000; i++ {
			fmt.Fprintf(&b, `,"%x":1`, i)
		}
		b.WriteString("}\n")
		p := filepath.Join(tmp, "wide.jsonl")
		if err := os.WriteFile(p, []byte(b.String()), 0o600); err != nil {
			t.Fatal(err)
		}
		r := runCLI(t, bin, nil, nil, nil, "scan", "--max-line-bytes", "4000000", p)
		expect(t, r, 0, "1 events read")
		if r.took > 10*time.Second {
			t.Errorf("a 100,000-field event took %v", r.took)
		}
		// the default limit is named in the error, with the flag that raises it
		expect(t, runCLI(t, bin, nil, nil, nil, "scan", "--max-line-bytes", "100000", "--on-error", "stop", p), 1, "over 100000 bytes")
	})
	t.Run("6 constant folding bomb", func(t *testing.T) {
		list := make([]string, 500)
		for i := range list {
			list[i] = strconv.Itoa(i)
		}
		l := "[" + strings.Join(list, ",") + "]"
		rule := "- id: fold-bomb\n  title: t\n  severity: low\n  condition: 'e.Image == \"x\" && " + l + ".exists(x, " + l + ".exists(y, " + l + ".exists(z, x + y + z == -1)))'\n"
		p := filepath.Join(tmp, "fold.yml")
		if err := os.WriteFile(p, []byte(rule), 0o600); err != nil {
			t.Fatal(err)
		}
		r := runCLI(t, bin, nil, nil, nil, "rules", "check", p)
		expect(t, r, 1, "fold.yml:1: rule fold-bomb:", "exceeds the cost limit", "compile time")
	})
	t.Run("7 SIGINT while waiting on input", func(t *testing.T) {
		for _, args := range [][]string{{"scan"}, {"ingest", "--store", store()}} {
			pr, pw, err := os.Pipe()
			if err != nil {
				t.Fatal(err)
			}
			// a malformed line, reported on stderr once mdr reads (its
			// signal handling is set up by then), then one event and
			// nothing more: the pipe stays open
			pw.Write([]byte("{bad\n{\"Image\":\"x\"}\n"))
			var sent time.Time
			r := runCLI(t, bin, pr, nil, func(c *exec.Cmd, stderr *syncBuffer) {
				if !stderr.waitFor("skipped") {
					t.Errorf("mdr %s never reported the malformed line", args[0])
				}
				sent = time.Now()
				c.Process.Signal(syscall.SIGINT)
			}, args...)
			stopped := time.Since(sent)
			pr.Close()
			pw.Close()
			if r.code != 1 || !strings.Contains(r.stderr, "context canceled") {
				t.Errorf("mdr %s: exit %d after SIGINT\n%s", args[0], r.code, r.stderr)
			}
			if stopped > signalGrace {
				t.Errorf("mdr %s: took %v to stop after SIGINT", args[0], stopped)
			}
		}
	})
	t.Run("7 SIGINT while compiling", func(t *testing.T) {
		// 60 rules whose constant folding stays under the cost limit but
		// takes a while: several seconds of compiling in all. The command
		// must stop within signalGrace of the signal: through ctx where the
		// compile gets one (detect.CompileContext, engine.Load), else by
		// main's backstop, which exits after signalGrace.
		list := make([]string, 300)
		for i := range list {
			list[i] = strconv.Itoa(i)
		}
		l := "[" + strings.Join(list, ",") + "]"
		var b strings.Builder
		for i := 0; i < 60; i++ {
			fmt.Fprintf(&b, "- id: fold-%d\n  title: t\n  severity: low\n  condition: 'e.Image == \"%d\" && %s.exists(x, %s.exists(y, x + y == -%d))'\n", i, i, l, l, i+1)
		}
		p := filepath.Join(tmp, "slow.yml")
		if err := os.WriteFile(p, []byte(b.String()), 0o600); err != nil {
			t.Fatal(err)
		}
		for _, args := range [][]string{{"rules", "check", p}, {"scan", "--rules", p, hostileFile("cut-array.json")}} {
			r := runCLI(t, bin, nil, nil, func(c *exec.Cmd, _ *syncBuffer) {
				time.Sleep(time.Second)
				c.Process.Signal(syscall.SIGINT)
			}, args...)
			if r.code == 0 {
				t.Errorf("mdr %s: exit 0 after SIGINT while compiling\n%s", args[0], r.stderr)
			}
			if r.took > signalGrace+8*time.Second {
				t.Errorf("mdr %s: took %v in all, SIGINT at 1 s", args[0], r.took)
			}
			t.Logf("mdr %s: stopped %v after the start (SIGINT at 1 s): %s", args[0], r.took.Round(time.Millisecond), strings.TrimSpace(r.stderr))
		}
	})
	t.Run("8 FIFO in a rules folder", func(t *testing.T) {
		dir := filepath.Join(tmp, "rules")
		if err := os.Mkdir(dir, 0o700); err != nil {
			t.Fatal(err)
		}
		data, err := os.ReadFile(hostileFile("cost-rules.yml"))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "a.yml"), data, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := syscall.Mkfifo(filepath.Join(dir, "b.yml"), 0o600); err != nil {
			t.Fatal(err)
		}
		expect(t, runCLI(t, bin, nil, nil, nil, "rules", "check", dir), 0, "b.yml", "not a regular file", "2 compiled")
		expect(t, runCLI(t, bin, nil, nil, nil, "scan", "--rules", dir, hostileFile("cost-events.jsonl")), 0, "b.yml", "8 events read, 8 matches")
		expect(t, runCLI(t, bin, nil, nil, nil, "rules", "check", filepath.Join(dir, "b.yml")), 1, "not a regular file")
	})
	t.Run("minor: oversized rule file", func(t *testing.T) {
		p := filepath.Join(tmp, "big.yml")
		f, err := os.Create(p)
		if err != nil {
			t.Fatal(err)
		}
		if err := f.Truncate(58 << 20); err != nil { // sparse: 58 MB without writing them
			t.Fatal(err)
		}
		f.Close()
		r := runCLI(t, bin, nil, nil, nil, "rules", "check", p)
		expect(t, r, 1, "too large")
		if r.took > 10*time.Second {
			t.Errorf("rejecting a 58 MB rule file took %v", r.took)
		}
	})
	t.Run("minor: control characters in strings", func(t *testing.T) {
		expect(t, runCLI(t, bin, nil, nil, nil, "scan", hostileFile("control-chars.jsonl")), 0, "1 events read", "3 malformed lines skipped", "in string literal")
	})
	t.Run("minor: array commas", func(t *testing.T) {
		for _, f := range []string{"leading-comma.json", "double-comma.json", "trailing-comma.json", "missing-comma.json"} {
			expect(t, runCLI(t, bin, nil, nil, nil, "scan", hostileFile(f)), 0, "2 events read", "1 malformed lines skipped", "comma")
		}
	})
	t.Run("minor: negative lateness", func(t *testing.T) {
		r := runCLI(t, bin, nil, nil, nil, "scan", "--lateness", "-5m", "--rules", filepath.Join("..", "..", "detect", "testdata", "rules", "windows.yml"), hostileFile("cut-array.json"))
		expect(t, r, 2, "--lateness must not be negative")
		if strings.Count(r.stderr, "invalid input") > 1 {
			t.Errorf("repeated: %s", r.stderr)
		}
	})
	t.Run("minor: output to a full disk", func(t *testing.T) {
		full, err := os.OpenFile("/dev/full", os.O_WRONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		defer full.Close()
		expect(t, runCLI(t, bin, nil, full, nil, "version"), 1, "no space left on device")
		expect(t, runCLI(t, bin, nil, full, nil, "ingest", "--store", store(), hostileFile("auditd-no-id.jsonl")), 1, "no space left on device")
		expect(t, runCLI(t, bin, nil, full, nil, "scan", "--rules", hostileFile("cost-rules.yml"), hostileFile("cost-events.jsonl")), 1, "no space left on device")
	})
}
