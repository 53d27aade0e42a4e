// Package tokenfile reads and writes the places Kiro's own tools keep a
// login, so kirobar can import it and stay linked to it:
//
//   - the Kiro IDE's cache, ~/.aws/sso/cache (IDECacheDir): IDEFile
//     (kiro-auth-token.json) and, for an IAM Identity Center or Builder ID
//     login, the client registration <clientIdHash>.json beside it;
//   - any JSON token file: one object, or an array of them, in the IDE's
//     camelCase or kiro-cli's snake_case spelling (Parse);
//   - a directory of such files;
//   - kiro-cli's SQLite store, data.sqlite3, which is only ever read.
//
// Find reads every login at a path as Records. A single-object JSON file
// and the kiro-cli store are linked (Record.Link): when the IDE or kiro-cli
// refreshes, Read finds their newer tokens, and WriteBack puts kirobar's
// refreshed tokens back into a linked JSON file without ever overwriting
// newer ones the IDE wrote meanwhile.
//
// The package knows files only: storing accounts, choosing between
// tokens and watching links over time is the accounts.Manager's job. No
// error it returns quotes a token.
package tokenfile

import (
	"path/filepath"
	"time"
)

// IDEFile is the file the Kiro IDE keeps its login in.
const IDEFile = "kiro-auth-token.json"

// IDECacheDir is where the Kiro IDE keeps its login for the user whose
// home directory is home: ~/.aws/sso/cache, shared with the AWS CLI's own
// SSO logins.
func IDECacheDir(home string) string {
	return filepath.Join(home, ".aws", "sso", "cache")
}

// Link kinds: the sources a record stays linked to.
const (
	KindJSON    = "json"     // an IDE cache file or any single-object JSON token file; written back
	KindKiroCLI = "kiro-cli" // kiro-cli's SQLite store; read only
)

// Tokens are a login's tokens as a source holds them.
type Tokens struct {
	AccessToken  string
	RefreshToken string
	ExpiresAt    time.Time
	ProfileARN   string
	ClientID     string // IdC: the OIDC client registration
	ClientSecret string
}

// Link names the source a record came from and stays linked to.
type Link struct {
	Kind string // KindJSON or KindKiroCLI; "" = not linked
	File string // absolute path as given to Find
	Key  string // the auth_kv row inside a kiro-cli store
}

// Record is one login found in a source, before kirobar stores it.
type Record struct {
	// Origin says where it came from, for messages: a path, path[i] for
	// an object of an array file, or "path key" for a kiro-cli row.
	Origin string
	// AuthMethod is kiro.AuthSocial or kiro.AuthIdC, whatever spelling the
	// source used (CanonicalAuth).
	AuthMethod string
	Provider   string // Google, Github, BuilderId, Enterprise, … as written; may be ""
	Region     string // the sign-in region: where the token refreshes
	StartURL   string // an IAM Identity Center login's organisation
	Email      string
	// ClientHash names an IdC login's registration file in the IDE cache
	// (<ClientHash>.json); Find has read it into Tokens.ClientID/Secret.
	ClientHash string
	Tokens     Tokens
	// Link is the source the record stays linked to; zero for an object
	// of an array file, which is imported once.
	Link Link
	// ModTime is the linked source's modification time (UnixNano) when
	// it was read; 0 when not linked.
	ModTime int64
}
