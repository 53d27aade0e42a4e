package icongen

import (
	"bytes"
	"encoding/binary"
	"flag"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"sort"
	"testing"
)

var update = flag.Bool("update", false, "rewrite assets/icons from the generator")

const iconDir = "../../../assets/icons"

// TestAssetsUpToDate keeps the committed icons equal to what the generator
// draws; run with -update after changing the drawing code.
func TestAssetsUpToDate(t *testing.T) {
	files, err := Files()
	if err != nil {
		t.Fatal(err)
	}
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, name := range names {
		path := filepath.Join(iconDir, name)
		if *update {
			if err := os.WriteFile(path, files[name], 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		got, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("%v (run: go test ./tray/internal/icongen -run TestAssetsUpToDate -update)", err)
		}
		if !bytes.Equal(got, files[name]) {
			t.Errorf("%s differs from the generator (run with -update)", name)
		}
	}
}

func TestRenderDistinguishesStates(t *testing.T) {
	for _, tc := range []struct {
		state         State
		centreIsWhite bool
		templateCut   bool // the glyph cuts the template's centre out
	}{
		{OK, false, false},      // the chevron stands right of the centre
		{Attention, true, true}, // the bar of "!" crosses the centre
		{Error, true, true},     // the cross meets at the centre
		{Stopped, true, true},   // the square covers the centre
	} {
		t.Run(string(tc.state), func(t *testing.T) {
			img := Render(tc.state, PNGSize)
			if a := img.NRGBAAt(0, 0).A; a != 0 {
				t.Errorf("corner alpha = %d, want transparent", a)
			}
			c := img.NRGBAAt(PNGSize/2, PNGSize/2)
			white := c.R == 255 && c.G == 255 && c.B == 255
			if white != tc.centreIsWhite {
				t.Errorf("centre %v: white = %v, want %v", c, white, tc.centreIsWhite)
			}
			tpl := RenderTemplate(tc.state, TemplateSize)
			if a := tpl.NRGBAAt(TemplateSize/2, TemplateSize/2).A; (a == 0) != tc.templateCut {
				t.Errorf("template centre alpha = %d, cut out = %v", a, tc.templateCut)
			}
		})
	}
}

func TestEncodeICO(t *testing.T) {
	imgs := []*image.NRGBA{Render(OK, 16), Render(OK, 32)}
	ico, err := EncodeICO(imgs)
	if err != nil {
		t.Fatal(err)
	}
	var hdr [3]uint16
	if err := binary.Read(bytes.NewReader(ico), binary.LittleEndian, &hdr); err != nil {
		t.Fatal(err)
	}
	if hdr != [3]uint16{0, 1, 2} {
		t.Fatalf("header = %v, want reserved 0, type 1, count 2", hdr)
	}
	for i, size := range []int{16, 32} {
		entry := ico[6+16*i : 6+16*(i+1)]
		if int(entry[0]) != size || int(entry[1]) != size {
			t.Errorf("entry %d: %dx%d, want %d", i, entry[0], entry[1], size)
		}
		n := binary.LittleEndian.Uint32(entry[8:])
		off := binary.LittleEndian.Uint32(entry[12:])
		if int(off+n) > len(ico) {
			t.Fatalf("entry %d: data %d+%d beyond file of %d", i, off, n, len(ico))
		}
		if h := int32(binary.LittleEndian.Uint32(ico[off+8:])); h != int32(2*size) {
			t.Errorf("entry %d: DIB height %d, want %d (image plus mask)", i, h, 2*size)
		}
		maskStride := ((size + 31) / 32) * 4
		if want := 40 + size*size*4 + maskStride*size; int(n) != want {
			t.Errorf("entry %d: %d bytes, want %d", i, n, want)
		}
	}
	if _, err := EncodeICO([]*image.NRGBA{Render(OK, 300)}); err == nil {
		t.Error("a 300 px image encoded; want an error")
	}
}

func TestEncodePNGDecodes(t *testing.T) {
	b, err := EncodePNG(Render(Error, 20))
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	if img.Bounds().Dx() != 20 {
		t.Errorf("width %d, want 20", img.Bounds().Dx())
	}
}
