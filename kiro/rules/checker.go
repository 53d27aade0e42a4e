package rules

// Limits are the service's size limits and the strictness options where
// sources disagree (kiro-protocol.md §2.6). The zero value of a field means
// its default.
type Limits struct {
	// MaxPayloadBytes refuses larger bodies as "Improperly formed request."
	// (default 900 KiB, the runtime host's ceiling).
	MaxPayloadBytes int
	// ContextLimitTokens refuses requests whose estimated input exceeds it
	// with CONTENT_LENGTH_EXCEEDS_THRESHOLD (default 200000).
	ContextLimitTokens int
	// MaxToolNameLen is the longest accepted tool name (default 64).
	MaxToolNameLen int
	// MaxToolDescriptionLen is the longest accepted tool description
	// (default 10240).
	MaxToolDescriptionLen int
	// RejectEmptyRequired refuses schemas with "required": [] and
	// RejectAdditionalProperties schemas with "additionalProperties"; one
	// proxy reports both caused 400s while another adds them to avoid 400s,
	// so both are off by default.
	RejectEmptyRequired        bool
	RejectAdditionalProperties bool
	// MaxImageBase64 is the longest accepted image, in base64 characters
	// (default DefaultMaxImageBase64); MaxImageSide the longest accepted
	// side in pixels (default DefaultMaxImageSide).
	MaxImageBase64 int
	MaxImageSide   int
}

// WithDefaults fills the zero fields with the service's documented limits.
func (l Limits) WithDefaults() Limits {
	if l.MaxPayloadBytes <= 0 {
		l.MaxPayloadBytes = 900 * 1024
	}
	if l.ContextLimitTokens <= 0 {
		l.ContextLimitTokens = 200000
	}
	if l.MaxToolNameLen <= 0 {
		l.MaxToolNameLen = 64
	}
	if l.MaxToolDescriptionLen <= 0 {
		l.MaxToolDescriptionLen = 10240
	}
	if l.MaxImageBase64 <= 0 {
		l.MaxImageBase64 = DefaultMaxImageBase64
	}
	if l.MaxImageSide <= 0 {
		l.MaxImageSide = DefaultMaxImageSide
	}
	return l
}

// Checker applies the rules with one set of limits and accepted model ids.
// It holds no mutable state and is safe for concurrent use.
type Checker struct {
	lim    Limits
	models map[string]bool
}

// NewChecker returns a Checker that accepts the given model ids.
func NewChecker(lim Limits, models []string) *Checker {
	c := &Checker{lim: lim.WithDefaults(), models: make(map[string]bool, len(models))}
	for _, m := range models {
		c.models[m] = true
	}
	return c
}

// Limits returns the limits in force, defaults filled in.
func (c *Checker) Limits() Limits { return c.lim }

// Check parses and validates a body: the first refusal, or the decoded
// payload.
func (c *Checker) Check(body []byte) (*Payload, *Rejection) {
	p, rej := c.Parse(body)
	if rej != nil {
		return nil, rej
	}
	return p, c.Validate(p)
}
