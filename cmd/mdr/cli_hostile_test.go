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

// runCLI runs bin with args under cliTimeout; stdin, when not nil, is the
// standard input, and stdout, when not nil, the standard output (else it is
// captured). setup, when not nil, is called once the process has started.
func runCLI(t *testing.T, bin string, stdin, stdout *os.File, setup func(*exec.Cmd), args ...string) cliRun {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), cliTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	var out, errOut bytes.Buffer
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
		setup(cmd)
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
// cliTimeout: the eight defects (but 8, the FIFO in a rules folder, which
// rule loading covers) and the minor ones.
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
			pw.Write([]byte("{\"Image\":\"x\"}\n")) // then nothing, and the pipe stays open
			r := runCLI(t, bin, pr, nil, func(c *exec.Cmd) {
				time.Sleep(500 * time.Millisecond)
				c.Process.Signal(syscall.SIGINT)
			}, args...)
			pr.Close()
			pw.Close()
			if r.code == 0 || !strings.Contains(r.stderr, "context canceled") {
				t.Errorf("mdr %s: exit %d after SIGINT\n%s", args[0], r.code, r.stderr)
			}
			if r.took > 10*time.Second {
				t.Errorf("mdr %s: took %v to stop after SIGINT", args[0], r.took)
			}
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
