package autostart

import (
	"errors"
	"fmt"
	"strings"
)

// desktopReserved are the characters that force an Exec argument into
// double quotes (Desktop Entry Specification, "The Exec key").
const desktopReserved = " \t\n\"'\\><~|&;$*?#()`"

// desktopQuoteArg quotes one Exec argument: inside double quotes, '"', '`',
// '$' and '\' take a backslash; '%' is doubled because it starts a field
// code everywhere in Exec.
func desktopQuoteArg(a string) string {
	a = strings.ReplaceAll(a, "%", "%%")
	if a != "" && !strings.ContainsAny(a, desktopReserved) {
		return a
	}
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(a); i++ { // bytes, not runes: keep any path byte for byte
		if strings.IndexByte("\"`$\\", a[i]) >= 0 {
			b.WriteByte('\\')
		}
		b.WriteByte(a[i])
	}
	b.WriteByte('"')
	return b.String()
}

// desktopEscapeValue applies the string-value escapes of a .desktop file,
// which are undone before the Exec quoting is parsed: so a backslash of the
// quoting is written as "\\".
func desktopEscapeValue(v string) string {
	r := strings.NewReplacer("\\", `\\`, "\n", `\n`, "\t", `\t`, "\r", `\r`)
	return r.Replace(v)
}

func desktopUnescapeValue(v string) (string, error) {
	var b strings.Builder
	for i := 0; i < len(v); i++ {
		if v[i] != '\\' {
			b.WriteByte(v[i])
			continue
		}
		i++
		if i == len(v) {
			return "", errors.New("value ends in a lone backslash")
		}
		switch v[i] {
		case '\\':
			b.WriteByte('\\')
		case 'n':
			b.WriteByte('\n')
		case 't':
			b.WriteByte('\t')
		case 'r':
			b.WriteByte('\r')
		case 's':
			b.WriteByte(' ')
		default:
			return "", fmt.Errorf("unknown escape \\%c", v[i])
		}
	}
	return b.String(), nil
}

// desktopExec builds the Exec value (already escaped for the file).
func desktopExec(exec string, args []string) string {
	parts := []string{desktopQuoteArg(exec)}
	for _, a := range args {
		parts = append(parts, desktopQuoteArg(a))
	}
	return desktopEscapeValue(strings.Join(parts, " "))
}

// parseDesktopExec splits an Exec value from a file back into arguments, as
// a desktop's launcher would.
func parseDesktopExec(v string) ([]string, error) {
	s, err := desktopUnescapeValue(v)
	if err != nil {
		return nil, err
	}
	var args []string
	var cur strings.Builder
	inArg, quoted := false, false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case quoted && c == '\\':
			i++
			if i == len(s) || !strings.ContainsRune("\"`$\\", rune(s[i])) {
				return nil, fmt.Errorf("bad backslash in quoted argument of %q", s)
			}
			cur.WriteByte(s[i])
		case quoted && c == '"':
			quoted = false
		case c == '%':
			i++
			if i == len(s) || s[i] != '%' {
				return nil, fmt.Errorf("field code in %q", s)
			}
			cur.WriteByte('%')
			inArg = true
		case quoted:
			cur.WriteByte(c)
		case c == '"':
			quoted, inArg = true, true
		case c == ' ':
			if inArg {
				args = append(args, cur.String())
				cur.Reset()
				inArg = false
			}
		case strings.IndexByte(desktopReserved, c) >= 0:
			return nil, fmt.Errorf("unquoted reserved character %q in %q", c, s)
		default:
			cur.WriteByte(c)
			inArg = true
		}
	}
	if quoted {
		return nil, fmt.Errorf("unterminated quote in %q", s)
	}
	if inArg {
		args = append(args, cur.String())
	}
	return args, nil
}

// desktopFile renders the autostart entry.
func desktopFile(e Entry) string {
	return strings.Join([]string{
		"[Desktop Entry]",
		"Type=Application",
		"Name=" + desktopEscapeValue(e.name()),
		"Comment=" + desktopEscapeValue("Local Anthropic- and OpenAI-compatible proxy for Kiro accounts"),
		"Exec=" + desktopExec(e.Exec, e.Args),
		"Terminal=false",
		"X-GNOME-Autostart-enabled=true",
		"",
	}, "\n")
}

// desktopActive reports whether a .desktop file's [Desktop Entry] group
// leaves the entry active: desktops skip entries with Hidden=true or
// X-GNOME-Autostart-enabled=false.
func desktopActive(content string) bool {
	inEntry := false
	for _, line := range strings.Split(content, "\n") {
		line = strings.TrimSpace(line)
		if strings.HasPrefix(line, "[") {
			inEntry = line == "[Desktop Entry]"
			continue
		}
		if !inEntry {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			continue
		}
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		if (k == "Hidden" && v == "true") || (k == "X-GNOME-Autostart-enabled" && v == "false") {
			return false
		}
	}
	return true
}
