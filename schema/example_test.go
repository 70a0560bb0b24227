package schema_test

import (
	"fmt"

	"github.com/mdrkit/mdr"
	"github.com/mdrkit/mdr/schema"
)

func Example() {
	ev := mdr.NewEvent(mdr.Origin{Source: "example"},
		mdr.Field{Key: "EventID", Value: mdr.Int(1)},
		mdr.Field{Key: "Channel", Value: mdr.String("Microsoft-Windows-Sysmon/Operational")},
		mdr.Field{Key: "Computer", Value: mdr.String("WS-042")},
		mdr.Field{Key: "UtcTime", Value: mdr.String("2026-03-02 09:14:03.120")},
		mdr.Field{Key: "ProcessGuid", Value: mdr.String("{A1B2C3D4-0001-0000-0000-000000000042}")},
		mdr.Field{Key: "ProcessId", Value: mdr.String("4312")},
		mdr.Field{Key: "Image", Value: mdr.String(`C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe`)},
		mdr.Field{Key: "User", Value: mdr.String(`CORP\alice`)},
		mdr.Field{Key: "ParentProcessGuid", Value: mdr.String("{A1B2C3D4-0001-0000-0000-000000000041}")},
		mdr.Field{Key: "ParentImage", Value: mdr.String(`C:\Program Files\Microsoft Office\root\Office16\WINWORD.EXE`)},
	)
	// One Mapper serves any number of goroutines; each reuses its own Result.
	m := schema.Mapper{Processes: schema.NewProcessTable(1 << 16)}
	var r schema.Result
	if err := m.Map(ev, &r); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(r.Dialect, r.Code)
	for _, rel := range r.Relations {
		fmt.Println(rel.Kind, rel.From, "->", rel.To)
	}
	// Output:
	// sysmon 1
	// ran_on process:a1b2c3d4-0001-0000-0000-000000000042 -> host:ws-042
	// ran_as process:a1b2c3d4-0001-0000-0000-000000000042 -> user:corp\alice
	// executed process:a1b2c3d4-0001-0000-0000-000000000042 -> file:ws-042\c:\windows\system32\windowspowershell\v1.0\powershell.exe
	// spawned process:a1b2c3d4-0001-0000-0000-000000000041 -> process:a1b2c3d4-0001-0000-0000-000000000042
	// ran_on process:a1b2c3d4-0001-0000-0000-000000000041 -> host:ws-042
}

func ExampleLookup() {
	ev := mdr.NewEvent(mdr.Origin{},
		mdr.Field{Key: "EventID", Value: mdr.Int(4688)},
		mdr.Field{Key: "Channel", Value: mdr.String("Security")},
		mdr.Field{Key: "NewProcessName", Value: mdr.String(`C:\Windows\System32\cmd.exe`)},
		mdr.Field{Key: "ParentProcessName", Value: mdr.String(`C:\Windows\explorer.exe`)},
	)
	exe, _ := schema.Lookup(ev, "process.executable")
	parent, _ := schema.Lookup(ev, "process.parent.executable")
	fmt.Println(exe.Text())
	fmt.Println(parent.Text())
	// Output:
	// C:\Windows\System32\cmd.exe
	// C:\Windows\explorer.exe
}

func ExampleFieldMap() {
	// Translate a Sigma (Sysmon) field name to ECS and OCSF.
	c, _ := schema.Fields(schema.DialectSysmon).Canonical("ParentImage")
	fmt.Println(c)
	fmt.Println(schema.Fields(schema.DialectECS).Names(c))
	fmt.Println(schema.Fields(schema.DialectOCSF).Names(c))
	// Output:
	// process.parent.executable
	// [process.parent.executable]
	// [actor.process.parent_process.file.path process.parent_process.file.path]
}
