package accounts

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/glebarez/sqlite"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	"github.com/kirobar/kirobar/kiro"
)

// IDETokenFile is the file the Kiro IDE keeps its login in.
const IDETokenFile = "kiro-auth-token.json"

// DefaultImportDir is where the Kiro IDE keeps its login, relative to the
// user's home directory.
var defaultImportDir = filepath.Join(".aws", "sso", "cache")

// kiro-cli's store: token keys in priority order, then registrations.
var (
	kiroCLITokenKeys = []string{"kirocli:social:token", "kirocli:odic:token", "codewhisperer:odic:token"}
	kiroCLIRegKeys   = []string{"kirocli:odic:device-registration", "codewhisperer:odic:device-registration"}
)

const sqliteMagic = "SQLite format 3\x00"

// DefaultImportPath returns ~/.aws/sso/cache for the Manager's user home.
func (m *Manager) DefaultImportPath() string {
	return filepath.Join(m.home, defaultImportDir)
}

// ImportPath imports the accounts found at path: the IDE cache directory
// (kiro-auth-token.json with its <clientIdHash>.json registration beside
// it), a JSON token file (one object or an array), a directory of token
// files, or kiro-cli's data.sqlite3. Importing an account that is already
// known updates it instead of adding a duplicate.
func (m *Manager) ImportPath(ctx context.Context, path string) ([]View, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("import %s: %w", path, err)
	}
	cands, err := findCandidates(abs)
	if err != nil {
		return nil, fmt.Errorf("import %s: %w", path, err)
	}
	if len(cands) == 0 {
		return nil, fmt.Errorf("import %s: no Kiro login found (expected %s, a JSON token file, or kiro-cli's data.sqlite3)", path, IDETokenFile)
	}
	var views []View
	var errs []error
	for _, c := range cands {
		v, _, err := m.upsert(ctx, c, "")
		if err != nil {
			errs = append(errs, err)
			continue
		}
		m.settle(ctx, v.ID)
		if v, err = m.View(v.ID); err != nil {
			errs = append(errs, err)
			continue
		}
		views = append(views, v)
	}
	return views, errors.Join(errs...)
}

// settle resolves a new account's profile and lists its models while its
// token is usable, so the request path finds them stored. An account
// whose token must be refreshed first, or whose lookups fail, is settled
// at first use or by `kirobar accounts check`.
func (m *Manager) settle(ctx context.Context, id string) {
	a, err := m.snapshot(id)
	if err != nil || !m.tokenUsable(&a, m.now()) {
		return
	}
	if _, err := m.discoverModels(ctx, id); err != nil {
		m.log.Info("accounts: new account not settled yet; kirobar retries at first use and on `kirobar accounts check`", "account", id, "err", err)
	}
}

// findCandidates reads every login at path.
func findCandidates(path string) ([]candidate, error) {
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
	// The IDE cache is shared with the AWS CLI's own SSO logins, which look
	// like IdC tokens: when the IDE's file is there, take only it.
	if _, err := os.Stat(filepath.Join(path, IDETokenFile)); err == nil {
		return readJSONFile(filepath.Join(path, IDETokenFile))
	}
	entries, err := os.ReadDir(path)
	if err != nil {
		return nil, err
	}
	var out []candidate
	var errs []error
	for _, de := range entries {
		name := de.Name()
		full := filepath.Join(path, name)
		switch {
		case de.IsDir():
			continue
		case name == "data.sqlite3":
			cs, err := readKiroCLI(full)
			if err != nil {
				errs = append(errs, err)
			}
			out = append(out, cs...)
		case strings.HasSuffix(name, ".json"):
			raws, err := readRaw(full)
			if err != nil || len(raws) == 0 || !raws[0].isTokenObject() {
				continue // registrations and unrelated JSON live here too
			}
			cs, err := readJSONFile(full)
			if err != nil {
				errs = append(errs, err)
			}
			out = append(out, cs...)
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
func readJSONFile(path string) ([]candidate, error) {
	raws, err := readRaw(path)
	if err != nil {
		return nil, err
	}
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("stat %s: %w", path, err)
	}
	var out []candidate
	for i, r := range raws {
		origin := path
		if len(raws) > 1 {
			origin = fmt.Sprintf("%s[%d]", path, i)
		}
		if r.isRegistration() {
			return nil, fmt.Errorf("%s is a client registration, not a login: import the %s beside it", origin, IDETokenFile)
		}
		if !r.isTokenObject() {
			return nil, fmt.Errorf("%s has no refreshToken: not a Kiro login", origin)
		}
		c, err := candidateFrom(r, origin)
		if err != nil {
			return nil, err
		}
		if c.authMethod == AuthIdC && c.tokens.ClientID == "" && c.clientHash != "" {
			if err := attachRegistration(&c, filepath.Join(filepath.Dir(path), c.clientHash+".json")); err != nil {
				return nil, err
			}
		}
		if len(raws) == 1 {
			c.sourceKind, c.sourceFile, c.modTime = SourceJSON, path, st.ModTime().UnixNano()
		} else {
			c.sourceKind = SourceManual
		}
		out = append(out, c)
	}
	return out, nil
}

// attachRegistration reads an IdC login's client registration.
func attachRegistration(c *candidate, regPath string) error {
	raws, err := readRaw(regPath)
	if err != nil {
		return fmt.Errorf("%s is an IdC login but its client registration could not be read (copy %s along with it): %w", c.origin, filepath.Base(regPath), err)
	}
	if len(raws) != 1 || !raws[0].isRegistration() {
		return fmt.Errorf("%s is not a client registration", regPath)
	}
	c.tokens.ClientID = raws[0].str("clientId", "client_id")
	c.tokens.ClientSecret = raws[0].str("clientSecret", "client_secret")
	if c.region == "" {
		c.region = raws[0].str("region")
	}
	return nil
}

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
func readKiroCLI(path string) ([]candidate, error) {
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
				r["auth_method"] = AuthSocial
			} else {
				r["auth_method"] = AuthIdC
			}
		}
		c, err := candidateFrom(r, path+" "+key)
		if err != nil {
			return nil, err
		}
		if c.authMethod == AuthIdC && c.tokens.ClientID == "" {
			for _, rk := range kiroCLIRegKeys {
				rv, err := kv("auth_kv", rk)
				if err != nil {
					return nil, err
				}
				regs, derr := decodeTokens([]byte(rv))
				if rv == "" || derr != nil || len(regs) != 1 {
					continue
				}
				c.tokens.ClientID = regs[0].str("clientId", "client_id")
				c.tokens.ClientSecret = regs[0].str("clientSecret", "client_secret")
				if c.region == "" {
					c.region = regs[0].str("region")
				}
				break
			}
		}
		if c.profileARN == "" {
			if pv, err := kv("state", "api.codewhisperer.profile"); err == nil && pv != "" {
				if prof, derr := decodeTokens([]byte(pv)); derr == nil && len(prof) == 1 {
					c.profileARN = prof[0].str("arn", "profileArn")
					c.tokens.ProfileARN = c.profileARN
				}
			}
		}
		// The token's region is where it refreshes; the API region comes
		// from the profile ARN (kiro.RegionFromARN), not from here.
		c.sourceKind, c.sourceFile, c.sourceKey, c.modTime = SourceKiroCLI, path, key, st.ModTime().UnixNano()
		return []candidate{c}, nil
	}
	return nil, fmt.Errorf("%s holds no kiro-cli login (looked for %s)", path, strings.Join(kiroCLITokenKeys, ", "))
}

// AddRequest is a pasted refresh token (`kirobar accounts add`).
type AddRequest struct {
	RefreshToken string
	AuthMethod   string // social (default) or idc
	ClientID     string // IdC only
	ClientSecret string // IdC only
	Region       string
	Label        string
}

// AddRefreshToken stores a pasted refresh token and refreshes it at once,
// which proves it works and fetches the access token and profile ARN. A
// token Kiro rejects is not kept. When the refresh fails for another
// reason (network), the account is kept and the error says so.
func (m *Manager) AddRefreshToken(ctx context.Context, r AddRequest) (View, error) {
	method, err := canonicalAuth(r.AuthMethod, "", r.ClientID != "")
	if err != nil {
		return View{}, err
	}
	c := candidate{
		origin:     "pasted refresh token",
		authMethod: method,
		region:     strings.TrimSpace(r.Region),
		sourceKind: SourceManual,
		tokens: tokenSet{
			RefreshToken: strings.TrimSpace(r.RefreshToken),
			ClientID:     strings.TrimSpace(r.ClientID),
			ClientSecret: strings.TrimSpace(r.ClientSecret),
		},
	}
	if method == AuthIdC && (c.tokens.ClientID == "" || c.tokens.ClientSecret == "") {
		return View{}, errors.New("an IdC refresh token needs --client-id and --client-secret (from the <clientIdHash>.json registration)")
	}
	v, created, err := m.upsert(ctx, c, strings.TrimSpace(r.Label))
	if err != nil {
		return View{}, err
	}
	if err := m.ensureFresh(ctx, v.ID, true); err != nil {
		if ke, ok := kiro.AsError(err); ok && ke.Class == kiro.ClassInvalidGrant && created {
			if rerr := m.Remove(v.ID); rerr != nil {
				return View{}, errors.Join(err, rerr)
			}
			m.log.Warn("accounts: kiro rejected a pasted refresh token; nothing was added", "err", err)
			return View{}, fmt.Errorf("kiro rejected the refresh token; nothing was added: %w", err)
		}
		v, _ = m.View(v.ID)
		m.log.Warn("accounts: saved a pasted refresh token, but its first refresh failed", "account", v.ID, "err", err)
		return v, fmt.Errorf("account %s saved, but its first refresh failed (retry with `kirobar accounts refresh %s`): %w", v.ID, v.ID, err)
	}
	if created {
		m.log.Info("accounts: added", "account", v.ID, "label", v.Label, "auth", v.AuthMethod, "from", c.origin)
	}
	m.settle(ctx, v.ID)
	return m.View(v.ID)
}

// upsert stores a found account: an existing row for the same login is
// updated, otherwise a new account is created. Identity, in order: the
// same refresh token, the same linked source (file and key), the same
// access token, the same email and auth method.
func (m *Manager) upsert(ctx context.Context, c candidate, label string) (View, bool, error) {
	if err := kiro.ValidateRefreshToken(c.tokens.RefreshToken); err != nil {
		return View{}, false, fmt.Errorf("%s: %w (copy the whole token: the IDE shows it shortened with ...)", c.origin, err)
	}
	if c.authMethod == AuthIdC && (c.tokens.ClientID == "" || c.tokens.ClientSecret == "") {
		return View{}, false, fmt.Errorf("%s: IdC login without a client registration (clientId/clientSecret)", c.origin)
	}
	id, created, err := m.store(ctx, c, label)
	if err != nil {
		return View{}, false, err
	}
	if _, err := m.reload(ctx); err != nil {
		return View{}, false, err
	}
	v, err := m.View(id)
	return v, created, err
}

func (m *Manager) store(ctx context.Context, c candidate, label string) (string, bool, error) {
	m.writeMu.Lock()
	defer m.writeMu.Unlock()
	var existing []Account
	q := m.db.WithContext(ctx).Where("refresh_token = ?", c.tokens.RefreshToken)
	if c.sourceFile != "" {
		q = q.Or("source_file = ? AND source_key = ?", c.sourceFile, c.sourceKey)
	}
	if c.tokens.AccessToken != "" {
		q = q.Or("access_token = ?", c.tokens.AccessToken)
	}
	if c.email != "" {
		q = q.Or("email = ? AND auth_method = ?", c.email, c.authMethod)
	}
	if err := q.Find(&existing).Error; err != nil {
		return "", false, fmt.Errorf("%s: look up existing account: %w", c.origin, err)
	}
	now := m.now().UTC()
	if len(existing) > 0 {
		sort.Slice(existing, func(i, j int) bool { return existing[i].CreatedAt.Before(existing[j].CreatedAt) })
		old := existing[0]
		cols := map[string]any{"auth_method": c.authMethod}
		if c.sourceKind != SourceManual || old.SourceKind == "" {
			cols["source_kind"], cols["source_file"], cols["source_key"], cols["source_mod_time"] = c.sourceKind, c.sourceFile, c.sourceKey, c.modTime
		}
		setIf(cols, "region", c.region)
		setIf(cols, "provider", c.provider)
		setIf(cols, "start_url", c.startURL)
		setIf(cols, "profile_arn", c.profileARN)
		setIf(cols, "client_id", c.tokens.ClientID)
		setIf(cols, "client_secret", c.tokens.ClientSecret)
		if label != "" {
			cols["label"], cols["label_auto"] = label, false
		}
		// Take the imported tokens unless ours are newer: re-importing an
		// old copy must not replace a token kirobar already rotated.
		stale := old.Status == StatusNeedsLogin || old.Status == StatusError || old.AccessToken == ""
		if c.tokens.RefreshToken != old.RefreshToken && (stale || !c.tokens.ExpiresAt.Before(old.ExpiresAt)) {
			cols["access_token"], cols["refresh_token"], cols["expires_at"] = c.tokens.AccessToken, c.tokens.RefreshToken, c.tokens.ExpiresAt.UTC()
			if old.Status == StatusNeedsLogin || old.Status == StatusError {
				cols["status"], cols["cooldown_until"], cols["last_error"] = StatusReady, time.Time{}, ""
			}
		}
		if _, err := m.write(ctx, old.ID, cols); err != nil {
			return "", false, err
		}
		return old.ID, false, nil
	}
	id, err := m.freeID(ctx)
	if err != nil {
		return "", false, err
	}
	mid := c.machineID
	if mid == "" {
		if mid, err = newMachineID(); err != nil {
			return "", false, err
		}
	}
	a := Account{
		ID: id, Label: label, Email: c.email, AuthMethod: c.authMethod, Provider: c.provider,
		Region: c.region, ProfileARN: c.profileARN, StartURL: c.startURL,
		AccessToken: c.tokens.AccessToken, RefreshToken: c.tokens.RefreshToken, ExpiresAt: c.tokens.ExpiresAt.UTC(),
		ClientID: c.tokens.ClientID, ClientSecret: c.tokens.ClientSecret,
		SourceKind: c.sourceKind, SourceFile: c.sourceFile, SourceKey: c.sourceKey, SourceModTime: c.modTime,
		Enabled: true, Status: StatusReady, MachineID: mid, Revision: 1, CreatedAt: now, UpdatedAt: now,
	}
	if a.Label == "" {
		a.Label, a.LabelAuto = autoLabel(c, id), true
	}
	if err := m.db.WithContext(ctx).Create(&a).Error; err != nil {
		return "", false, fmt.Errorf("%s: store account: %w", c.origin, err)
	}
	if c.sourceKind != SourceManual { // a pasted token is added once Kiro took it (AddRefreshToken)
		m.log.Info("accounts: added", "account", id, "label", a.Label, "auth", a.AuthMethod, "from", c.origin)
	}
	return id, true, nil
}

func setIf(cols map[string]any, col, v string) {
	if v != "" {
		cols[col] = v
	}
}

// autoLabel names an account until its email is known.
func autoLabel(c candidate, id string) string {
	if c.email != "" {
		return c.email
	}
	who := c.provider
	if who == "" {
		who = c.authMethod
	}
	return who + "-" + id
}

// freeID returns an account id not yet in use.
func (m *Manager) freeID(ctx context.Context) (string, error) {
	for range 8 {
		id, err := newID()
		if err != nil {
			return "", err
		}
		var n int64
		if err := m.db.WithContext(ctx).Model(&Account{}).Where("id = ?", id).Count(&n).Error; err != nil {
			return "", fmt.Errorf("allocate account id: %w", err)
		}
		if n == 0 {
			return id, nil
		}
	}
	return "", errors.New("allocate account id: no free id after 8 tries")
}
