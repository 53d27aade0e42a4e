package flows

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
)

// BundleExtras are the sections of a diagnostic bundle that only the
// caller knows. Every section is redacted again before it is written.
type BundleExtras struct {
	// Version is kirobar's version string.
	Version string
	// Config is the loaded configuration; values of keys named like
	// credentials (token, secret, password, key) are removed.
	Config any
	// AccountStatus returns the status of the flow's account (health,
	// cooldown, token expiry), or nil when unknown.
	AccountStatus func(ctx context.Context, accountID string) (any, error)
	// Secrets are known secret values (tokens, client keys) scrubbed from
	// the whole archive.
	Secrets []string
}

// Bundle builds a zip archive about one flow for a bug report: the index
// row, its details, the account's status, the configuration and the
// version, all redacted.
func Bundle(ctx context.Context, s *Store, id string, extra BundleExtras, now time.Time) ([]byte, Row, error) {
	row, d, err := s.Get(ctx, id)
	if err != nil {
		return nil, Row{}, err
	}
	rd := newRedactor(extra.Secrets)
	sections := []section{{"flow.json", row}}
	if d.ID != "" {
		sections = append(sections, section{"details.json", d})
	}
	if extra.AccountStatus != nil && row.AccountID != "" {
		status, err := extra.AccountStatus(ctx, row.AccountID)
		if err != nil {
			status = map[string]string{"error": err.Error()}
		}
		sections = append(sections, section{"account.json", status})
	}
	if extra.Config != nil {
		sections = append(sections, section{"config.json", configSection{extra.Config}})
	}

	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	readme := fmt.Sprintf("kirobar diagnostic bundle\nflow: %s\ncreated: %s\nversion: %s\n\n"+
		"Credentials, tokens, client keys and images were removed. Check before sharing.\n",
		row.ID, now.UTC().Format(time.RFC3339), dash(extra.Version))
	if err := addFile(zw, "README.txt", []byte(rd.text(readme)), now); err != nil {
		return nil, Row{}, err
	}
	for _, sec := range sections {
		b, err := redactSection(sec.v, rd)
		if err != nil {
			return nil, Row{}, fmt.Errorf("bundle %s: %w", sec.name, err)
		}
		if err := addFile(zw, sec.name, b, now); err != nil {
			return nil, Row{}, err
		}
	}
	if err := zw.Close(); err != nil {
		return nil, Row{}, fmt.Errorf("bundle: %w", err)
	}
	return buf.Bytes(), row, nil
}

// dash stands in for an empty value in the bundle's README.
func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// section is one file of a bundle.
type section struct {
	name string
	v    any
}

// configSection marks a value redacted with the stricter config rules.
type configSection struct{ v any }

// redactSection encodes v as indented JSON after a redaction pass.
func redactSection(v any, rd *redactor) ([]byte, error) {
	strict := false
	if cs, ok := v.(configSection); ok {
		v, strict = cs.v, true
	}
	raw, err := marshalJSON(v)
	if err != nil {
		return nil, err
	}
	decoded, ok := decodeJSON(raw)
	if !ok {
		return nil, errors.New("section is not JSON")
	}
	if strict {
		decoded = redactConfig(decoded)
	}
	decoded = maskURLUserinfo(decoded)
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(rd.value(decoded)); err != nil {
		return nil, fmt.Errorf("encode section: %w", err)
	}
	out := buf.Bytes()
	if rd.leaks(out) && rd.replacer != nil {
		out = []byte(rd.replacer.Replace(string(out)))
	}
	return out, nil
}

// redactConfig removes the values of configuration keys that name
// credentials, including client keys ("key", "keys", "client_keys").
func redactConfig(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, val := range x {
			n := normalizeKey(k)
			if secretKey(k) || strings.HasSuffix(n, "key") || strings.HasSuffix(n, "keys") {
				x[k] = redactAll(val)
				continue
			}
			x[k] = redactConfig(val)
		}
		return x
	case []any:
		for i := range x {
			x[i] = redactConfig(x[i])
		}
		return x
	default:
		return v
	}
}

// redactAll replaces every string inside v; the shape (a list of keys, a
// table of named keys) stays visible.
func redactAll(v any) any {
	switch x := v.(type) {
	case string:
		if x == "" {
			return x
		}
		return redacted
	case json.Number:
		return redacted
	case []any:
		for i := range x {
			x[i] = redactAll(x[i])
		}
		return x
	case map[string]any:
		for k, val := range x {
			n := strings.ToLower(k)
			if n == "name" || n == "id" {
				continue
			}
			x[k] = redactAll(val)
		}
		return x
	default:
		return v
	}
}

// addFile adds one file to the archive.
func addFile(zw *zip.Writer, name string, b []byte, now time.Time) error {
	w, err := zw.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Deflate, Modified: now})
	if err != nil {
		return fmt.Errorf("bundle %s: %w", name, err)
	}
	if _, err := io.Copy(w, bytes.NewReader(b)); err != nil {
		return fmt.Errorf("bundle %s: %w", name, err)
	}
	return nil
}
