package doctor

import (
	"errors"
	"fmt"
	homefiles "github.com/kirobar/kirobar/internal/home"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// checkConfig reports whether config.toml parses and what it changes.
func checkConfig(e Env) Result {
	r := Result{Name: "config"}
	switch {
	case e.ConfigErr != nil:
		r.Verdict, r.Detail = Fail, e.ConfigErr.Error()
		r.Fix = fmt.Sprintf("correct the key named above in %s (config.toml.example lists every key), or move the file away to start from the defaults", e.ConfigPath)
	case !e.ConfigExists:
		r.Verdict, r.Detail = OK, "no "+e.ConfigPath+" yet: the defaults apply (kirobar writes it on first start)"
	case len(e.Changed) == 0:
		r.Verdict, r.Detail = OK, e.ConfigPath+" parses; every key has its default"
	default:
		r.Verdict, r.Detail = OK, e.ConfigPath+" parses; differs from the defaults: "+strings.Join(e.Changed, ", ")
	}
	return r
}

// checkFiles checks the home directory exists, is writable and private.
func checkFiles(e Env) []Result {
	home := Result{Name: "home"}
	st, err := os.Stat(e.Home)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		home.Verdict, home.Detail = OK, e.Home+" does not exist yet (kirobar creates it on first start)"
		return []Result{home}
	case err != nil:
		home.Verdict, home.Detail = Fail, err.Error()
		home.Fix = "make " + e.Home + " readable by you, or point KIROBAR_HOME / --home elsewhere"
		return []Result{home}
	case !st.IsDir():
		home.Verdict, home.Detail = Fail, e.Home+" is not a directory"
		home.Fix = "move the file away or point KIROBAR_HOME / --home elsewhere"
		return []Result{home}
	}
	if err := writable(e.Home); err != nil {
		home.Verdict, home.Detail = Fail, "cannot write in "+e.Home+": "+err.Error()
		home.Fix = "give your user write access to " + e.Home + ", or point KIROBAR_HOME / --home elsewhere"
		return []Result{home}
	}
	home.Verdict, home.Detail = OK, e.Home+" exists and is writable"
	out := []Result{home}
	if e.GOOS == "windows" {
		return out
	}
	perm := Result{Name: "permissions", Verdict: OK, Detail: "home is 0700, secrets are 0600"}
	var loose []string
	var fixes []string
	if st.Mode().Perm()&0o077 != 0 {
		loose = append(loose, fmt.Sprintf("%s is %04o", e.Home, st.Mode().Perm()))
		fixes = append(fixes, "chmod 700 "+shellQuote(e.Home))
	}
	for _, name := range homefiles.PrivateFiles() {
		p := filepath.Join(e.Home, name)
		fst, err := os.Stat(p)
		if err != nil {
			continue
		}
		if fst.Mode().Perm()&0o077 != 0 {
			loose = append(loose, fmt.Sprintf("%s is %04o", name, fst.Mode().Perm()))
			fixes = append(fixes, "chmod 600 "+shellQuote(p))
		}
	}
	if len(loose) > 0 {
		perm.Verdict = Fail
		perm.Detail = "other users can read kirobar's tokens or client keys: " + strings.Join(loose, ", ")
		perm.Fix = strings.Join(fixes, " && ") + " (kirobar also fixes this when it starts)"
	}
	return append(out, perm)
}

// writable creates and removes a file in dir.
func writable(dir string) error {
	f, err := os.CreateTemp(dir, ".doctor-*")
	if err != nil {
		return err
	}
	name := f.Name()
	if err := f.Close(); err != nil {
		return err
	}
	return os.Remove(name)
}

func shellQuote(s string) string {
	if !strings.ContainsAny(s, " '\"$`\\") {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
