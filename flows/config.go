package flows

// Config is the [flows] section of config.toml.
type Config struct {
	// Enabled turns recording on; false records nothing at all.
	Enabled bool `toml:"enabled"`
	// RetentionDays deletes flows older than this many days; 0 keeps them
	// until the size limit removes them.
	RetentionDays int `toml:"retention_days"`
	// MaxTotalMB caps the detail files on disk and the pieces of bodies
	// they share (kept in kirobar.db); the oldest files (and their index
	// rows, and the pieces no later file uses) go first. 0 means no size
	// limit.
	MaxTotalMB int `toml:"max_total_mb"`
	// FileMaxMB is the size at which a detail file is rotated.
	FileMaxMB int `toml:"file_max_mb"`
	// MaxBodyKB caps each captured body; longer ones are cut with a note.
	MaxBodyKB int `toml:"max_body_kb"`
	// QueueSize bounds the records waiting for the writer.
	QueueSize int `toml:"queue_size"`
}

// DefaultConfig returns the defaults documented in config.toml.example.
func DefaultConfig() Config {
	return Config{
		Enabled:       true,
		RetentionDays: 14,
		MaxTotalMB:    512,
		FileMaxMB:     32,
		MaxBodyKB:     1024,
		QueueSize:     1024,
	}
}

// normalized replaces sizes that cannot work (zero or negative rotation
// size, body cap or queue) with the defaults; retention values of zero mean
// "no limit" and are kept.
func (c Config) normalized() Config {
	d := DefaultConfig()
	if c.FileMaxMB <= 0 {
		c.FileMaxMB = d.FileMaxMB
	}
	if c.MaxBodyKB <= 0 {
		c.MaxBodyKB = d.MaxBodyKB
	}
	if c.QueueSize <= 0 {
		c.QueueSize = d.QueueSize
	}
	if c.RetentionDays < 0 {
		c.RetentionDays = 0
	}
	if c.MaxTotalMB < 0 {
		c.MaxTotalMB = 0
	}
	return c
}
