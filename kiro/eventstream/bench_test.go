package eventstream

import (
	"bytes"
	"io"
	"testing"
)

// BenchmarkDecode decodes a stream of typical text events and reports
// frames per second and allocations per frame.
func BenchmarkDecode(b *testing.B) {
	const frames = 1000
	var stream []byte
	for i := range frames {
		stream = mustAppend(b, stream, textEvent("chunk of streamed model output "+string(rune('a'+i%26))))
	}
	b.SetBytes(int64(len(stream)))
	b.ReportAllocs()
	r := bytes.NewReader(stream)
	for b.Loop() {
		r.Reset(stream)
		d := NewDecoder(r)
		for {
			if _, err := d.Next(); err != nil {
				if err != io.EOF {
					b.Fatal(err)
				}
				break
			}
		}
	}
	b.ReportMetric(float64(b.N)*frames/b.Elapsed().Seconds(), "frames/s")
}
