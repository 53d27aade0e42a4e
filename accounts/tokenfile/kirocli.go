package tokenfile

import (
	"fmt"
	"os"
	"strings"

	"github.com/glebarez/sqlite"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	"github.com/kirobar/kirobar/kiro"
)

// kiro-cli's store: token keys in priority order, then registrations.
var (
	kiroCLITokenKeys = []string{"kirocli:social:token", "kirocli:odic:token", "codewhisperer:odic:token"}
	kiroCLIRegKeys   = []string{"kirocli:odic:device-registration", "codewhisperer:odic:device-registration"}
)

// openReadOnly opens a foreign SQLite file without ever writing to it.
func openReadOnly(path string) (*gorm.DB, func(), error) {
	dsn := "file:" + path + "?mode=ro&_pragma=busy_timeout(5000)"
	gdb, err := gorm.Open(sqlite.Open(dsn), &gorm.Config{Logger: logger.Discard})
	if err != nil {
		return nil, nil, fmt.Errorf("open %s: %w", path, err)
	}
	sqlDB, err := gdb.DB()
	if err != nil {
		return nil, nil, fmt.Errorf("open %s: %w", path, err)
	}
	return gdb, func() { _ = sqlDB.Close() }, nil
}

// readKiroCLI reads the login in kiro-cli's SQLite store (read only):
// the first token key present, its device registration for IdC, and the
// profile ARN from the state table.
func readKiroCLI(path string) ([]Record, error) {
	gdb, closeDB, err := openReadOnly(path)
	if err != nil {
		return nil, err
	}
	defer closeDB()
	kv := func(table, key string) (string, error) {
		var vals []string
		err := gdb.Raw("SELECT value FROM "+table+" WHERE key = ?", key).Scan(&vals).Error
		if err != nil {
			return "", fmt.Errorf("read %s %s: %w", path, table, err)
		}
		if len(vals) == 0 {
			return "", nil
		}
		return vals[0], nil
	}
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("stat %s: %w", path, err)
	}
	for _, key := range kiroCLITokenKeys {
		val, err := kv("auth_kv", key)
		if err != nil {
			return nil, err
		}
		if val == "" {
			continue
		}
		raws, err := decodeTokens([]byte(val))
		if err != nil || len(raws) != 1 {
			return nil, fmt.Errorf("%s %s: not a token object", path, key)
		}
		r := raws[0]
		if !r.has("authMethod", "auth_method") {
			if strings.Contains(key, ":social:") {
				r["auth_method"] = kiro.AuthSocial
			} else {
				r["auth_method"] = kiro.AuthIdC
			}
		}
		rec, err := recordFrom(r, path+" "+key)
		if err != nil {
			return nil, err
		}
		if rec.AuthMethod == kiro.AuthIdC && rec.Tokens.ClientID == "" {
			for _, rk := range kiroCLIRegKeys {
				rv, err := kv("auth_kv", rk)
				if err != nil {
					return nil, err
				}
				regs, derr := decodeTokens([]byte(rv))
				if rv == "" || derr != nil || len(regs) != 1 {
					continue
				}
				rec.Tokens.ClientID = regs[0].str("clientId", "client_id")
				rec.Tokens.ClientSecret = regs[0].str("clientSecret", "client_secret")
				if rec.Region == "" {
					rec.Region = regs[0].str("region")
				}
				break
			}
		}
		if rec.Tokens.ProfileARN == "" {
			if pv, err := kv("state", "api.codewhisperer.profile"); err == nil && pv != "" {
				if prof, derr := decodeTokens([]byte(pv)); derr == nil && len(prof) == 1 {
					rec.Tokens.ProfileARN = prof[0].str("arn", "profileArn")
				}
			}
		}
		// The token's region is where it refreshes; the API region comes
		// from the profile ARN (kiro.RegionFromARN), not from here.
		rec.Link, rec.ModTime = Link{Kind: KindKiroCLI, File: path, Key: key}, st.ModTime().UnixNano()
		return []Record{rec}, nil
	}
	return nil, fmt.Errorf("%s holds no kiro-cli login (looked for %s)", path, strings.Join(kiroCLITokenKeys, ", "))
}
