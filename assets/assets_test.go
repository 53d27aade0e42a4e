package assets

import (
	"bytes"
	"encoding/binary"
	"image/png"
	"testing"
)

func TestEveryIconDecodes(t *testing.T) {
	for _, icon := range append(Icons, Icon("missing")) {
		t.Run(string(icon), func(t *testing.T) {
			known := icon != "missing"
			p, err := PNG(icon)
			if (err == nil) != known {
				t.Fatalf("PNG error = %v, want error only for an unknown icon", err)
			}
			if !known {
				return
			}
			img, err := png.Decode(bytes.NewReader(p))
			if err != nil {
				t.Fatalf("png: %v", err)
			}
			if img.Bounds().Dx() != 64 || img.Bounds().Dy() != 64 {
				t.Errorf("png size %v, want 64x64", img.Bounds())
			}
			tp, err := Template(icon)
			if err != nil {
				t.Fatal(err)
			}
			timg, err := png.Decode(bytes.NewReader(tp))
			if err != nil {
				t.Fatalf("template: %v", err)
			}
			for y := 0; y < timg.Bounds().Dy(); y++ {
				for x := 0; x < timg.Bounds().Dx(); x++ {
					if r, g, b, _ := timg.At(x, y).RGBA(); r|g|b != 0 {
						t.Fatalf("template pixel %d,%d is not black: a template image is alpha only", x, y)
					}
				}
			}
			ico, err := ICO(icon)
			if err != nil {
				t.Fatal(err)
			}
			if len(ico) < 6 || binary.LittleEndian.Uint16(ico[2:]) != 1 || binary.LittleEndian.Uint16(ico[4:]) == 0 {
				t.Errorf("ico header % x is not an icon directory", ico[:6])
			}
		})
	}
}
