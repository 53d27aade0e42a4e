// Package home names the files in kirobar's home directory. Several parts
// of kirobar touch them — the app opens them, `kirobar doctor` checks them,
// the permission fixer keeps them private — and they must agree on which
// files hold secrets.
package home

import "path/filepath"

// Files and directories in the home directory.
const (
	ConfigFile = "config.toml"
	DBFile     = "kirobar.db"
	LogDir     = "logs"
)

// PrivateFiles are the files that hold tokens or client keys: only the
// user may read them (mode 0600), in a home only the user may enter
// (0700). SQLite's write-ahead log and shared-memory files hold database
// pages, tokens among them.
func PrivateFiles() []string {
	return []string{ConfigFile, DBFile, DBFile + "-wal", DBFile + "-shm"}
}

// Config returns the path of the config file in home.
func Config(home string) string { return filepath.Join(home, ConfigFile) }

// DB returns the path of the database in home.
func DB(home string) string { return filepath.Join(home, DBFile) }

// Logs returns the path of the log directory in home.
func Logs(home string) string { return filepath.Join(home, LogDir) }
