// Command mdr is the command-line tool of mdrkit for analysts and
// researchers, and the reference wiring of the library's packages.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"sort"
	"syscall"
)

// command is one subcommand. run gets the arguments after the subcommand's
// name and writes results to stdout and diagnostics to stderr.
type command struct {
	summary string
	run     func(ctx context.Context, args []string, stdout, stderr io.Writer) error
}

// errUsage marks an error caused by bad arguments (exit status 2).
var errUsage = errors.New("usage")

// commands is the table of subcommands. Each lives in its own file.
var commands = map[string]command{
	"version":     {"print the version of mdr and of its main dependencies", runVersion},
	"demo":        {"generate a small attack as events, read and map them, print what was found", runDemo},
	"scan":        {"run detection rules over event files (NDJSON, JSON, gzip) and print matches as JSON lines", runScan},
	"ingest":      {"store events from files or standard input (NDJSON, JSON, gzip) in a badger store directory", runIngest},
	"investigate": {"detect, group alerts into incidents and print each one's scope (root cause, hosts, users, items, timeline) as text, JSON lines, DOT, Mermaid or SVG", runInvestigate},
	"remediate":   {"plan remediation per incident (plan FILE…) or prove it on the simulated fleet (apply --sim SCENARIO)", runRemediate},
	"respond":     {"guided response: validate OpenC2 messages, advise commands for incidents, run CACAO playbooks", runRespond},
	"rules":       {"check rules: mdr rules check [--json] PATH… compiles them and reports every rejection", runRules},
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: mdr <command> [arguments]\n\ncommands:")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-10s %s\n", n, commands[n].summary)
	}
	fmt.Fprintln(w, "\nRun 'mdr <command> -h' for a command's flags.")
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(stderr)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	cmd, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "mdr: unknown command %q\n\n", args[0])
		usage(stderr)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := cmd.run(ctx, args[1:], stdout, stderr); err != nil {
		if errors.Is(err, errUsage) {
			fmt.Fprintf(stderr, "mdr %s: %v\n", args[0], err)
			return 2
		}
		fmt.Fprintf(stderr, "mdr %s: %v\n", args[0], err)
		return 1
	}
	return 0
}

// Version is the version of mdr, set at build time with
// -ldflags "-X main.Version=v1.2.3"; otherwise taken from the build info.
var Version = ""

func runVersion(_ context.Context, _ []string, stdout, _ io.Writer) error {
	v := Version
	info, ok := debug.ReadBuildInfo()
	if v == "" && ok {
		v = info.Main.Version
	}
	if v == "" || v == "(devel)" {
		v = "devel"
	}
	fmt.Fprintf(stdout, "mdr %s\n", v)
	if ok {
		fmt.Fprintf(stdout, "go %s\n", info.GoVersion)
		for _, d := range info.Deps {
			switch d.Path {
			case "cel.dev/cel-go", "github.com/bytedance/sonic", "github.com/dgraph-io/badger/v4":
				fmt.Fprintf(stdout, "%s %s\n", d.Path, d.Version)
			}
		}
	}
	return nil
}
