package rules

import (
	"bytes"
	"encoding/base64"
	"image"
	"image/gif"
	"image/jpeg"
	"image/png"
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
	format := sniffImage(raw)
	if format == "" {
		return badRequest(BodyImageUnsupported, RuleImageUnreadable)
	}
	if format != img.Format {
		return badRequest(BodyImageMismatch, RuleImageMismatch)
	}
	var cfg image.Config
	r := bytes.NewReader(raw)
	switch format {
	case "png":
		cfg, err = png.DecodeConfig(r)
	case "jpeg":
		cfg, err = jpeg.DecodeConfig(r)
	case "gif":
		cfg, err = gif.DecodeConfig(r)
	default:
		cfg, err = webp.DecodeConfig(r)
	}
	if err != nil || cfg.Width <= 0 || cfg.Height <= 0 {
		return badRequest(BodyImageUnsupported, RuleImageUnreadable)
	}
	if max(cfg.Width, cfg.Height) > c.lim.MaxImageSide {
		return badRequest(BodyImageDimension, RuleImageDimensions)
	}
	return nil
}

// sniffImage names the format of image bytes by their signature.
func sniffImage(b []byte) string {
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
