package cli

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
)

const setupUsage = `usage: kirobar setup claude|codex|env [--write [--yes]] [--shell sh|fish|powershell]

Prints what points a client at this kirobar, with your client key filled in:
  claude   Claude Code: ANTHROPIC_BASE_URL and the key
  codex    Codex CLI: the [model_providers.kirobar] block of ~/.codex/config.toml and KIROBAR_KEY
  env      every variable, for the Anthropic and OpenAI SDKs too

--write puts it into the client's own config instead: "env" of ~/.claude/settings.json
($CLAUDE_CONFIG_DIR), or ~/.codex/config.toml ($CODEX_HOME). It shows the change first,
asks before writing when run in a terminal (--yes skips the question), keeps a backup
beside the file and leaves every other setting as it was.
`

// Target is the kirobar a client is pointed at, and where the client keeps
// its configuration.
type Target struct {
	// Listen is the address kirobar listens on (server.listen).
	Listen string
	// Key is the client key to send (the first of server.api_keys).
	Key string
	// ClaudeDir is Claude Code's configuration directory: $CLAUDE_CONFIG_DIR,
	// else ~/.claude.
	ClaudeDir string
	// CodexDir is Codex's: $CODEX_HOME, else ~/.codex.
	CodexDir string
}

// DefaultTarget fills a Target's client directories the way the clients
// find them, from the environment and the user's home directory.
func DefaultTarget(listen, key string) Target {
	t := Target{Listen: listen, Key: key, ClaudeDir: os.Getenv("CLAUDE_CONFIG_DIR"), CodexDir: os.Getenv("CODEX_HOME")}
	home, err := os.UserHomeDir()
	if err != nil {
		home = "."
	}
	if t.ClaudeDir == "" {
		t.ClaudeDir = filepath.Join(home, ".claude")
	}
	if t.CodexDir == "" {
		t.CodexDir = filepath.Join(home, ".codex")
	}
	return t
}

// BaseURL is the Anthropic base URL of the kirobar at listen: a wildcard
// listen address is reached on loopback.
func BaseURL(listen string) string {
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return "http://" + listen
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, port)
}

// Setup runs `kirobar setup ARGS...` for t.
func Setup(args []string, t Target, env Env) int {
	env = env.withDefaults()
	out, errw := SafeWriter(env.Stdout), SafeWriter(env.Stderr)
	fail := func(err error) int {
		fmt.Fprintln(errw, "kirobar setup:", err)
		return ExitFailure
	}
	usage := func(msg string) int {
		fmt.Fprintf(errw, "kirobar setup: %s\n\n%s", msg, setupUsage)
		return ExitUsage
	}
	if len(args) == 0 {
		fmt.Fprint(errw, setupUsage)
		return ExitUsage
	}
	if helpArg(args) {
		fmt.Fprint(out, setupUsage)
		return ExitOK
	}
	fs := newFlagSet("setup "+args[0], errw)
	write := fs.Bool("write", false, "write the setup into the client's own config")
	yes := fs.Bool("yes", false, "with --write: write without asking")
	shell := fs.String("shell", defaultShell(), "syntax of the variables: sh, fish or powershell")
	rest, err := parseArgs(fs, args[1:])
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return ExitOK
		}
		return ExitUsage
	}
	if len(rest) > 0 {
		return usage(args[0] + " takes no arguments")
	}
	sh, ok := shells[*shell]
	if !ok {
		return usage(fmt.Sprintf("--shell %q: use sh, fish or powershell", *shell))
	}
	if t.Key == "" {
		return fail(errors.New("config.toml has no client key (server.api_keys); add one, or delete the line and restart kirobar to have one made"))
	}
	base := BaseURL(t.Listen)
	switch args[0] {
	case "claude":
		if *write {
			return writeChange(claudeSettingsChange(t, base), *yes, env, out, errw)
		}
		fmt.Fprint(out, ClaudeLines(base, t.Key, sh))
	case "codex":
		if *write {
			code := writeChange(codexConfigChange(t, base), *yes, env, out, errw)
			if code == ExitOK {
				fmt.Fprintf(out, "\nCodex reads the key from KIROBAR_KEY:\n%s", sh.set("KIROBAR_KEY", t.Key))
			}
			return code
		}
		fmt.Fprint(out, CodexLines(base, t.Key, sh))
	case "env":
		if *write {
			return usage("env has no config file to write; use `kirobar setup claude --write` or `kirobar setup codex --write`")
		}
		fmt.Fprint(out, EnvLines(base, t.Key, sh))
	default:
		return usage(fmt.Sprintf("unknown client %q", args[0]))
	}
	return ExitOK
}

// shell writes environment variable assignments in one shell's syntax.
type shell struct {
	set func(name, value string) string
}

var shells = map[string]shell{
	"sh":         {set: func(n, v string) string { return "export " + n + "=" + shQuote(v) + "\n" }},
	"fish":       {set: func(n, v string) string { return "set -gx " + n + " " + shQuote(v) + "\n" }},
	"powershell": {set: func(n, v string) string { return "$env:" + n + " = " + strconv.Quote(v) + "\n" }},
}

// defaultShell is PowerShell on Windows and sh elsewhere.
func defaultShell() string {
	if runtime.GOOS == "windows" {
		return "powershell"
	}
	return "sh"
}

// shQuote quotes v for sh and fish only when it needs it; URLs and client
// keys do not.
func shQuote(v string) string {
	if v != "" && strings.IndexFunc(v, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_./:@%+=,", r))
	}) < 0 {
		return v
	}
	return "'" + strings.ReplaceAll(v, "'", `'\''`) + "'"
}

// ClaudeLines are the variables that point Claude Code at kirobar.
func ClaudeLines(base, key string, sh shell) string {
	return "# Claude Code: set these, then run claude (or keep them in ~/.claude/settings.json: kirobar setup claude --write)\n" +
		sh.set("ANTHROPIC_BASE_URL", base) + sh.set("ANTHROPIC_API_KEY", key)
}

// CodexLines are Codex's provider block and the variable it reads the key
// from.
func CodexLines(base, key string, sh shell) string {
	return "# Codex CLI: add this to ~/.codex/config.toml (kirobar setup codex --write does it)\n" +
		codexRootLine + "\n\n" + codexBlock(base) +
		"\n# and run codex with the key in KIROBAR_KEY:\n" + sh.set("KIROBAR_KEY", key)
}

// EnvLines are every variable a client or SDK reads.
func EnvLines(base, key string, sh shell) string {
	return "# Anthropic clients and SDKs (Claude Code)\n" +
		sh.set("ANTHROPIC_BASE_URL", base) + sh.set("ANTHROPIC_API_KEY", key) +
		"# OpenAI clients and SDKs\n" +
		sh.set("OPENAI_BASE_URL", base+"/v1") + sh.set("OPENAI_API_KEY", key) +
		"# Codex CLI (env_key of [model_providers.kirobar])\n" +
		sh.set("KIROBAR_KEY", key)
}

// StartBanner is what a kirobar started in a terminal prints once: where
// it serves and the exact lines that point Claude Code and Codex at it.
// It is written to the terminal only, never to the log file.
func StartBanner(listen, key string, accountsReady bool) string {
	base := BaseURL(listen)
	sh := shells[defaultShell()]
	var b strings.Builder
	fmt.Fprintf(&b, "\nkirobar is serving on %s\n\n", base)
	b.WriteString("Claude Code — in the terminal you run it from:\n")
	b.WriteString(indent(sh.set("ANTHROPIC_BASE_URL", base) + sh.set("ANTHROPIC_API_KEY", key) + "claude\n"))
	b.WriteString("Codex CLI — once `kirobar setup codex --write` added kirobar to ~/.codex/config.toml:\n")
	b.WriteString(indent(sh.set("KIROBAR_KEY", key) + "codex\n"))
	b.WriteString("Any time: `kirobar setup claude|codex|env` prints these; --write puts them in the client's config.\n")
	if !accountsReady {
		b.WriteString("\nNo Kiro account yet: run `kirobar accounts login` in another terminal.\n")
	}
	b.WriteString("\n")
	return b.String()
}

// StartNote is what a kirobar started without a terminal says instead: no
// key, since that output may well be kept in a journal.
func StartNote(listen string) string {
	return "kirobar is serving on " + BaseURL(listen) +
		"; `kirobar setup claude` (or codex, env) prints the lines that point a client at it, with your client key\n"
}

// FirstAccountNote is what a running kirobar says when its first account
// arrives.
func FirstAccountNote(label string) string {
	return "Kiro account " + Safe(label) + " added: kirobar can serve now. " +
		"Point Claude Code at it with the lines above, or `kirobar setup claude --write`; Codex with `kirobar setup codex --write`.\n"
}

func indent(s string) string {
	lines := strings.SplitAfter(s, "\n")
	var b strings.Builder
	for _, l := range lines {
		if l != "" {
			b.WriteString("  " + l)
		}
	}
	return b.String()
}

// confirm asks a yes/no question; anything but y or yes is no.
func confirm(in io.Reader, out io.Writer, question string) (bool, error) {
	br, ok := in.(*bufio.Reader)
	if !ok {
		br = bufio.NewReader(in)
	}
	answer, err := prompt(br, out, question)
	if err != nil {
		return false, err
	}
	answer = strings.ToLower(answer)
	return answer == "y" || answer == "yes", nil
}
