package flows

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"
)

// FuzzDetailsLine feeds arbitrary bodies through redaction and encoding and
// checks the line is one valid JSON object with its id, within the caps,
// and free of every known secret.
func FuzzDetailsLine(f *testing.F) {
	secrets := []string{"kb-live-123456", "12345678", "aoaSECRETtoken"}
	f.Add([]byte(`{"messages":[{"role":"user","content":"kb-live-123456"}],"max_tokens":12345678}`), "Bearer aoaSECRETtoken")
	f.Add([]byte(`{"type":"image","source":{"type":"base64","media_type":"image/png","data":"iVBORw0KGgo="}}`), "x-api-key")
	f.Add([]byte("event: message_start\ndata: {\"accessToken\":\"aoaSECRETtoken\"}\n\n"), "")
	f.Add([]byte(`{"kb-live-123456":"v","n":[1,2,{"refresh_token":"r"}]}`), "refresh_token=abc&key=kb-live-123456")
	f.Add([]byte("\xff\xfe\x00not json"), "aoaSECRET\\u0074oken")
	f.Fuzz(func(t *testing.T, body []byte, text string) {
		rd := newRedactor(secrets)
		const limit = 4096
		fl := &Flow{
			ID:              "fuzz",
			Time:            time.Unix(0, 0),
			Headers:         map[string]string{"Authorization": text, "X-Text": text},
			ClientRequest:   body,
			Response:        []byte(text),
			UpstreamEvents:  []Event{{Type: text, Payload: body}},
			Capture:         &Capture{Kind: CaptureDecode, Bytes: body, Note: text},
			UpstreamRequest: body,
		}
		built := buildDetails("fuzz", fl, rd, limit, &scratch{})
		line, err := appendDetailsLine(nil, &built, rd)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.HasSuffix(line, []byte("\n")) || bytes.Count(line, []byte("\n")) != 1 {
			t.Fatalf("not one line: %q", line)
		}
		var d Details
		if err := json.Unmarshal(line, &d); err != nil {
			t.Fatalf("invalid JSON line %q: %v", line, err)
		}
		if d.ID != "fuzz" {
			t.Fatalf("id = %q", d.ID)
		}
		for _, s := range secrets {
			if bytes.Contains(line, []byte(s)) {
				t.Fatalf("secret %q in %q", s, line)
			}
		}
		if b := d.ClientRequest; b != nil && len(b.JSON)+len(b.Text) > limit {
			t.Fatalf("body of %d bytes kept over the %d cap", len(b.JSON)+len(b.Text), limit)
		}
	})
}
