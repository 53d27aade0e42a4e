package accounts

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/kirobar/kirobar/accounts/tokenfile"
	"github.com/kirobar/kirobar/kiro"
)

// candidate is an account found by an importer, a pasted token or a
// sign-in, before it is stored.
type candidate struct {
	tokenfile.Record
	// sourceKind is the stored SourceKind: the record's link, SourceManual
	// for a pasted token or an object of an array file (which leaves an
	// existing link alone), SourceNone for a sign-in (which unlinks).
	sourceKind string
	machineID  string // set by a sign-in that already used one; "" = a new one
}

// found is the candidate of a record an importer found.
func found(r tokenfile.Record) candidate {
	kind := r.Link.Kind
	if kind == "" {
		kind = SourceManual
	}
	return candidate{Record: r, sourceKind: kind}
}

// DefaultImportPath returns ~/.aws/sso/cache for the Manager's user home.
func (m *Manager) DefaultImportPath() string {
	return tokenfile.IDECacheDir(m.home)
}

// ImportPath imports the accounts found at path (tokenfile.Find): the IDE
// cache directory (kiro-auth-token.json with its <clientIdHash>.json
// registration beside it), a JSON token file (one object or an array), a
// directory of token files, or kiro-cli's data.sqlite3. Importing an
// account that is already known updates it instead of adding a duplicate.
func (m *Manager) ImportPath(ctx context.Context, path string) ([]View, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("import %s: %w", path, err)
	}
	recs, err := tokenfile.Find(abs)
	if err != nil {
		return nil, fmt.Errorf("import %s: %w", path, err)
	}
	if len(recs) == 0 {
		return nil, fmt.Errorf("import %s: no Kiro login found (expected %s, a JSON token file, or kiro-cli's data.sqlite3)", path, tokenfile.IDEFile)
	}
	var views []View
	var errs []error
	for _, r := range recs {
		v, _, err := m.upsert(ctx, found(r), "")
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
	method, err := tokenfile.CanonicalAuth(r.AuthMethod, "", r.ClientID != "")
	if err != nil {
		return View{}, err
	}
	c := candidate{
		Record: tokenfile.Record{
			Origin:     "pasted refresh token",
			AuthMethod: method,
			Region:     strings.TrimSpace(r.Region),
			Tokens: tokenfile.Tokens{
				RefreshToken: strings.TrimSpace(r.RefreshToken),
				ClientID:     strings.TrimSpace(r.ClientID),
				ClientSecret: strings.TrimSpace(r.ClientSecret),
			},
		},
		sourceKind: SourceManual,
	}
	if method == AuthIdC && (c.Tokens.ClientID == "" || c.Tokens.ClientSecret == "") {
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
		m.log.Info("accounts: added", "account", v.ID, "label", v.Label, "auth", v.AuthMethod, "from", c.Origin)
	}
	m.settle(ctx, v.ID)
	return m.View(v.ID)
}

// upsert stores a found account: an existing row for the same login is
// updated, otherwise a new account is created. Identity, in order: the
// same refresh token, the same linked source (file and key), the same
// access token, the same email and auth method.
func (m *Manager) upsert(ctx context.Context, c candidate, label string) (View, bool, error) {
	if err := kiro.ValidateRefreshToken(c.Tokens.RefreshToken); err != nil {
		return View{}, false, fmt.Errorf("%s: %w (copy the whole token: the IDE shows it shortened with ...)", c.Origin, err)
	}
	if c.AuthMethod == AuthIdC && (c.Tokens.ClientID == "" || c.Tokens.ClientSecret == "") {
		return View{}, false, fmt.Errorf("%s: IdC login without a client registration (clientId/clientSecret)", c.Origin)
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
	q := m.db.WithContext(ctx).Where("refresh_token = ?", c.Tokens.RefreshToken)
	if c.Link.File != "" {
		q = q.Or("source_file = ? AND source_key = ?", c.Link.File, c.Link.Key)
	}
	if c.Tokens.AccessToken != "" {
		q = q.Or("access_token = ?", c.Tokens.AccessToken)
	}
	if c.Email != "" {
		q = q.Or("email = ? AND auth_method = ?", c.Email, c.AuthMethod)
	}
	if err := q.Find(&existing).Error; err != nil {
		return "", false, fmt.Errorf("%s: look up existing account: %w", c.Origin, err)
	}
	now := m.now().UTC()
	if len(existing) > 0 {
		sort.Slice(existing, func(i, j int) bool { return existing[i].CreatedAt.Before(existing[j].CreatedAt) })
		old := existing[0]
		cols := map[string]any{"auth_method": c.AuthMethod}
		if c.sourceKind != SourceManual || old.SourceKind == "" {
			cols["source_kind"], cols["source_file"], cols["source_key"], cols["source_mod_time"] = c.sourceKind, c.Link.File, c.Link.Key, c.ModTime
		}
		setIf(cols, "region", c.Region)
		setIf(cols, "provider", c.Provider)
		setIf(cols, "start_url", c.StartURL)
		setIf(cols, "profile_arn", c.Tokens.ProfileARN)
		setIf(cols, "client_id", c.Tokens.ClientID)
		setIf(cols, "client_secret", c.Tokens.ClientSecret)
		if label != "" {
			cols["label"], cols["label_auto"] = label, false
		}
		// Take the imported tokens unless ours are newer: re-importing an
		// old copy must not replace a token kirobar already rotated.
		stale := old.Status == StatusNeedsLogin || old.Status == StatusError || old.AccessToken == ""
		if c.Tokens.RefreshToken != old.RefreshToken && (stale || !c.Tokens.ExpiresAt.Before(old.ExpiresAt)) {
			cols["access_token"], cols["refresh_token"], cols["expires_at"] = c.Tokens.AccessToken, c.Tokens.RefreshToken, c.Tokens.ExpiresAt.UTC()
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
		ID: id, Label: label, Email: c.Email, AuthMethod: c.AuthMethod, Provider: c.Provider,
		Region: c.Region, ProfileARN: c.Tokens.ProfileARN, StartURL: c.StartURL,
		AccessToken: c.Tokens.AccessToken, RefreshToken: c.Tokens.RefreshToken, ExpiresAt: c.Tokens.ExpiresAt.UTC(),
		ClientID: c.Tokens.ClientID, ClientSecret: c.Tokens.ClientSecret,
		SourceKind: c.sourceKind, SourceFile: c.Link.File, SourceKey: c.Link.Key, SourceModTime: c.ModTime,
		Enabled: true, Status: StatusReady, MachineID: mid, Revision: 1, CreatedAt: now, UpdatedAt: now,
	}
	if a.Label == "" {
		a.Label, a.LabelAuto = autoLabel(c, id), true
	}
	if err := m.db.WithContext(ctx).Create(&a).Error; err != nil {
		return "", false, fmt.Errorf("%s: store account: %w", c.Origin, err)
	}
	if c.sourceKind != SourceManual { // a pasted token is added once Kiro took it (AddRefreshToken)
		m.log.Info("accounts: added", "account", id, "label", a.Label, "auth", a.AuthMethod, "from", c.Origin)
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
	if c.Email != "" {
		return c.Email
	}
	who := c.Provider
	if who == "" {
		who = c.AuthMethod
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
