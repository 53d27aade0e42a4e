// Package icongen draws kirobar's tray icons in code, so the committed files
// under assets/icons can be regenerated without any image tool: a coloured
// disc for each state (green ok, amber attention, red error, grey stopped)
// with a white glyph whose shape also tells the state apart for people who
// do not tell the colours apart, and a black template variant for the macOS
// menu bar, which tints template images itself.
package icongen

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math"
)

// State names one icon.
type State string

// The four icon states, matching the file names under assets/icons.
const (
	OK        State = "ok"
	Attention State = "attention"
	Error     State = "error"
	Stopped   State = "stopped"
)

// States lists every state in a stable order.
var States = []State{OK, Attention, Error, Stopped}

// Sizes used for the generated files.
const (
	PNGSize      = 64 // Linux StatusNotifierItem hosts scale it down themselves
	TemplateSize = 36 // 18 pt at 2x, the macOS menu bar height
)

// ICOSizes are the images packed into each Windows .ico file.
var ICOSizes = []int{16, 24, 32, 48}

type segment struct{ x0, y0, x1, y1 float64 }

// glyph returns the strokes (in a unit square, centre 0.5) and the stroke
// half-width of the state's glyph.
func glyph(s State) ([]segment, float64) {
	switch s {
	case OK: // a chevron, like a prompt: traffic flows
		return []segment{{0.40, 0.28, 0.62, 0.50}, {0.62, 0.50, 0.40, 0.72}}, 0.07
	case Attention: // an exclamation mark
		return []segment{{0.5, 0.26, 0.5, 0.56}, {0.5, 0.72, 0.5, 0.72}}, 0.075
	case Error: // a cross
		return []segment{{0.34, 0.34, 0.66, 0.66}, {0.66, 0.34, 0.34, 0.66}}, 0.07
	default: // stopped: drawn as a solid square by inGlyph
		return nil, 0
	}
}

func discColor(s State) color.NRGBA {
	switch s {
	case OK:
		return color.NRGBA{0x2e, 0x9e, 0x4f, 0xff}
	case Attention:
		return color.NRGBA{0xe8, 0x9a, 0x0c, 0xff}
	case Error:
		return color.NRGBA{0xd6, 0x33, 0x2f, 0xff}
	default:
		return color.NRGBA{0x80, 0x86, 0x8d, 0xff}
	}
}

func distToSegment(px, py float64, g segment) float64 {
	dx, dy := g.x1-g.x0, g.y1-g.y0
	l2 := dx*dx + dy*dy
	t := 0.0
	if l2 > 0 {
		t = ((px-g.x0)*dx + (py-g.y0)*dy) / l2
		t = math.Max(0, math.Min(1, t))
	}
	ex, ey := g.x0+t*dx-px, g.y0+t*dy-py
	return math.Sqrt(ex*ex + ey*ey)
}

// inGlyph reports whether the point (x, y) of the unit square lies on the
// state's glyph; the stopped glyph is a solid square, the others strokes.
func inGlyph(s State, x, y float64) bool {
	segs, w := glyph(s)
	if s == Stopped {
		return math.Abs(x-0.5) <= 0.15 && math.Abs(y-0.5) <= 0.15
	}
	for _, g := range segs {
		if distToSegment(x, y, g) <= w {
			return true
		}
	}
	return false
}

const supersample = 4

// coverage returns the fraction of the pixel covered by the disc and the
// fraction covered by the glyph inside the disc.
func coverage(s State, size, px, py int) (disc, mark float64) {
	n := 0
	for sy := 0; sy < supersample; sy++ {
		for sx := 0; sx < supersample; sx++ {
			x := (float64(px) + (float64(sx)+0.5)/supersample) / float64(size)
			y := (float64(py) + (float64(sy)+0.5)/supersample) / float64(size)
			n++
			dx, dy := x-0.5, y-0.5
			if dx*dx+dy*dy > 0.47*0.47 {
				continue
			}
			if inGlyph(s, x, y) {
				mark++
				continue
			}
			disc++
		}
	}
	return disc / float64(n), mark / float64(n)
}

// Render draws the coloured icon for s at size x size pixels.
func Render(s State, size int) *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, size, size))
	c := discColor(s)
	for y := 0; y < size; y++ {
		for x := 0; x < size; x++ {
			disc, mark := coverage(s, size, x, y)
			a := disc + mark
			if a == 0 {
				continue
			}
			// Blend disc colour and white by their shares of the covered area.
			mix := func(v uint8) uint8 { return uint8(math.Round((float64(v)*disc + 255*mark) / a)) }
			img.SetNRGBA(x, y, color.NRGBA{mix(c.R), mix(c.G), mix(c.B), uint8(math.Round(a * 255))})
		}
	}
	return img
}

// RenderTemplate draws the macOS template variant: black disc with the glyph
// cut out, so the menu bar can tint it for light and dark mode.
func RenderTemplate(s State, size int) *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, size, size))
	for y := 0; y < size; y++ {
		for x := 0; x < size; x++ {
			disc, _ := coverage(s, size, x, y)
			if disc == 0 {
				continue
			}
			img.SetNRGBA(x, y, color.NRGBA{0, 0, 0, uint8(math.Round(disc * 255))})
		}
	}
	return img
}

// EncodePNG encodes img as PNG.
func EncodePNG(img image.Image) ([]byte, error) {
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return nil, fmt.Errorf("encode png: %w", err)
	}
	return buf.Bytes(), nil
}

// EncodeICO packs the images into a Windows .ico file using 32-bit BMP
// entries (with an AND mask), which every Windows version since XP loads
// through LoadImage, unlike PNG entries on older shells.
func EncodeICO(imgs []*image.NRGBA) ([]byte, error) {
	var head, body bytes.Buffer
	le := binary.LittleEndian
	_ = binary.Write(&head, le, [3]uint16{0, 1, uint16(len(imgs))})
	offset := 6 + 16*len(imgs)
	for _, img := range imgs {
		w, h := img.Bounds().Dx(), img.Bounds().Dy()
		if w > 256 || h > 256 || w < 1 || h < 1 {
			return nil, fmt.Errorf("encode ico: size %dx%d out of range", w, h)
		}
		bmp := dib(img)
		dim := func(v int) uint8 {
			if v == 256 {
				return 0
			}
			return uint8(v)
		}
		_ = binary.Write(&head, le, struct {
			W, H, Colors, Reserved uint8
			Planes, BPP            uint16
			Size, Offset           uint32
		}{dim(w), dim(h), 0, 0, 1, 32, uint32(len(bmp)), uint32(offset)})
		body.Write(bmp)
		offset += len(bmp)
	}
	return append(head.Bytes(), body.Bytes()...), nil
}

// dib encodes one image as the BITMAPINFOHEADER + BGRA rows + AND mask that
// an .ico entry holds (height doubled for the mask, rows bottom-up).
func dib(img *image.NRGBA) []byte {
	w, h := img.Bounds().Dx(), img.Bounds().Dy()
	maskStride := ((w + 31) / 32) * 4
	var buf bytes.Buffer
	le := binary.LittleEndian
	_ = binary.Write(&buf, le, struct {
		Size                 uint32
		Width, Height        int32
		Planes, BitCount     uint16
		Compression, ImgSize uint32
		XPPM, YPPM           int32
		ClrUsed, ClrImp      uint32
	}{40, int32(w), int32(2 * h), 1, 32, 0, uint32(w*h*4 + maskStride*h), 0, 0, 0, 0})
	for y := h - 1; y >= 0; y-- {
		for x := 0; x < w; x++ {
			c := img.NRGBAAt(x, y)
			buf.Write([]byte{c.B, c.G, c.R, c.A})
		}
	}
	for y := h - 1; y >= 0; y-- {
		row := make([]byte, maskStride)
		for x := 0; x < w; x++ {
			if img.NRGBAAt(x, y).A == 0 {
				row[x/8] |= 0x80 >> (x % 8)
			}
		}
		buf.Write(row)
	}
	return buf.Bytes()
}

// Files returns every file of assets/icons by name with its contents.
func Files() (map[string][]byte, error) {
	out := make(map[string][]byte)
	for _, s := range States {
		p, err := EncodePNG(Render(s, PNGSize))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", s, err)
		}
		out[string(s)+".png"] = p
		t, err := EncodePNG(RenderTemplate(s, TemplateSize))
		if err != nil {
			return nil, fmt.Errorf("%s template: %w", s, err)
		}
		out[string(s)+"-template.png"] = t
		var imgs []*image.NRGBA
		for _, n := range ICOSizes {
			imgs = append(imgs, Render(s, n))
		}
		ico, err := EncodeICO(imgs)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", s, err)
		}
		out[string(s)+".ico"] = ico
	}
	return out, nil
}
