package autostart

import (
	"bytes"
	"encoding/xml"
	"strings"
)

// launchAgentLabel is the launchd label of e: reverse-DNS style, "app.<ID>".
func launchAgentLabel(e Entry) string { return "app." + e.ID }

func xmlText(s string) string {
	var b bytes.Buffer
	// EscapeText only fails when the writer does; a bytes.Buffer does not.
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}

// launchAgentPlist renders a LaunchAgent that runs e once at login. launchd
// takes ProgramArguments as an argv array, so paths need no shell quoting,
// only XML escaping.
func launchAgentPlist(e Entry) string {
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0">
<dict>
	<key>Label</key>
	<string>` + xmlText(launchAgentLabel(e)) + `</string>
	<key>ProgramArguments</key>
	<array>
`)
	for _, a := range append([]string{e.Exec}, e.Args...) {
		b.WriteString("\t\t<string>" + xmlText(a) + "</string>\n")
	}
	b.WriteString(`	</array>
	<key>RunAtLoad</key>
	<true/>
	<key>ProcessType</key>
	<string>Interactive</string>
</dict>
</plist>
`)
	return b.String()
}
