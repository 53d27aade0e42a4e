package cli

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"
	"strings"

	"github.com/pelletier/go-toml/v2"
)

// fileChange is an edit of one client's config file by `kirobar setup
// --write`.
type fileChange struct {
	path string
	// edit returns the file's new content and one line per change. It
	// fails, and nothing is written, when the file cannot be changed
	// without touching what kirobar does not own.
	edit func(old []byte) (updated []byte, changes []string, err error)
	// secret marks a file that holds the client key once written: it is
	// kept 0600.
	secret bool
}

// writeChange shows ch, asks when a person is at the terminal (unless
// yes), keeps a backup of the old file beside it and writes the new one
// atomically.
func writeChange(ch fileChange, yes bool, env Env, out, errw io.Writer) int {
	fail := func(err error) int {
		fmt.Fprintln(errw, "kirobar setup:", err)
		return ExitFailure
	}
	old, err := os.ReadFile(ch.path)
	exists := err == nil
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fail(fmt.Errorf("read %s: %w", ch.path, err))
	}
	updated, changes, err := ch.edit(old)
	if err != nil {
		return fail(fmt.Errorf("%s: %w; nothing was written", ch.path, err))
	}
	if exists && bytes.Equal(old, updated) {
		fmt.Fprintf(out, "%s already points at kirobar; nothing to change.\n", ch.path)
		return ExitOK
	}
	verb := "change"
	if !exists {
		verb = "create"
	}
	fmt.Fprintf(out, "kirobar setup will %s %s:\n", verb, ch.path)
	for _, c := range changes {
		fmt.Fprintf(out, "  %s\n", c)
	}
	if env.Interactive && !yes {
		ok, err := confirm(env.Stdin, out, "Write it? [y/N] ")
		if err != nil {
			return fail(err)
		}
		if !ok {
			fmt.Fprintln(out, "Left unchanged.")
			return ExitOK
		}
	}
	mode := fs.FileMode(0o600)
	backup := ""
	if exists {
		if st, err := os.Stat(ch.path); err == nil && !ch.secret {
			mode = st.Mode().Perm()
		}
		if backup, err = writeBackup(ch.path, old, env); err != nil {
			return fail(err)
		}
	}
	if err := writeAtomic(ch.path, updated, mode); err != nil {
		return fail(err)
	}
	if backup != "" {
		fmt.Fprintf(out, "Wrote %s (the old one is %s).\n", ch.path, backup)
	} else {
		fmt.Fprintf(out, "Wrote %s.\n", ch.path)
	}
	return ExitOK
}

// writeBackup keeps old beside path as path.kirobar-backup-TIME, 0600 since
// it may hold keys of its own, and never over an earlier backup.
func writeBackup(path string, old []byte, env Env) (string, error) {
	stamp := env.Now().Format("20060102-150405")
	for i := 0; ; i++ {
		name := path + ".kirobar-backup-" + stamp
		if i > 0 {
			name += "-" + strconv.Itoa(i)
		}
		f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		if err != nil {
			return "", fmt.Errorf("back up %s: %w", path, err)
		}
		if _, err := f.Write(old); err != nil {
			f.Close()
			return "", fmt.Errorf("back up %s: %w", path, err)
		}
		if err := f.Close(); err != nil {
			return "", fmt.Errorf("back up %s: %w", path, err)
		}
		return name, nil
	}
}

// writeAtomic writes data to path through a temporary file in the same
// directory and a rename, so a reader sees the old file or the new one,
// never half of one.
func writeAtomic(path string, data []byte, mode fs.FileMode) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("create %s: %w", dir, err)
	}
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer os.Remove(tmp.Name()) // after the rename there is nothing to remove
	if err := tmp.Chmod(mode); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// maskKey shows enough of a client key to recognise it.
func maskKey(k string) string {
	if len(k) <= 8 {
		return "…"
	}
	return k[:6] + "…"
}

// claudeSettingsChange sets ANTHROPIC_BASE_URL and the key in the "env"
// object of Claude Code's settings.json. The key goes into
// ANTHROPIC_AUTH_TOKEN (sent as Authorization: Bearer, which kirobar
// accepts, and which Claude Code uses without asking to approve a custom
// API key), or into ANTHROPIC_API_KEY where the file already sets that
// one, so the two never disagree.
func claudeSettingsChange(t Target, base string) fileChange {
	path := filepath.Join(t.ClaudeDir, "settings.json")
	return fileChange{path: path, secret: true, edit: func(old []byte) ([]byte, []string, error) {
		top, err := decodeObject(old)
		if err != nil {
			return nil, nil, fmt.Errorf("not a JSON object (%w); fix or move it, then run this again", err)
		}
		var envObj []member
		if raw, ok := get(top, "env"); ok {
			if envObj, err = decodeObject(raw); err != nil {
				return nil, nil, fmt.Errorf(`"env" is not an object of variables (%w)`, err)
			}
		}
		want := []member{{key: "ANTHROPIC_BASE_URL", val: jsonString(base)}}
		_, hasAPIKey := get(envObj, "ANTHROPIC_API_KEY")
		_, hasToken := get(envObj, "ANTHROPIC_AUTH_TOKEN")
		if hasAPIKey {
			want = append(want, member{key: "ANTHROPIC_API_KEY", val: jsonString(t.Key)})
		}
		if hasToken || !hasAPIKey {
			want = append(want, member{key: "ANTHROPIC_AUTH_TOKEN", val: jsonString(t.Key)})
		}
		var changes []string
		for _, w := range want {
			prev, ok := get(envObj, w.key)
			if ok && bytes.Equal(bytes.TrimSpace(prev), w.val) {
				continue
			}
			shown := base
			if w.key != "ANTHROPIC_BASE_URL" {
				shown = maskKey(t.Key) + " (your client key)"
			}
			if ok {
				changes = append(changes, fmt.Sprintf("env.%s: %s (was set to something else)", w.key, shown))
			} else {
				changes = append(changes, fmt.Sprintf("env.%s: %s (new)", w.key, shown))
			}
			envObj = set(envObj, w.key, w.val)
		}
		top = set(top, "env", encodeObject(envObj, "  "))
		return append(encodeObject(top, ""), '\n'), changes, nil
	}}
}

// member is one key of a JSON object, its value as written.
type member struct {
	key string
	val json.RawMessage
}

// decodeObject reads a JSON object keeping its keys in order; empty input
// is an empty object.
func decodeObject(data []byte) ([]member, error) {
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, nil
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, errors.New("it does not start with {")
	}
	var out []member
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		key, _ := tok.(string)
		var val json.RawMessage
		if err := dec.Decode(&val); err != nil {
			return nil, err
		}
		out = set(out, key, val)
	}
	if _, err := dec.Token(); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("more follows the object")
	}
	return out, nil
}

// encodeObject writes members as an indented object; prefix is the
// indentation of the line the object starts on.
func encodeObject(ms []member, prefix string) []byte {
	if len(ms) == 0 {
		return []byte("{}")
	}
	var b bytes.Buffer
	b.WriteString("{\n")
	for i, m := range ms {
		b.WriteString(prefix + "  ")
		b.Write(jsonString(m.key))
		b.WriteString(": ")
		var v bytes.Buffer
		if err := json.Indent(&v, m.val, prefix+"  ", "  "); err != nil {
			b.Write(m.val) // came from the decoder: valid; kept as written
		} else {
			b.Write(v.Bytes())
		}
		if i < len(ms)-1 {
			b.WriteString(",")
		}
		b.WriteString("\n")
	}
	b.WriteString(prefix + "}")
	return b.Bytes()
}

func get(ms []member, key string) (json.RawMessage, bool) {
	for _, m := range ms {
		if m.key == key {
			return m.val, true
		}
	}
	return nil, false
}

// set replaces key's value in place, or adds it at the end.
func set(ms []member, key string, val json.RawMessage) []member {
	for i := range ms {
		if ms[i].key == key {
			ms[i].val = val
			return ms
		}
	}
	return append(ms, member{key: key, val: val})
}

func jsonString(s string) json.RawMessage {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s) // a string always encodes
	return bytes.TrimRight(b.Bytes(), "\n")
}

// codexRootLine makes kirobar Codex's provider. No model is set: Codex's
// own default model works through kirobar, code mode included.
const codexRootLine = `model_provider = "kirobar"`

// codexBlock is the provider table Codex reads; the key comes from the
// environment variable env_key names, so the file holds no secret.
func codexBlock(base string) string {
	return "[model_providers.kirobar]\n" +
		"name = \"kirobar\"\n" +
		"base_url = " + strconv.Quote(base+"/v1") + "\n" +
		"env_key = \"KIROBAR_KEY\"\n" +
		"wire_api = \"responses\"\n"
}

// tomlHeader matches a table header line and captures its key.
var tomlHeader = regexp.MustCompile(`^\s*\[\[?\s*([^\[\]#]+?)\s*\]\]?\s*(#.*)?$`)

// tomlKeyPath normalises a dotted TOML key: whitespace and quotes around
// the parts go.
func tomlKeyPath(k string) string {
	parts := strings.Split(k, ".")
	for i, p := range parts {
		parts[i] = strings.Trim(strings.TrimSpace(p), `"'`)
	}
	return strings.Join(parts, ".")
}

// codexConfigChange adds or replaces the [model_providers.kirobar] table of
// Codex's config.toml and sets model_provider = "kirobar" when the file
// names no provider. Every other line stays as it was; the result is
// parsed and compared with the original to prove it.
func codexConfigChange(t Target, base string) fileChange {
	path := filepath.Join(t.CodexDir, "config.toml")
	return fileChange{path: path, edit: func(old []byte) ([]byte, []string, error) {
		var before map[string]any
		if err := toml.Unmarshal(old, &before); err != nil {
			return nil, nil, fmt.Errorf("not valid TOML (%w); fix it, then run this again", err)
		}
		text := strings.ReplaceAll(string(old), "\r\n", "\n")
		lines := strings.SplitAfter(text, "\n")
		if len(lines) > 0 && lines[len(lines)-1] == "" {
			lines = lines[:len(lines)-1]
		}
		if n := len(lines); n > 0 && !strings.HasSuffix(lines[n-1], "\n") {
			lines[n-1] += "\n"
		}
		blockLines := strings.SplitAfter(strings.TrimSuffix(codexBlock(base), "\n"), "\n")
		blockLines[len(blockLines)-1] += "\n"
		var changes []string

		// The provider table: replaced where it is, else appended.
		start, end := -1, len(lines)
		for i, l := range lines {
			m := tomlHeader.FindStringSubmatch(strings.TrimRight(l, "\n"))
			if m == nil {
				continue
			}
			if start >= 0 {
				end = i
				break
			}
			if tomlKeyPath(m[1]) == "model_providers.kirobar" && !strings.Contains(l, "[[") {
				start = i
			}
		}
		if start >= 0 {
			for end > start+1 && isBlankOrComment(lines[end-1]) {
				end-- // comments above the next table belong to it
			}
			rest := lines[end:]
			edited := append(append([]string{}, lines[:start]...), blockLines...)
			if len(rest) > 0 && strings.TrimSpace(rest[0]) != "" {
				edited = append(edited, "\n")
			}
			lines = append(edited, rest...)
			changes = append(changes, "[model_providers.kirobar]: replaced with base_url = "+strconv.Quote(base+"/v1")+", env_key = \"KIROBAR_KEY\", wire_api = \"responses\"")
		} else {
			if len(lines) > 0 && strings.TrimSpace(lines[len(lines)-1]) != "" {
				lines = append(lines, "\n")
			}
			lines = append(lines, blockLines...)
			changes = append(changes, "[model_providers.kirobar]: added, base_url = "+strconv.Quote(base+"/v1")+", env_key = \"KIROBAR_KEY\", wire_api = \"responses\"")
		}

		// model_provider, in the root table, only where unset.
		var root []string
		if current, ok := before["model_provider"].(string); ok {
			if current != "kirobar" {
				changes = append(changes, fmt.Sprintf("model_provider stays %q: run `codex -c model_provider=kirobar`, or change that line to use kirobar by default", current))
			}
		} else {
			root = append(root, codexRootLine)
		}
		if len(root) > 0 {
			at := len(lines)
			for i, l := range lines {
				if tomlHeader.MatchString(strings.TrimRight(l, "\n")) {
					at = i
					break
				}
			}
			for at > 0 && strings.TrimSpace(lines[at-1]) == "" {
				at--
			}
			var insert []string // beside the other root keys
			for _, l := range root {
				insert = append(insert, l+"\n")
				changes = append(changes, l+": added")
			}
			if at == 0 {
				insert = append(insert, "\n") // alone above the first table
			}
			lines = append(lines[:at:at], append(insert, lines[at:]...)...)
		}

		updated := []byte(strings.Join(lines, ""))
		if err := sameApartFromKirobar(before, updated, base); err != nil {
			return nil, nil, err
		}
		return updated, changes, nil
	}}
}

func isBlankOrComment(l string) bool {
	s := strings.TrimSpace(l)
	return s == "" || strings.HasPrefix(s, "#")
}

// sameApartFromKirobar checks an edited Codex config: it parses, its
// kirobar provider is the one asked for, and everything else means what
// the original meant.
func sameApartFromKirobar(before map[string]any, updated []byte, base string) error {
	var after map[string]any
	if err := toml.Unmarshal(updated, &after); err != nil {
		return fmt.Errorf("it defines model_providers.kirobar in a form kirobar does not edit (%v); "+
			"replace that definition with the block `kirobar setup codex` prints", err)
	}
	providers, _ := after["model_providers"].(map[string]any)
	kb, _ := providers["kirobar"].(map[string]any)
	if kb["base_url"] != base+"/v1" || kb["env_key"] != "KIROBAR_KEY" || kb["wire_api"] != "responses" {
		return errors.New("the edited file does not read back as kirobar's provider; replace model_providers.kirobar by hand")
	}
	strip := func(m map[string]any) map[string]any {
		out := map[string]any{}
		for k, v := range m {
			out[k] = v
		}
		if p, ok := out["model_providers"].(map[string]any); ok {
			q := map[string]any{}
			for k, v := range p {
				if k != "kirobar" {
					q[k] = v
				}
			}
			out["model_providers"] = q
			if len(q) == 0 {
				delete(out, "model_providers")
			}
		}
		if _, had := before["model_provider"]; !had {
			delete(out, "model_provider")
		}
		return out
	}
	if !reflect.DeepEqual(strip(before), strip(after)) {
		return errors.New("editing it would change other settings; add the block `kirobar setup codex` prints by hand")
	}
	return nil
}
