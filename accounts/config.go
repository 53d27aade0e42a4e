package accounts

import (
	"fmt"
	"time"

	"github.com/kirobar/kirobar/internal/duration"
)

// Strategy names accepted in [accounts] strategy.
const (
	StrategyScore      = "score"
	StrategyRoundRobin = "round_robin"
	StrategyFillFirst  = "fill_first"
)

// Config is the [accounts] section of config.toml. Every cooldown is
// configurable because the right numbers depend on the user's plan and on
// how aggressively Kiro throttles them.
type Config struct {
	// Strategy picks the account for a new conversation: "score" weighs
	// health, recent use, error rate and cooldown history by remaining
	// quota; "round_robin" rotates; "fill_first" uses one account until it
	// cannot serve.
	Strategy string `toml:"strategy"`
	// MaxAttempts bounds how many accounts one request may try before the
	// first byte reaches the client.
	MaxAttempts int `toml:"max_attempts"`
	// MaxConcurrent is the number of requests one account serves at once.
	MaxConcurrent int `toml:"max_concurrent"`
	// MinSpacing paces request starts on one account, so a client that
	// fires requests in a loop does not look like a bot: on average one
	// start per MinSpacing (a token bucket of SpacingBurst starts, one
	// added per MinSpacing). An account that was quiet starts up to
	// SpacingBurst requests at once, so the requests of one Claude Code
	// turn (a title, the answer, a subagent) are not held back. 0: no
	// pacing. Before the bucket it was a fixed gap before every start;
	// old configs keep their value as the average.
	MinSpacing duration.Duration `toml:"min_spacing"`
	// SpacingBurst is how many requests one account may start back to
	// back before MinSpacing paces them.
	SpacingBurst int `toml:"spacing_burst"`
	// RefreshLead is how long before expiry a token is refreshed.
	RefreshLead duration.Duration `toml:"refresh_lead"`
	// RefreshSpacing is the minimum gap between two background refreshes,
	// so a pool never sends its refreshes in a burst.
	RefreshSpacing duration.Duration `toml:"refresh_spacing"`
	// CheckInterval runs "check all" periodically; 0 turns it off.
	CheckInterval duration.Duration `toml:"check_interval"`
	// CheckConcurrency bounds how many accounts are checked at once.
	CheckConcurrency int `toml:"check_concurrency"`
	// ThrottleBase is the first cooldown after a 429 without Retry-After;
	// it doubles on each further 429 up to ThrottleMax and resets on success.
	ThrottleBase duration.Duration `toml:"throttle_base"`
	// ThrottleMax caps the throttle cooldown (and a Retry-After from Kiro).
	ThrottleMax duration.Duration `toml:"throttle_max"`
	// BreakerThreshold is how many consecutive 5xx or network failures open
	// an account's circuit breaker.
	BreakerThreshold int `toml:"breaker_threshold"`
	// BreakerCooldown is how long an open breaker keeps the account out.
	BreakerCooldown duration.Duration `toml:"breaker_cooldown"`
	// QuotaFallback is the quarantine after a monthly-quota error when
	// getUsageLimits cannot tell the reset date.
	QuotaFallback duration.Duration `toml:"quota_fallback"`
	// ForbiddenCooldown keeps an account out after a 403 that is neither a
	// bad token nor a suspension.
	ForbiddenCooldown duration.Duration `toml:"forbidden_cooldown"`
	// ModelCooldown is how long an account that rejected a model id twice
	// is not offered that model again (free plans lack some models; a
	// single refusal can be transient, kiro-protocol.md §11.6).
	ModelCooldown duration.Duration `toml:"model_cooldown"`
	// UseOverage lets an account whose overage (add-on credits) is enabled
	// at Kiro go on serving past its monthly limit, billed as overage,
	// after the accounts that still have included credits. false rests it
	// at its limit as if overage were off (kiro-protocol.md §11.5).
	UseOverage bool `toml:"use_overage"`
	// StickySessions keeps a conversation on one account while it is
	// healthy, which keeps Kiro's context and looks natural.
	StickySessions bool `toml:"sticky_sessions"`
	// StickyTTL forgets a conversation's account after this much silence.
	StickyTTL duration.Duration `toml:"sticky_ttl"`
}

// DefaultConfig returns the defaults documented in config.toml.example.
func DefaultConfig() Config {
	return Config{
		Strategy:          StrategyScore,
		MaxAttempts:       3,
		MaxConcurrent:     4,
		MinSpacing:        duration.Duration(200 * time.Millisecond),
		SpacingBurst:      4,
		RefreshLead:       duration.Duration(10 * time.Minute),
		RefreshSpacing:    duration.Duration(2 * time.Second),
		CheckInterval:     0,
		CheckConcurrency:  4,
		ThrottleBase:      duration.Duration(5 * time.Second),
		ThrottleMax:       duration.Duration(5 * time.Minute),
		BreakerThreshold:  3,
		BreakerCooldown:   duration.Duration(30 * time.Second),
		QuotaFallback:     duration.Duration(24 * time.Hour),
		ForbiddenCooldown: duration.Duration(10 * time.Minute),
		ModelCooldown:     duration.Duration(10 * time.Minute),
		UseOverage:        true,
		StickySessions:    true,
		StickyTTL:         duration.Duration(2 * time.Hour),
	}
}

// Validate reports the first setting that cannot work.
func (c Config) Validate() error {
	switch c.Strategy {
	case StrategyScore, StrategyRoundRobin, StrategyFillFirst:
	default:
		return fmt.Errorf("accounts.strategy %q: use %q, %q or %q", c.Strategy, StrategyScore, StrategyRoundRobin, StrategyFillFirst)
	}
	if c.MaxAttempts < 1 {
		return fmt.Errorf("accounts.max_attempts %d: must be at least 1", c.MaxAttempts)
	}
	if c.MaxConcurrent < 1 {
		return fmt.Errorf("accounts.max_concurrent %d: must be at least 1", c.MaxConcurrent)
	}
	if c.MinSpacing < 0 {
		return fmt.Errorf("accounts.min_spacing %s: must not be negative", c.MinSpacing)
	}
	if c.SpacingBurst < 1 {
		return fmt.Errorf("accounts.spacing_burst %d: must be at least 1", c.SpacingBurst)
	}
	if c.CheckConcurrency < 1 {
		return fmt.Errorf("accounts.check_concurrency %d: must be at least 1", c.CheckConcurrency)
	}
	if c.BreakerThreshold < 1 {
		return fmt.Errorf("accounts.breaker_threshold %d: must be at least 1", c.BreakerThreshold)
	}
	if c.ThrottleMax < c.ThrottleBase {
		return fmt.Errorf("accounts.throttle_max %s is below throttle_base %s", c.ThrottleMax, c.ThrottleBase)
	}
	return nil
}
