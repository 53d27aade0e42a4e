package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"

	"github.com/kirobar/kirobar/internal/doctor"
)

const doctorUsage = `usage: kirobar doctor [--json] [--offline]

Checks why kirobar might not work: config, home directory and permissions, the
port, each account, DNS/TLS/HTTP reachability of Kiro through the configured
proxy, the clock, and an offline self-test of current clients' requests.
Exits 1 when a check fails.
`

// Doctor runs `kirobar doctor` on the machine denv describes. It reads the
// config and the database without starting anything, so it works whether
// or not kirobar runs.
func Doctor(ctx context.Context, denv doctor.Env, args []string, env Env) int {
	env = env.withDefaults()
	stdout, stderr := SafeWriter(env.Stdout), SafeWriter(env.Stderr)
	fs := newFlagSet("doctor", stderr)
	fs.Usage = func() { fmt.Fprint(stderr, doctorUsage) }
	asJSON := fs.Bool("json", false, "print JSON")
	offline := fs.Bool("offline", false, "skip the network and clock checks")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return ExitOK
		}
		return ExitUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprint(stderr, doctorUsage)
		return ExitUsage
	}
	denv.Offline = *offline
	rep := doctor.Run(ctx, denv)
	var err error
	if *asJSON {
		err = rep.WriteJSON(stdout)
	} else {
		err = rep.WriteText(stdout)
	}
	if err != nil {
		fmt.Fprintln(stderr, "kirobar doctor:", err)
		return ExitFailure
	}
	if !rep.OK {
		return ExitFailure
	}
	return ExitOK
}
