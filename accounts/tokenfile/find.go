package tokenfile

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/kirobar/kirobar/kiro"
)

const sqliteMagic = "SQLite format 3\x00"

// Find reads every login at path: the IDE cache directory (IDEFile with
// its <clientIdHash>.json registration beside it), a JSON token file (one
// object or an array), a directory of token files, or kiro-cli's
// data.sqlite3 (any file that starts as SQLite does). A directory that
// holds IDEFile yields only that login: the cache is shared with the AWS
// CLI's own SSO logins, which look like IdC tokens. Other JSON files in
// a directory that are not logins (registrations, notes) are passed over;
// a file named on its own must be one. Finding nothing is not an error.
func Find(path string) ([]Record, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if !st.IsDir() {
		if isSQLite(path) {
			return readKiroCLI(path)
		}
		return readJSONFile(path)
	}
	if _, err := os.Stat(filepath.Join(path, IDEFile)); err == nil {
		return readJSONFile(filepath.Join(path, IDEFile))
	}
	entries, err := os.ReadDir(path)
	if err != nil {
		return nil, err
	}
	var out []Record
	var errs []error
	for _, de := range entries {
		name := de.Name()
		full := filepath.Join(path, name)
		switch {
		case de.IsDir():
			continue
		case name == "data.sqlite3":
			rs, err := readKiroCLI(full)
			if err != nil {
				errs = append(errs, err)
			}
			out = append(out, rs...)
		case strings.HasSuffix(name, ".json"):
			raws, err := readRaw(full)
			if err != nil || len(raws) == 0 || !raws[0].isTokenObject() {
				continue // registrations and unrelated JSON live here too
			}
			rs, err := readJSONFile(full)
			if err != nil {
				errs = append(errs, err)
			}
			out = append(out, rs...)
		}
	}
	return out, errors.Join(errs...)
}

func isSQLite(path string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	head := make([]byte, len(sqliteMagic))
	n, _ := f.Read(head)
	return n == len(head) && bytes.Equal(head, []byte(sqliteMagic))
}

func readRaw(path string) ([]rawToken, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	raws, err := decodeTokens(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return raws, nil
}

// readJSONFile reads a token file. A single-object file stays linked to
// kirobar (refreshed tokens are written back to it); the objects of an
// array file are imported unlinked.
func readJSONFile(path string) ([]Record, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	recs, err := Parse(data, path)
	if err != nil {
		return nil, err
	}
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("stat %s: %w", path, err)
	}
	for i := range recs {
		r := &recs[i]
		if r.AuthMethod == kiro.AuthIdC && r.Tokens.ClientID == "" && r.ClientHash != "" {
			// The hash names a file beside the token file, never one
			// elsewhere: a token file is input kirobar did not write.
			if !plainFileName(r.ClientHash) {
				return nil, fmt.Errorf("%s: its clientIdHash is not a plain file name", path)
			}
			if err := attachRegistration(r, filepath.Join(filepath.Dir(path), r.ClientHash+".json")); err != nil {
				return nil, err
			}
		}
		if len(recs) == 1 {
			r.Link, r.ModTime = Link{Kind: KindJSON, File: path}, st.ModTime().UnixNano()
		}
	}
	return recs, nil
}

// plainFileName reports whether name is one path element: no separator,
// no "." or "..", nothing a path could be built from.
func plainFileName(name string) bool {
	return name != "" && name != "." && name != ".." && !strings.ContainsAny(name, `/\`+"\x00") && filepath.Base(name) == name
}

// attachRegistration reads an IdC login's client registration.
func attachRegistration(r *Record, regPath string) error {
	raws, err := readRaw(regPath)
	if err != nil {
		return fmt.Errorf("%s is an IdC login but its client registration could not be read (copy %s along with it): %w", r.Origin, filepath.Base(regPath), err)
	}
	if len(raws) != 1 || !raws[0].isRegistration() {
		return fmt.Errorf("%s is not a client registration", regPath)
	}
	r.Tokens.ClientID = raws[0].str("clientId", "client_id")
	r.Tokens.ClientSecret = raws[0].str("clientSecret", "client_secret")
	if r.Region == "" {
		r.Region = raws[0].str("region")
	}
	return nil
}
