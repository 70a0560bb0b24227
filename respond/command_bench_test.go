package respond

import (
	"encoding/json"
	"testing"
)

var benchCommand = []byte(`{"action":"set","target":{"er":{"account":{"uid":"S-1-5-21-1-2-3-1001","account_name":"bob"}}},"args":{"duration":3600000,"er":{"account_status":"disabled","downstream_device":{"devices":[{"hostname":"ws1.corp.example"}]}}},"actuator":{"er":{"hostname":"edr-1"}},"command_id":"0b0f2c8e-1d7b-4c0e-9f5e-1b2c3d4e5f60"}`)

// BenchmarkParseCommand decodes and validates an er command.
func BenchmarkParseCommand(b *testing.B) {
	b.ReportAllocs()
	b.SetBytes(int64(len(benchCommand)))
	for b.Loop() {
		if _, err := ParseCommand(benchCommand); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkMarshalCommand writes a command's JSON (the dispatcher's audit
// journal does it for every command).
func BenchmarkMarshalCommand(b *testing.B) {
	c, err := ParseCommand(benchCommand)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	var buf []byte
	for b.Loop() {
		buf = c.AppendJSON(buf[:0])
	}
	if !json.Valid(buf) {
		b.Fatal("invalid JSON")
	}
}
