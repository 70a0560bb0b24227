package respond

import (
	"bufio"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/mdrkit/mdr/internal/shareddata"
)

// defective are official examples the shared data's README names as
// defective: a strict implementation refuses them, and the test checks
// that it refuses them for the documented reason.
var defective = map[string]string{
	"oc2er-v1.0-csd01__L1550__contain-device.json": "args.er.permitted_addresses.ipv_net",
	"oc2er-v1.0-csd01__L1602__set-er.account.json": "args.er.downstream_device",
	"oc2er-v1.0-csd01__L1629__set-er.account.json": "args.er.downstream_device",
}

// profileOnly are invalid examples that are invalid only against a
// particular profile's schema (blinky, slpf, x-game, x-lit), or only in
// the role their folder gives them (a valid response under commands-bad):
// this package validates the language and the er profile, so it accepts
// them. Listed so that any other invalid example must be refused.
var profileOnly = map[string]bool{
	"plugfest2020-language__commands-bad__openc2_response.json":                    true,
	"plugfest2020-language__commands-bad__openc2_response_text.json":               true,
	"plugfest2020-language__responses-bad__openc2_command_query_features_all.json": true,
	"plugfest2020-slpf+acme__commands-bad__create_poetry.json":                     true,
	"plugfest2020-slpf+acme__commands-bad__set_castle.json":                        true,
	"plugfest2020-slpf+acme__responses-bad__results_castle.json":                   true,
	"plugfest2020-slpf+acme__responses-bad__results_poetry.json":                   true,
	"plugfest2020-slpf+acme__responses-bad__slpf_query_pairs_bad_action.json":      true,
	"plugfest2020-slpf+acme__responses-bad__slpf_query_pairs_bad_pair.json":        true,
	"plugfest2020-slpf+acme__responses-bad__slpf_query_pairs_bad_target.json":      true,
	"usecases-ap-blinky__bad-command__query-device-bad-actuator-specifiers.json":   true,
	"usecases-ap-blinky__bad-command__query-device-bad-arg.json":                   true,
	"usecases-ap-blinky__bad-command__query-device-bad-args-actuator.json":         true,
	"usecases-ap-blinky__bad-command__query-device-bad-device.json":                true,
	"usecases-ap-blinky__bad-command__query-device-bad-empty-device.json":          true,
	"usecases-ap-blinky__bad-command__query-device-bad-list-dup.json":              true,
	"usecases-ap-blinky__bad-response__response-device-bad-device.json":            true,
	"usecases-ap-blinky__bad-response__response-device-empty.json":                 true,
	"usecases-ap-blinky__bad-response__response-features-bad-action.json":          true,
	"usecases-ap-blinky__bad-response__response-features-bad-target.json":          true,
	"usecases-ap-slpf__bad-response__slpf_response_bad_empty_results.json":         true,
}

type manifestRow struct{ file, kind string }

func readManifest(t *testing.T) []manifestRow {
	t.Helper()
	f, err := os.Open(shareddata.Path(t, "respond", "openc2", "MANIFEST.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var rows []manifestRow
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	header := true
	for sc.Scan() {
		if header {
			header = false
			continue
		}
		cols := strings.Split(sc.Text(), "\t")
		if len(cols) < 6 {
			continue
		}
		rows = append(rows, manifestRow{file: cols[0], kind: cols[5]})
	}
	if len(rows) < 200 {
		t.Fatalf("manifest has %d rows", len(rows))
	}
	return rows
}

// TestOpenC2Corpus checks every shared OpenC2 example: valid ones parse,
// validate and marshal back to equal JSON; invalid ones are refused with
// reasons; the kind matches the manifest's.
func TestOpenC2Corpus(t *testing.T) {
	dir := shareddata.Path(t, "respond", "openc2")
	var valid, invalid, refused int
	for _, row := range readManifest(t) {
		b, err := os.ReadFile(filepath.Join(dir, row.file))
		if err != nil {
			t.Fatal(err)
		}
		base := filepath.Base(row.file)
		rep := CheckMessage(b)
		if rep.Kind != row.kind {
			t.Errorf("%s: kind %q, manifest says %q", base, rep.Kind, row.kind)
		}
		if strings.HasPrefix(row.file, "valid/") {
			if field, ok := defective[base]; ok {
				if rep.Valid || len(rep.Reasons) == 0 || !strings.HasPrefix(rep.Reasons[0], field) {
					t.Errorf("%s: defective example: want refusal at %s, got %v", base, field, rep.Reasons)
				}
				refused++
				continue
			}
			valid++
			if !rep.Valid {
				t.Errorf("%s: valid example refused: %v", base, rep.Reasons)
				continue
			}
			checkRoundTrip(t, base, b, rep)
			continue
		}
		invalid++
		if profileOnly[base] {
			continue
		}
		if rep.Valid {
			t.Errorf("%s: invalid example accepted", base)
		} else if len(rep.Reasons) == 0 {
			t.Errorf("%s: refused without a reason", base)
		}
		refused++
	}
	t.Logf("%d valid examples accepted and round-tripped; %d invalid; %d refused", valid, invalid, refused)
}

func checkRoundTrip(t *testing.T, name string, in []byte, rep Report) {
	t.Helper()
	var want any
	if err := json.Unmarshal(in, &want); err != nil {
		t.Fatal(err)
	}
	var out []byte
	var err error
	switch rep.Kind {
	case KindCommand:
		out, err = json.Marshal(rep.Command)
	case KindResponse:
		out, err = json.Marshal(rep.Response)
	default:
		return
	}
	if err != nil {
		t.Fatalf("%s: marshal: %v", name, err)
	}
	var got any
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("%s: re-read: %v", name, err)
	}
	if !reflect.DeepEqual(want, got) {
		t.Errorf("%s: round trip differs:\n in: %s\nout: %s", name, in, out)
	}
}

func mustReason(t *testing.T, js, field string) {
	t.Helper()
	_, err := ParseCommand([]byte(js))
	var ve *ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("%s: want a ValidationError, got %v", js, err)
	}
	if !errors.Is(err, ErrInvalid) {
		t.Fatalf("error does not wrap ErrInvalid")
	}
	for _, p := range ve.Problems {
		if p.Field == field {
			return
		}
	}
	t.Errorf("%s: no problem at %q: %v", js, field, ve.Reasons())
}

func TestValidateReasons(t *testing.T) {
	cases := []struct{ js, field string }{
		{`{"action":"explode","target":{"device":{"hostname":"a"}}}`, "action"},
		{`{"action":"deny","target":{}}`, "target"},
		{`{"action":"deny","target":{"uri":"http://x","domain_name":"x.org"}}`, "target"},
		{`{"action":"deny","target":{"uri":"http://x"},"args":{"start_time":1,"stop_time":2,"duration":1}}`, "args"},
		{`{"action":"contain","target":{"device":{"hostname":"h1"}},"actuator":{"er":{}}}`, "args.er.device_containment"},
		{`{"action":"contain","target":{"device":{"hostname":"h1"}},"args":{"er":{"device_containment":"lockdown"}}}`, "args.er.device_containment"},
		{`{"action":"set","target":{"er":{"account":{"account_name":"bob"}}},"args":{"er":{"downstream_device":{"devices":[{"hostname":"h1"}]}}}}`, "args.er.account_status"},
		{`{"action":"query","target":{"er":{"account":{"uid":"1"}}}}`, "action"},
		{`{"action":"stop","target":{"process":{"pid":4}},"actuator":{"er":{}}}`, "args.er.downstream_device"},
		{`{"action":"delete","target":{"mdr:scheduled_task":{"name":"\\T"}},"actuator":{"er":{}}}`, "args.er.downstream_device"},
		{`{"action":"copy","target":{"mdr:scheduled_task":{"name":"\\T"}}}`, "action"},
		{`{"action":"deny","target":{"file":{"hashes":{"sha256":"abc"}}}}`, "target.file.hashes.sha256"},
		{`{"action":"allow","target":{"ipv4_net":"10.0.0.1/33"}}`, "target.ipv4_net"},
		{`{"action":"deny","target":{"uri":"http://x"},"command_id":"has space"}`, "command_id"},
		{`{"action":"deny","target":{"uri":"http://x"},"extra":1}`, "extra"},
		{`{"action":"deny","target":{"uri":"http://x"},"actuator":{"er":{"asset_id":"1"}}}`, "actuator.er.asset_id"},
		{`{"action":"set","target":{"ipv4_net":"10.0.0.0/24"},"args":{"er":{"downstream_device":{"devices":[{"hostname":"h"}]}}}}`, "target.ipv4_net"},
		{`{"action":"set","target":{"er":{"registry_entry":{"key":"HKLM\\x","type":"REG_WHATEVER"}}},"args":{"er":{"downstream_device":{"devices":[{"hostname":"h"}]}}}}`, "target.er.registry_entry.type"},
	}
	for _, c := range cases {
		mustReason(t, c.js, c.field)
	}
}

func TestValidCommandsOfTheProfiles(t *testing.T) {
	ok := []string{
		`{"action":"contain","target":{"device":{"hostname":"ws1"}},"args":{"er":{"device_containment":"network_isolation","permitted_addresses":{"ipv4_net":["10.0.0.5"],"domain_name":["wiki.corp.example"]}}},"actuator":{"er":{}}}`,
		`{"action":"set","target":{"er":{"account":{"account_name":"bob"}}},"args":{"er":{"account_status":"disabled","downstream_device":{"devices":[{"hostname":"ws1"}]}}}}`,
		`{"action":"delete","target":{"mdr:scheduled_task":{"name":"\\Updater"}},"actuator":{"mdr":{"hostname":"edr"}},"args":{"er":{"downstream_device":{"devices":[{"hostname":"ws1"}]}}}}`,
		`{"action":"start","target":{"er":{"service":{"name":"Spooler"}}},"actuator":{"mdr":{}},"args":{"er":{"downstream_device":[{"devices":[{"hostname":"ws1"}]}]}}}`,
		`{"action":"deny","target":{"domain_name":"evil.example"},"args":{"duration":3600000},"actuator":{"er":{}}}`,
		`{"action":"set","target":{"er:account":{"uid":"S-1-5-21-1"}},"args":{"er":{"account_status":"enabled","downstream_device":{"device_groups":["finance"]}}}}`,
	}
	for _, js := range ok {
		c, err := ParseCommand([]byte(js))
		if err != nil {
			t.Errorf("%s: %v", js, err)
			continue
		}
		checkRoundTrip(t, js, []byte(js), Report{Kind: KindCommand, Command: &c})
	}
}

func TestResponseUndoRoundTrip(t *testing.T) {
	undo := Command{Action: ActionAllow, Target: Target{Device: &Device{Hostname: "ws1"}}, Actuator: &ActuatorSpec{Profile: "er"}}
	r := Response{Status: StatusOK, StatusText: "contained", Undo: &undo}
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"status":200,"status_text":"contained","results":{"mdr":{"undo":{"action":"allow","target":{"device":{"hostname":"ws1"}},"actuator":{"er":{}}}}}}`
	if string(b) != want {
		t.Fatalf("got %s", b)
	}
	back, err := ParseResponse(b)
	if err != nil {
		t.Fatal(err)
	}
	if back.Undo == nil || back.Undo.Action != ActionAllow || back.Undo.Target.Device.Hostname != "ws1" {
		t.Fatalf("undo lost: %+v", back)
	}
}

func TestCheckMessageKinds(t *testing.T) {
	for in, kind := range map[string]string{
		``:                    KindNotJSON,
		`[]`:                  KindNonObject,
		`{}`:                  KindOther,
		`{"status": 200}`:     KindResponse,
		`{"action": "query"}`: KindCommand,
		`{"headers":{},"body":{"openc2":{"response":{"status":200}}}}`: KindMessageResponse,
	} {
		if got := CheckMessage([]byte(in)).Kind; got != kind {
			t.Errorf("%q: kind %s, want %s", in, got, kind)
		}
	}
}

// FuzzParseCommand: untrusted OpenC2 input never panics, and what parses
// and validates marshals to JSON that parses and validates again.
func FuzzParseCommand(f *testing.F) {
	f.Add([]byte(`{"action":"contain","target":{"device":{"hostname":"h"}},"args":{"er":{"device_containment":"network_isolation"}}}`))
	f.Add([]byte(`{"action":"set","target":{"er":{"account":{"uid":"1"}}},"args":{"er":{"account_status":"enabled","downstream_device":[{"devices":[{"hostname":"h"}]}]}}}`))
	f.Add([]byte(`{"status":200,"results":{"pairs":{"query":["features"]}}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		rep := CheckMessage(data)
		if !rep.Valid || rep.Command == nil {
			return
		}
		b, err := json.Marshal(rep.Command)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := ParseCommand(b); err != nil {
			t.Fatalf("re-parse of %s: %v", b, err)
		}
	})
}

func TestIJSONRules(t *testing.T) {
	mustReason(t, `{"action":"deny","action":"allow","target":{"uri":"http://x"}}`, "")
	mustReason(t, `{"action":"deny","target":{"device":{"hostname":"a","hostname":"b"}}}`, "target.device")
	if _, err := ParseCommand([]byte("{\"action\":\"deny\",\"target\":{\"uri\":\"http://x\xff\"}}")); err == nil {
		t.Error("invalid UTF-8 accepted")
	}
	if rep := CheckMessage([]byte("{\"status\":200,\"status_text\":\"\xc3\"}")); rep.Valid || rep.Kind != KindNotJSON {
		t.Errorf("invalid UTF-8 response: %+v", rep)
	}
	// colons inside strings and nested objects are not members
	if _, err := ParseCommand([]byte(`{"action":"deny","target":{"uri":"http://x:80/a\":b"},"args":{"slpf":{"a":{"b":1}}}}`)); err != nil {
		t.Errorf("valid command refused: %v", err)
	}
}
