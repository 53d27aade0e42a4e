package rules

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"image"
	"image/gif"
	"image/jpeg"
	"image/png"
	"io"
	"net/http"

	"golang.org/x/image/webp"
)

// Image limits of the service. An image of about 700 000 base64 characters
// is refused with CONTENT_LENGTH_EXCEEDS_THRESHOLD (kiro-protocol.md §11.8);
// Claude refuses images over 8000 pixels on a side, which Kiro reports with
// the reason IMAGE_DIMENSION_EXCEEDED (official ValidationExceptionReason:
// aws/amazon-q-developer-cli:
// crates/amzn-codewhisperer-streaming-client/src/types/_validation_exception_reason.rs).
const (
	DefaultMaxImageBase64 = 700_000
	DefaultMaxImageSide   = 8000
)

// Bodies of the image refusals. The reasons are the service's own; the
// message Kiro puts beside them is not recorded anywhere public, so these
// use its generic "Improperly formed request.".
const (
	BodyImageDimension   = `{"message":"Improperly formed request.","reason":"IMAGE_DIMENSION_EXCEEDED"}`
	BodyImageMismatch    = `{"message":"Improperly formed request.","reason":"IMAGE_MIME_MISMATCH"}`
	BodyImageUnsupported = `{"message":"Improperly formed request.","reason":"IMAGE_FORMAT_UNSUPPORTED"}`
)

func badRequest(body string, rule Rule) *Rejection {
	return &Rejection{Status: http.StatusBadRequest, Body: body, Rule: rule}
}

// checkImage: a known format, base64 bytes within the size limit, bytes
// that really are an image of the declared format, and dimensions within
// the limit.
func (c *Checker) checkImage(img Image) *Rejection {
	if !imageFormats[img.Format] || img.Source.Bytes == "" {
		return Improper(RuleImage)
	}
	if len(img.Source.Bytes) > c.lim.MaxImageBase64 {
		return badRequest(BodyInputTooLong, RuleImageTooLarge)
	}
	raw, err := base64.StdEncoding.DecodeString(img.Source.Bytes)
	if err != nil {
		return Improper(RuleImage)
	}
	format := ImageFormat(raw)
	if format == "" {
		return badRequest(BodyImageUnsupported, RuleImageUnreadable)
	}
	if format != img.Format {
		return badRequest(BodyImageMismatch, RuleImageMismatch)
	}
	cfg, err := ImageConfig(format, bytes.NewReader(raw))
	if err != nil || cfg.Width <= 0 || cfg.Height <= 0 {
		return badRequest(BodyImageUnsupported, RuleImageUnreadable)
	}
	if max(cfg.Width, cfg.Height) > c.lim.MaxImageSide {
		return badRequest(BodyImageDimension, RuleImageDimensions)
	}
	return nil
}

// ImageFormat names the format of image bytes by their signature: jpeg,
// png, gif, webp, or "" for none of the formats Kiro accepts.
func ImageFormat(b []byte) string {
	switch {
	case bytes.HasPrefix(b, []byte("\x89PNG\r\n\x1a\n")):
		return "png"
	case bytes.HasPrefix(b, []byte("\xff\xd8\xff")):
		return "jpeg"
	case bytes.HasPrefix(b, []byte("GIF87a")), bytes.HasPrefix(b, []byte("GIF89a")):
		return "gif"
	case len(b) >= 12 && bytes.HasPrefix(b, []byte("RIFF")) && string(b[8:12]) == "WEBP":
		return "webp"
	}
	return ""
}

// ImageConfig reads the dimensions from the header of an image of format
// (as ImageFormat names it) without decoding its pixels.
func ImageConfig(format string, r io.Reader) (image.Config, error) {
	switch format {
	case "png":
		return png.DecodeConfig(r)
	case "jpeg":
		return jpeg.DecodeConfig(r)
	case "gif":
		return gif.DecodeConfig(r)
	case "webp":
		return webp.DecodeConfig(r)
	}
	return image.Config{}, fmt.Errorf("unknown image format %q", format)
}
