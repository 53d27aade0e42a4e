package payload

import "testing"

// BenchmarkFitScreenshot measures scaling a Retina screenshot down to
// Kiro's limits, the cost a Claude Code turn with a screenshot pays once.
func BenchmarkFitScreenshot(b *testing.B) {
	data := retinaPNG()
	b.ReportAllocs()
	for b.Loop() {
		img := picture{format: "png", data: data}
		if _, err := fitImage(&img, 225_000, nil); err != nil {
			b.Fatal(err)
		}
	}
}
