package payload

import (
	"bytes"
	"encoding/base64"
	"hash/crc32"
	"image"
	"image/gif"
	"image/jpeg"
	"image/png"
	"slices"
	"strings"
	"sync"
	"testing"

	"golang.org/x/image/webp"

	"github.com/kirobar/kirobar/canon"
	"github.com/kirobar/kirobar/internal/testkit/fixtures"
	"github.com/kirobar/kirobar/kiro/rules"
)

// Tiny valid images for requests: a 1×1 lossless WebP (Go has no WebP
// encoder), a 1×1 JPEG and a 1×1 GIF.
const (
	tinyWebP = "UklGRhoAAABXRUJQVlA4TA0AAAAvAAAAEAcQERGIiP4HAA=="
	tinyJPEG = "/9j/2wCEABALDA4MChAODQ4SERATGCgaGBYWGDEjJR0oOjM9PDkzODdASFxOQERXRTc4UG1RV19iZ2hnPk1xeXBkeFxlZ2MBERISGBUYLxoaL2NCOEJjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY//AAAsIAAEAAQEBEQD/xADSAAABBQEBAQEBAQAAAAAAAAAAAQIDBAUGBwgJCgsQAAIBAwMCBAMFBQQEAAABfQECAwAEEQUSITFBBhNRYQcicRQygZGhCCNCscEVUtHwJDNicoIJChYXGBkaJSYnKCkqNDU2Nzg5OkNERUZHSElKU1RVVldYWVpjZGVmZ2hpanN0dXZ3eHl6g4SFhoeIiYqSk5SVlpeYmZqio6Slpqeoqaqys7S1tre4ubrCw8TFxsfIycrS09TV1tfY2drh4uPk5ebn6Onq8fLz9PX29/j5+v/aAAgBAQAAPwDz+v/Z"
	tinyGIF  = "R0lGODlhAQABAIAAAP///wAAACwAAAAAAQABAAACAkQBADs="
)

func flat(w, h int) image.Image {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for i := range img.Pix {
		img.Pix[i] = byte(i * 7)
	}
	return img
}

func encodePNG(t testing.TB, img image.Image) string {
	t.Helper()
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(b.Bytes())
}

func encodeJPEG(t testing.TB, img image.Image) string {
	t.Helper()
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, &jpeg.Options{Quality: 95}); err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(b.Bytes())
}

func encodeGIF(t testing.TB, img image.Image) string {
	t.Helper()
	var b bytes.Buffer
	if err := gif.Encode(&b, img, nil); err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(b.Bytes())
}

// retinaPNG is the PNG of a 2880×1800 screenshot, encoded once for all
// tests (encoding it takes a good part of a second).
var retinaPNG = sync.OnceValue(func() string {
	b, err := fixtures.Screenshot(2880, 1800)
	if err != nil {
		panic(err)
	}
	return base64.StdEncoding.EncodeToString(b)
})

// textStrip is a w×h strip of a screenshot: text only, which PNG keeps
// small.
func textStrip(t testing.TB, w, h int) image.Image {
	t.Helper()
	b, err := fixtures.Screenshot(w, 2*h)
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	return img.(*image.RGBA).SubImage(image.Rect(0, 0, w, h))
}

// laptopPNG is a 1920×1200 screenshot: over Kiro's 1568 px, quicker to
// scale than a Retina one.
var laptopPNG = sync.OnceValue(func() string {
	b, err := fixtures.Screenshot(1920, 1200)
	if err != nil {
		panic(err)
	}
	return base64.StdEncoding.EncodeToString(b)
})

func decodedConfig(t testing.TB, p picture) image.Config {
	t.Helper()
	raw, err := base64.StdEncoding.DecodeString(p.data)
	if err != nil {
		t.Fatalf("image data: %v", err)
	}
	var cfg image.Config
	switch p.format {
	case "png":
		cfg, err = png.DecodeConfig(bytes.NewReader(raw))
	case "jpeg":
		cfg, err = jpeg.DecodeConfig(bytes.NewReader(raw))
	case "gif":
		cfg, err = gif.DecodeConfig(bytes.NewReader(raw))
	case "webp":
		cfg, err = webp.DecodeConfig(bytes.NewReader(raw))
	default:
		t.Fatalf("format %q", p.format)
	}
	if err != nil {
		t.Fatalf("the %s bytes do not decode as %s: %v", p.format, p.format, err)
	}
	return cfg
}

// TestFitImage checks each image against Kiro's limits: images within them
// pass unchanged, larger ones are scaled down within MaxImageSide and their
// budget with a truthful format, and a note says what changed.
func TestFitImage(t *testing.T) {
	for _, tc := range []struct {
		name     string
		img      picture
		budget   int
		same     bool   // data passes unchanged
		format   string // format after
		note     string // substring of the note; "" for none
		maxSide  int
		maxBytes int
	}{
		{"small png kept", picture{format: "png", data: encodePNG(t, flat(40, 30))}, MaxImageBytes, true, "png", "", 40, MaxImageBytes},
		{"small jpeg kept", picture{format: "jpeg", data: encodeJPEG(t, flat(40, 30))}, MaxImageBytes, true, "jpeg", "", 40, MaxImageBytes},
		{"gif kept", picture{format: "gif", data: encodeGIF(t, flat(10, 10))}, MaxImageBytes, true, "gif", "", 10, MaxImageBytes},
		{"webp kept", picture{format: "webp", data: tinyWebP}, MaxImageBytes, true, "webp", "", 1, MaxImageBytes},
		{"declared png but jpeg", picture{format: "png", data: encodeJPEG(t, flat(8, 8))}, MaxImageBytes, true, "jpeg", "declared png but the data is jpeg", 8, MaxImageBytes},
		{"large screenshot", picture{format: "png", data: laptopPNG()}, MaxImageBytes, false, "", "scaled down from png 1920×1200", MaxImageSide, MaxImageBytes},
		{"screenshot on a small budget", picture{format: "png", data: laptopPNG()}, 60_000, false, "jpeg", "to jpeg", MaxImageSide, 60_000},
		{"tall image", picture{format: "jpeg", data: encodeJPEG(t, flat(120, 2400))}, MaxImageBytes, false, "jpeg", "120×2400", MaxImageSide, MaxImageBytes},
		{"webp over budget", picture{format: "webp", data: tinyWebP}, 10, false, "jpeg", "from webp 1×1", 1, 1 << 10},
		{"lossless text fits as png", picture{format: "png", data: encodePNG(t, textStrip(t, 2000, 100))}, MaxImageBytes, false, "png", "to png", MaxImageSide, MaxImageBytes},
	} {
		t.Run(tc.name, func(t *testing.T) {
			img := tc.img
			before := img.data
			note, err := fitImage(&img, tc.budget, nil)
			if err != nil {
				t.Fatal(err)
			}
			if (img.data == before) != tc.same {
				t.Fatalf("data unchanged = %v, want %v (note %q)", img.data == before, tc.same, note)
			}
			if tc.format != "" && img.format != tc.format {
				t.Errorf("format %q, want %q", img.format, tc.format)
			}
			if tc.note == "" && note != "" || !strings.Contains(note, tc.note) {
				t.Errorf("note %q, want one containing %q", note, tc.note)
			}
			cfg := decodedConfig(t, img)
			if max(cfg.Width, cfg.Height) > tc.maxSide {
				t.Errorf("%d×%d, want the long side ≤ %d", cfg.Width, cfg.Height, tc.maxSide)
			}
			if n := base64.StdEncoding.DecodedLen(len(img.data)); n > tc.maxBytes+2 {
				t.Errorf("%d bytes, want ≤ %d", n, tc.maxBytes)
			}
		})
	}
}

// TestFitImageErrors checks that broken images are refused with a message
// that says what is wrong with them.
func TestFitImageErrors(t *testing.T) {
	pngData := encodePNG(t, flat(20, 20))
	raw, _ := base64.StdEncoding.DecodeString(pngData)
	for _, tc := range []struct {
		name, data, want string
	}{
		{"not base64", "!!!!", "not valid base64"},
		{"not an image", base64.StdEncoding.EncodeToString([]byte("hello, this is text")), "not a JPEG, PNG, GIF or WebP image"},
		{"png header cut", base64.StdEncoding.EncodeToString(raw[:20]), "not a valid png image"},
		{"base64 cut mid-way", pngData[:len(pngData)-3], "incomplete"},
		{"no pixels", base64.StdEncoding.EncodeToString([]byte("GIF89a\x00\x00\x05\x00\x00\x00\x00;")), "no pixels"},
		{"png without size", pngHeader(t, 0, 5), "not a valid png image"},
		{"bomb", pngHeader(t, 20000, 20000), "megapixels"},
		{"header without data", pngHeader(t, 5000, 5000), "the header says 5000×5000 pixels but the image has only 33 bytes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			img := picture{format: "png", data: tc.data}
			_, err := fitImage(&img, MaxImageBytes, nil)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

// pngHeader is a PNG claiming w×h pixels with no pixel data: a
// decompression bomb's header.
func pngHeader(t testing.TB, w, h int) string {
	t.Helper()
	raw, _ := base64.StdEncoding.DecodeString(encodePNG(t, flat(1, 1)))
	// The IHDR chunk starts at byte 8: length, "IHDR", width, height.
	b := bytes.Clone(raw[:33])
	b[16], b[17], b[18], b[19] = byte(w>>24), byte(w>>16), byte(w>>8), byte(w)
	b[20], b[21], b[22], b[23] = byte(h>>24), byte(h>>16), byte(h>>8), byte(h)
	sum := crc32.ChecksumIEEE(b[12:29]) // chunk type and data
	b[29], b[30], b[31], b[32] = byte(sum>>24), byte(sum>>16), byte(sum>>8), byte(sum)
	return base64.StdEncoding.EncodeToString(b)
}

func TestImageBudgets(t *testing.T) {
	const m = 1_000_000
	cur := func(n int) []bool {
		b := make([]bool, n)
		for i := range b {
			b[i] = true
		}
		return b
	}
	for _, tc := range []struct {
		name       string
		sizes      []int
		current    []bool
		maxPayload int
		want       []int
	}{
		{"no guard", []int{10, 900_000}, cur(2), 0, []int{MaxImageBytes, MaxImageBytes}},
		{"one screenshot", []int{2 * m}, cur(1), 600_000, []int{225_000}},
		{"small image leaves room", []int{1_000, 2 * m}, cur(2), 600_000, []int{112_500, 224_000}},
		{"two large share", []int{900_000, 2 * m}, cur(2), 600_000, []int{112_500, 112_500}},
		{"history images get a fixed share", []int{2 * m, 2 * m, 2 * m}, []bool{false, false, true}, 600_000, []int{28_125, 28_125, 168_750}},
		{"small history image leaves room", []int{5_000, 2 * m}, []bool{false, true}, 600_000, []int{28_125, 220_000}},
		{"many get the floor", []int{m, m, m, m, m, m, m, m, m, m, m, m}, cur(12), 600_000,
			[]int{24_000, 24_000, 24_000, 24_000, 24_000, 24_000, 24_000, 24_000, 24_000, 24_000, 24_000, 24_000}},
		{"large guard", []int{2 * m}, cur(1), 10 * m, []int{MaxImageBytes}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := imageBudgets(tc.sizes, tc.current, tc.maxPayload)
			if !slices.Equal(got, tc.want) {
				t.Fatalf("budgets %v, want %v", got, tc.want)
			}
		})
	}
}

// TestImageCache checks that a scaled image is served from the cache with
// the same result, and that unchanged images are not stored.
func TestImageCache(t *testing.T) {
	cache := NewImageCache(4 << 20)
	shot := encodePNG(t, flat(1700, 60))
	a := picture{format: "png", data: shot}
	noteA, err := fitImage(&a, 100_000, cache)
	if err != nil {
		t.Fatal(err)
	}
	b := picture{format: "png", data: shot}
	noteB, err := fitImage(&b, 100_000, cache)
	if err != nil {
		t.Fatal(err)
	}
	if a != b || noteA != noteB || cache.lru.Len() != 1 {
		t.Fatalf("second fit differs or cache holds %d entries", cache.lru.Len())
	}
	small := picture{format: "png", data: encodePNG(t, flat(4, 4))}
	if _, err := fitImage(&small, 100_000, cache); err != nil || cache.lru.Len() != 1 {
		t.Fatalf("unchanged image cached: %v, %d entries", err, cache.lru.Len())
	}
	tiny := NewImageCache(10) // too small for any result
	c := picture{format: "png", data: shot}
	if _, err := fitImage(&c, 100_000, tiny); err != nil || tiny.lru.Len() != 0 || tiny.size != 0 {
		t.Fatalf("over-limit entry kept: %v", err)
	}
}

// TestBuildScreenshotClaudeCode sends a Retina screenshot in a Claude Code
// turn through Build with kirobar's default size guard: the request fits,
// keeps its history, and is one the service's rules accept; without the
// scaling the image alone is over Kiro's limits.
func TestBuildScreenshotClaudeCode(t *testing.T) {
	req := loadRequest(t, "claude_code_first.json")
	shot := retinaPNG()
	if len(shot) <= rules.DefaultMaxImageBase64 {
		t.Fatalf("the screenshot is only %d base64 characters; it must exceed Kiro's limit for this test to mean anything", len(shot))
	}
	req.Messages = append([]canon.Message{
		{Role: "user", Content: canon.Content{{Type: canon.BlockText, Text: "Why does the build fail? " + strings.Repeat("context ", 3000)}}},
		{Role: "assistant", Content: canon.Content{{Type: canon.BlockText, Text: "Please show me the screen. " + strings.Repeat("reply ", 3000)}}},
	}, req.Messages...)
	prompt := &req.Messages[2] // Claude Code's "say hi"; a role:"system" note follows it
	prompt.Content = append(prompt.Content, canon.Block{Type: canon.BlockImage, Source: &canon.ImageSource{Type: "base64", MediaType: "image/png", Data: shot}})
	res, s := build(t, req, Options{ModelID: "claude-opus-4.7", MaxPayloadBytes: 600_000})
	if res.Trimmed != 0 {
		t.Errorf("%d history entries were dropped to make room for the screenshot", res.Trimmed)
	}
	imgs := s.CurrentMessage.UserInputMessage.Images
	if len(imgs) != 1 {
		t.Fatalf("%d images sent", len(imgs))
	}
	cfg := decodedConfig(t, picture{format: imgs[0].Format, data: imgs[0].Source.Bytes})
	if max(cfg.Width, cfg.Height) > MaxImageSide || cfg.Width*1800 != 2880*cfg.Height {
		t.Errorf("sent %d×%d, want the screenshot's aspect within %d px", cfg.Width, cfg.Height, MaxImageSide)
	}
	if len(res.Notes) != 1 || !strings.Contains(res.Notes[0], "messages.2.content.1: image scaled down from png 2880×1800") {
		t.Errorf("notes %q", res.Notes)
	}
	body := append([]byte(`{"conversationState":`), res.ConversationState...)
	body = append(body, `,"profileArn":"arn:aws:codewhisperer:us-east-1:1:profile/X"}`...)
	if _, rej := rules.NewChecker(rules.Limits{}, []string{"claude-opus-4.7"}).Check(body); rej != nil {
		t.Fatalf("the service's rules refuse the request: %s (%s)", rej.Rule, rej.Body)
	}
}

// TestBuildBrokenImage checks that a broken image is the client's error,
// located in its request.
func TestBuildBrokenImage(t *testing.T) {
	req := decodeRequest(t, `{"messages":[{"role":"user","content":[{"type":"text","text":"see"},
		{"type":"image","source":{"type":"base64","media_type":"image/png","data":"aGVsbG8gd29ybGQ="}}]}]}`)
	_, err := Build(req, Options{ModelID: testModel})
	if err == nil || !strings.Contains(err.Error(), "messages.0.content.1: image data is not a JPEG, PNG, GIF or WebP image") {
		t.Fatalf("error %v", err)
	}
}

// FuzzFitImage feeds broken and odd images to the image path: it must
// never panic, and whatever it sends must decode and respect the limits.
func FuzzFitImage(f *testing.F) {
	f.Add(mustDecode(encodePNG(f, flat(30, 20))), uint16(0))
	f.Add(mustDecode(encodeJPEG(f, flat(30, 20))), uint16(1))
	f.Add(mustDecode(encodeGIF(f, flat(30, 20))), uint16(2))
	f.Add(mustDecode(tinyWebP), uint16(3))
	f.Add([]byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"), uint16(0))
	f.Add([]byte("RIFF\x00\x00\x00\x00WEBPVP8 "), uint16(40))
	f.Add([]byte("GIF89a\x01\x00\x01\x00"), uint16(9))
	f.Fuzz(func(t *testing.T, raw []byte, budget uint16) {
		img := picture{format: "png", data: base64.StdEncoding.EncodeToString(raw)}
		if _, err := fitImage(&img, int(budget)+1, nil); err != nil {
			return
		}
		cfg := decodedConfig(t, img)
		if max(cfg.Width, cfg.Height) > MaxImageSide {
			t.Fatalf("sent %d×%d", cfg.Width, cfg.Height)
		}
	})
}

func mustDecode(s string) []byte {
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}
