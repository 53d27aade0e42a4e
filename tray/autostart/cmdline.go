package autostart

import "strings"

// windowsCommandLine builds the Run value: the executable always in double
// quotes (its path may hold spaces, never a quote), the arguments quoted by
// the rules CommandLineToArgvW and the C runtime parse: backslashes are
// literal except before a quote, where each one must be doubled.
func windowsCommandLine(exec string, args []string) string {
	parts := []string{`"` + exec + `"`}
	for _, a := range args {
		parts = append(parts, windowsQuoteArg(a))
	}
	return strings.Join(parts, " ")
}

func windowsQuoteArg(a string) string {
	if a != "" && !strings.ContainsAny(a, " \t\n\v\"") {
		return a
	}
	var b strings.Builder
	b.WriteByte('"')
	slashes := 0
	for i := 0; i < len(a); i++ {
		c := a[i]
		switch c {
		case '\\':
			slashes++
		case '"':
			b.WriteString(strings.Repeat(`\`, slashes+1))
			slashes = 0
		default:
			slashes = 0
		}
		b.WriteByte(c)
	}
	b.WriteString(strings.Repeat(`\`, slashes))
	b.WriteByte('"')
	return b.String()
}
