package payload

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"io"
	"math"
	"sort"
	"strconv"
	"strings"

	"golang.org/x/image/draw"
	"golang.org/x/image/webp"

	"github.com/kirobar/kirobar/kiro/rules"
)

// Kiro's image limits. An image of ~700K base64 characters is refused with
// CONTENT_LENGTH_EXCEEDS_THRESHOLD, so images are scaled down to at most
// MaxImageSide pixels on the long side and MaxImageBytes encoded bytes, the
// limits R1ddle1337/kiro.rs:src/image_resize.rs sends (kiro-protocol.md
// §11.8). 1568 px is also the size beyond which Claude scales an image down
// itself, so the model loses nothing it would have seen.
const (
	MaxImageSide  = 1568
	MaxImageBytes = 400_000
)

const (
	// maxImagePixels refuses images whose pixels alone would take more than
	// ~150 MB to decode; an 8K screenshot (7680×4320) still fits.
	maxImagePixels = 36_000_000
	// maxPixelsPerByte is more pixels per encoded byte than any encoder
	// reaches (deflate stops near 1000:1): an image claiming more is a
	// header without its data, or a bomb, and is refused before the
	// decoder allocates its pixels.
	maxPixelsPerByte = 4096
	// minImageBudget is the smallest byte budget an image gets when many
	// share the request's image budget.
	minImageBudget = 24_000
	// minImageSide is where scaling down stops: smaller is no longer an
	// image the model can read.
	minImageSide = 64
)

// jpegQualities are the JPEG qualities kirobar encodes at, best first, with
// the size each gives relative to the first (measured on screenshots): 85
// keeps screenshot text crisp, the last trades sharpness for size.
var jpegQualities = []struct {
	q     int
	ratio float64
}{{85, 1}, {72, 0.75}, {60, 0.6}, {45, 0.48}}

// imageBudgets returns the byte budget of each image: at most MaxImageBytes
// each and, when maxPayload limits the request, together at most half of
// it in base64, so a screenshot never pushes the conversation over the
// size limit. Images of earlier turns get a fixed share each (an eighth),
// so their budget, and with it the cached scaled copy, stays the same from
// turn to turn; the current turn's images share the rest, smallest first:
// an image below its share keeps its size and leaves the rest to others.
func imageBudgets(sizes []int, current []bool, maxPayload int) []int {
	budgets := make([]int, len(sizes))
	if maxPayload <= 0 {
		for i := range budgets {
			budgets[i] = MaxImageBytes
		}
		return budgets
	}
	total := maxPayload / 2 * 3 / 4 // base64 characters to encoded bytes
	left := total
	var order []int
	for i := range sizes {
		if current[i] {
			order = append(order, i)
			continue
		}
		budgets[i] = max(minImageBudget, min(MaxImageBytes, total/8))
		left -= min(budgets[i], sizes[i])
	}
	sort.SliceStable(order, func(a, b int) bool { return sizes[order[a]] < sizes[order[b]] })
	for k, i := range order {
		share := max(minImageBudget, min(MaxImageBytes, left/(len(order)-k)))
		budgets[i] = share
		left -= min(share, sizes[i])
	}
	return budgets
}

// fitImages checks every image still sent and scales down those over
// Kiro's limits or their share of the request's budget, one image at a time
// so only one is ever decoded. It returns a note per image it changed, for
// the flow record. Its errors describe the client's image and are safe to
// return as invalid_request_error.
func fitImages(turns []turn, maxPayload int, cache *ImageCache) ([]string, error) {
	var refs []*picture
	var current []bool
	for i := range turns {
		for j := range turns[i].images {
			refs = append(refs, &turns[i].images[j])
			current = append(current, i == len(turns)-1)
		}
	}
	if len(refs) == 0 {
		return nil, nil
	}
	sizes := make([]int, len(refs))
	for i, img := range refs {
		sizes[i] = base64.StdEncoding.DecodedLen(len(img.data))
	}
	budgets := imageBudgets(sizes, current, maxPayload)
	var notes []string
	for i, img := range refs {
		note, err := fitImage(img, budgets[i], cache)
		if err != nil {
			return nil, fmt.Errorf("messages.%d.content.%d: %w", img.msg, img.block, err)
		}
		if note != "" {
			notes = append(notes, fmt.Sprintf("messages.%d.content.%d: %s", img.msg, img.block, note))
		}
	}
	return notes, nil
}

// imageInfo is what the header of an image says.
type imageInfo struct {
	format        string // jpeg | png | gif | webp
	width, height int
	size          int // decoded bytes
}

// inspectImage validates the base64 data and reads the image header
// without decoding the pixels.
func inspectImage(data string) (imageInfo, error) {
	var info imageInfo
	counter := &countingReader{r: base64.NewDecoder(base64.StdEncoding, strings.NewReader(data))}
	br := bufio.NewReaderSize(counter, 512)
	head, err := br.Peek(12)
	if err != nil && len(head) == 0 {
		return info, imageDataError(err)
	}
	info.format = rules.ImageFormat(head)
	if info.format == "" {
		return info, errors.New("image data is not a JPEG, PNG, GIF or WebP image")
	}
	cfg, err := rules.ImageConfig(info.format, br)
	if err != nil {
		return info, fmt.Errorf("image data is not a valid %s image: %s", info.format, clipErr(err))
	}
	if _, err := io.Copy(io.Discard, br); err != nil {
		return info, imageDataError(err)
	}
	info.width, info.height, info.size = cfg.Width, cfg.Height, counter.n
	if info.width <= 0 || info.height <= 0 {
		return info, fmt.Errorf("image has no pixels (%d×%d)", info.width, info.height)
	}
	pixels := int64(info.width) * int64(info.height)
	if pixels > maxImagePixels {
		return info, fmt.Errorf("image is %d×%d pixels; kirobar scales images down for Kiro but decodes at most %d megapixels", info.width, info.height, maxImagePixels/1_000_000)
	}
	if pixels > int64(info.size)*maxPixelsPerByte {
		return info, fmt.Errorf("image data is incomplete: the header says %d×%d pixels but the image has only %d bytes", info.width, info.height, info.size)
	}
	return info, nil
}

func imageDataError(err error) error {
	var corrupt base64.CorruptInputError
	if errors.As(err, &corrupt) {
		return fmt.Errorf("image data is not valid base64 (at byte %d)", int64(corrupt))
	}
	return fmt.Errorf("image data is incomplete: %s", clipErr(err))
}

// clipErr keeps decoder messages short: they end up in a client's error.
func clipErr(err error) string {
	s := err.Error()
	if len(s) > 120 {
		s = s[:120] + "…"
	}
	return s
}

type countingReader struct {
	r io.Reader
	n int
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}

func decodeImage(format string, r io.Reader) (image.Image, error) {
	switch format {
	case "png":
		return png.Decode(r)
	case "jpeg":
		return jpeg.Decode(r)
	case "gif":
		return gif.Decode(r) // the first frame of an animation
	default:
		return webp.Decode(r)
	}
}

// fitImage keeps an image within Kiro's limits and budget bytes, or
// replaces it with a scaled-down copy, from cache when it was scaled
// before (cache may be nil). It sets the format the bytes really have,
// whatever media type the client declared.
func fitImage(img *picture, budget int, cache *ImageCache) (string, error) {
	info, err := inspectImage(img.data)
	if err != nil {
		return "", err
	}
	declared := img.format
	img.format = info.format
	long := max(info.width, info.height)
	if long <= MaxImageSide && info.size <= budget {
		if declared != info.format {
			return "declared " + declared + " but the data is " + info.format + "; sent as " + info.format, nil
		}
		return "", nil
	}
	key := imageKey{sum: hashString(img.data), budget: budget}
	if e, ok := cache.get(key); ok {
		img.format, img.data = e.format, e.data
		return e.note, nil
	}
	src, err := decodeImage(info.format, base64.NewDecoder(base64.StdEncoding, strings.NewReader(img.data)))
	if err != nil {
		return "", fmt.Errorf("image data is not a valid %s image: %s", info.format, clipErr(err))
	}
	out, err := shrink(src, info.format, info.size, budget)
	if err != nil {
		return "", err
	}
	img.data, img.format = base64.StdEncoding.EncodeToString(out.data), out.format
	note := fmt.Sprintf("image scaled down from %s %d×%d (%s) to %s %d×%d (%s) to fit Kiro's limits (%d px, %s)",
		info.format, info.width, info.height, byteSize(info.size),
		out.format, out.width, out.height, byteSize(len(out.data)), MaxImageSide, byteSize(budget))
	cache.put(&cachedImage{key: key, format: img.format, data: img.data, note: note})
	return note, nil
}

// encoded is a re-encoded image.
type encoded struct {
	format        string
	width, height int
	data          []byte
}

// shrink scales src to MaxImageSide and re-encodes it within budget bytes
// (srcBytes is the size it came in): PNG first for lossless sources when it
// can fit (screenshots keep their text sharp), then JPEG at falling
// quality, then smaller sizes, each from the first scaled copy.
// Transparency is flattened onto white, as JPEG cannot carry it.
func shrink(src image.Image, format string, srcBytes, budget int) (encoded, error) {
	b := src.Bounds()
	w, h := scaleTo(b.Dx(), b.Dy(), MaxImageSide)
	base := scaleDown(src, w, h)
	// PNG is worth a try when the source's bytes per pixel would fit;
	// scaled-down images compress worse per pixel, not better.
	lossless := format != "jpeg" && int64(srcBytes)*int64(w*h)/int64(b.Dx()*b.Dy()) <= int64(budget)
	src = nil // only the scaled copy is needed from here on
	var buf bytes.Buffer
	cur := image.Image(base)
	for {
		cw, ch := cur.Bounds().Dx(), cur.Bounds().Dy()
		if lossless {
			buf.Reset()
			if err := png.Encode(&buf, cur); err != nil {
				return encoded{}, fmt.Errorf("re-encode image: %w", err)
			}
			if buf.Len() <= budget {
				return encoded{format: "png", width: cw, height: ch, data: bytes.Clone(buf.Bytes())}, nil
			}
		}
		size, data, err := fitJPEG(&buf, cur, budget, max(cw, ch) <= minImageSide)
		if err != nil {
			return encoded{}, err
		}
		if data != nil {
			return encoded{format: "jpeg", width: cw, height: ch, data: data}, nil
		}
		// Too large at every quality: aim the next size at the budget at
		// quality 60, JPEG size being about proportional to the pixels.
		f := math.Sqrt(float64(budget) / (float64(size) * jpegQualities[2].ratio))
		side := int(float64(max(cw, ch)) * min(0.8, f*0.95))
		nw, nh := scaleTo(cw, ch, max(minImageSide, side))
		small := image.NewRGBA(image.Rect(0, 0, nw, nh))
		draw.ApproxBiLinear.Scale(small, small.Bounds(), base, base.Bounds(), draw.Src, nil)
		cur = small
	}
}

// fitJPEG encodes img as JPEG at the best quality that fits budget and
// returns the bytes, or nil and the size at the best quality when none is
// expected to fit; last accepts the smallest quality whatever its size.
// It skips the qualities its first try shows cannot fit, so an image is
// encoded a few times at most.
func fitJPEG(buf *bytes.Buffer, img image.Image, budget int, last bool) (int, []byte, error) {
	first := 0
	for i, jq := range jpegQualities {
		if i > 0 && float64(first)*jq.ratio > float64(budget)*1.1 && !(last && i == len(jpegQualities)-1) {
			continue // this quality will not fit either
		}
		buf.Reset()
		if err := jpeg.Encode(buf, img, &jpeg.Options{Quality: jq.q}); err != nil {
			return 0, nil, fmt.Errorf("re-encode image: %w", err)
		}
		if i == 0 {
			first = buf.Len()
		}
		if buf.Len() <= budget || last && i == len(jpegQualities)-1 {
			return buf.Len(), bytes.Clone(buf.Bytes()), nil
		}
	}
	return first, nil, nil
}

// maxKernelBuffer bounds the float buffer CatmullRom needs (target width ×
// source height × 32 bytes); beyond it the cheaper filter is used.
const maxKernelBuffer = 64 << 20

// scaleDown returns src scaled to w×h on white. Sources of at least twice
// the target are first halved with ApproxBiLinear, which at 2:1 averages
// each 2×2 block like a mipmap and needs no buffer. The last step uses
// CatmullRom, the sharper filter for text, when its buffer stays under
// maxKernelBuffer (a 1920×1080 screenshot), else ApproxBiLinear (a Retina
// screenshot, whose text stays legible at its ratio below 2).
func scaleDown(src image.Image, w, h int) *image.RGBA {
	for {
		b := src.Bounds()
		if b.Dx() < 2*w || b.Dy() < 2*h {
			break
		}
		half := image.NewRGBA(image.Rect(0, 0, b.Dx()/2, b.Dy()/2))
		draw.ApproxBiLinear.Scale(half, half.Bounds(), src, b, draw.Src, nil)
		src = half
	}
	dst := image.NewRGBA(image.Rect(0, 0, w, h))
	draw.Draw(dst, dst.Bounds(), image.NewUniform(color.White), image.Point{}, draw.Src)
	var scaler draw.Scaler = draw.ApproxBiLinear
	if int64(w)*int64(src.Bounds().Dy())*32 <= maxKernelBuffer {
		scaler = draw.CatmullRom
	}
	scaler.Scale(dst, dst.Bounds(), src, src.Bounds(), draw.Over, nil)
	return dst
}

// scaleTo returns w×h scaled so the long side is at most side, keeping the
// aspect ratio and at least one pixel on each side.
func scaleTo(w, h, side int) (int, int) {
	long := max(w, h)
	if long <= side {
		return w, h
	}
	return max(1, int(int64(w)*int64(side)/int64(long))), max(1, int(int64(h)*int64(side)/int64(long)))
}

// byteSize formats n for a note: 2.4 MB, 212 KB, 900 B.
func byteSize(n int) string {
	switch {
	case n >= 1_000_000:
		return strconv.FormatFloat(float64(n)/1_000_000, 'f', 1, 64) + " MB"
	case n >= 1_000:
		return strconv.Itoa(n/1_000) + " KB"
	}
	return strconv.Itoa(n) + " B"
}
