package codec

import (
	"bufio"
	"compress/gzip"
	"os"
	"testing"

	"github.com/mdrkit/mdr"
	"github.com/mdrkit/mdr/internal/shareddata"
)

// BenchmarkDecodeRealSample decodes the first 20,000 lines of the real
// benchmark file (MDR_NO_FLAT=1 turns the flat fast path off to compare).
func BenchmarkDecodeRealSample(b *testing.B) {
	f, err := os.Open(shareddata.Path(b, "events", "benchmark.jsonl.gz"))
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		b.Fatal(err)
	}
	var lines [][]byte
	sc := bufio.NewScanner(zr)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	total := 0
	for len(lines) < 20000 && sc.Scan() {
		lines = append(lines, append([]byte(nil), sc.Bytes()...))
		total += len(sc.Bytes())
	}
	bl := mdr.NewBuilder(64)
	flatPath = os.Getenv("MDR_NO_FLAT") == ""
	defer func() { flatPath = true }()
	b.ReportAllocs()
	b.SetBytes(int64(total / len(lines)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := Decode(lines[i%len(lines)], mdr.Origin{}, bl); err != nil {
			b.Fatal(err)
		}
	}
}
