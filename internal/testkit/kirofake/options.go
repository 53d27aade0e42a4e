package kirofake

import (
	"time"

	"github.com/kirobar/kirobar/kiro/rules"
)

// Generation styles (kiro-protocol.md §1.2).
const (
	// StyleRuntime is the awsJson1.0 style of runtime.{region}.kiro.dev:
	// Content-Type application/x-amz-json-1.0 plus X-Amz-Target, and a
	// mandatory profileArn.
	StyleRuntime = "runtime"
	// StyleIDE is the style of q.{region}.amazonaws.com: Content-Type
	// application/json, X-Amz-Target optional.
	StyleIDE = "ide"
	// StyleAny accepts both.
	StyleAny = "any"
)

// TargetGenerate is the X-Amz-Target of a runtime-style generation call.
const TargetGenerate = "AmazonCodeWhispererStreamingService.GenerateAssistantResponse"

// TargetKiroGenerate is the X-Amz-Target the Kiro IDE sends from 1.0.228
// on POST / (decolua/9router PR #3149; kiro-protocol.md §11.10); the fake
// serves it as runtime style too.
const TargetKiroGenerate = "KiroRuntimeService.GenerateAssistantResponse"

// DefaultModels are the dotted model ids the fake accepts unless
// Options.Models says otherwise (kiro-protocol.md §3).
var DefaultModels = []string{
	"auto",
	"claude-sonnet-4",
	"claude-sonnet-4.5",
	"claude-sonnet-4.6",
	"claude-haiku-4.5",
	"claude-opus-4.5",
	"claude-opus-4.6",
	"claude-opus-4.7",
	"claude-opus-4.8",
	"claude-sonnet-5",
}

// DefaultProfileARN is the profile ARN social accounts get when none is set
// (the default social profile hard-coded by the Kiro account manager).
const DefaultProfileARN = "arn:aws:codewhisperer:us-east-1:699475941385:profile/EHGA3GRVQMUK"

// Options configures a fake. The zero value is a runtime-style fake with the
// documented limits of the real service.
type Options struct {
	// Clock is the time source for token expiry, quota resets and device
	// codes. Default time.Now. Event delays always use real time.
	Clock func() time.Time
	// Style is which generation style the fake accepts: StyleRuntime
	// (default), StyleIDE or StyleAny. A request of the other style gets a
	// 404, as a host without that path answers.
	Style string
	// RuntimeRejectsIdC makes runtime-style calls from IdC (Builder ID)
	// accounts fail with 403 bearer-invalid, as one report observed for
	// kiro-cli OIDC tokens (jwadow/kiro-gateway#154). Default off: the
	// merged migration sends IdC traffic to runtime with a profileArn.
	RuntimeRejectsIdC bool
	// RefuseBuilderIDPlaceholder makes the runtime host refuse Builder ID
	// accounts that send BuilderIDProfileARN with 403 "User is not
	// authorized to make this call." (chaogei/Kiro-account-manager PR
	// #100); by default it accepts them (R1ddle1337/kiro.rs). Both
	// variants are reported (kiro-protocol.md §11.1).
	RefuseBuilderIDPlaceholder bool
	// IdCProfileARN is the profile of IAM Identity Center accounts created
	// by a device sign-in (default DefaultIdCProfileARN).
	IdCProfileARN string
	// RedirectPorts are the loopback ports a social sign-in may redirect
	// to (http://localhost:PORT/oauth/callback); the auth portal refuses
	// any other redirect_uri (default RedirectPorts, the Kiro IDE's list).
	RedirectPorts []int

	// Models are the accepted model ids (default DefaultModels).
	Models []string
	// MaxPayloadBytes rejects larger bodies as "Improperly formed request."
	// (default 900 KiB, the runtime host's ceiling).
	MaxPayloadBytes int
	// ContextLimitTokens rejects requests whose estimated input (characters
	// of all text / 4) exceeds it with CONTENT_LENGTH_EXCEEDS_THRESHOLD
	// (default 200000).
	ContextLimitTokens int
	// MaxToolNameLen is the longest accepted tool name (default 64).
	MaxToolNameLen int
	// MaxToolDescriptionLen is the longest accepted tool description
	// (default 10240).
	MaxToolDescriptionLen int
	// RejectEmptyRequired rejects schemas with "required": [] and
	// RejectAdditionalProperties schemas with "additionalProperties"; one
	// proxy reports both caused 400s while another adds them to avoid 400s
	// (kiro-protocol.md §2.6), so both are off by default.
	RejectEmptyRequired        bool
	RejectAdditionalProperties bool

	// AccessTTL is the lifetime of issued access tokens (default 1h).
	AccessTTL time.Duration
	// RotateRefreshTokens makes refresh tokens one-time: a refresh issues a
	// new one and the old one answers invalid_grant.
	RotateRefreshTokens bool

	// ModelsPageSize is the page size of ListAvailableModels when the caller
	// sends no maxResults (default 50).
	ModelsPageSize int
	// DeviceInterval is the polling interval, in seconds, the device flow
	// announces (default 5).
	DeviceInterval int
	// DeviceCodeTTL is how long a device code lives (default 10 minutes).
	DeviceCodeTTL time.Duration

	// RecordLimit is how many generation requests Requests keeps, newest
	// last (default 1024; negative keeps none, for load runs).
	RecordLimit int
	// DefaultAnswer is the text the default responder streams (default
	// "Hello from kirofake.").
	DefaultAnswer string
}

// RedirectPorts are the callback ports the Kiro IDE tries, in order, for a
// social sign-in, and the only ones the auth portal accepts
// (kiro-protocol.md §11.7; the IDE's portal-auth-provider CALLBACK_PORTS).
var RedirectPorts = []int{3128, 4649, 6588, 8008, 9091, 49153, 50153, 51153, 52153, 53153}

func (o Options) withDefaults() Options {
	if o.Clock == nil {
		o.Clock = time.Now
	}
	if o.Style == "" {
		o.Style = StyleRuntime
	}
	if len(o.Models) == 0 {
		o.Models = DefaultModels
	}
	lim := o.limits().WithDefaults() // the service's documented limits
	o.MaxPayloadBytes, o.ContextLimitTokens = lim.MaxPayloadBytes, lim.ContextLimitTokens
	o.MaxToolNameLen, o.MaxToolDescriptionLen = lim.MaxToolNameLen, lim.MaxToolDescriptionLen
	if o.AccessTTL <= 0 {
		o.AccessTTL = time.Hour
	}
	if o.ModelsPageSize <= 0 {
		o.ModelsPageSize = 50
	}
	if o.DeviceInterval <= 0 {
		o.DeviceInterval = 5
	}
	if o.DeviceCodeTTL <= 0 {
		o.DeviceCodeTTL = 10 * time.Minute
	}
	if o.RecordLimit == 0 {
		o.RecordLimit = 1024
	}
	if o.IdCProfileARN == "" {
		o.IdCProfileARN = DefaultIdCProfileARN
	}
	if len(o.RedirectPorts) == 0 {
		o.RedirectPorts = RedirectPorts
	}
	if o.DefaultAnswer == "" {
		o.DefaultAnswer = "Hello from kirofake."
	}
	return o
}

// limits are the options the request rules (kiro/rules) apply.
func (o Options) limits() rules.Limits {
	return rules.Limits{
		MaxPayloadBytes:            o.MaxPayloadBytes,
		ContextLimitTokens:         o.ContextLimitTokens,
		MaxToolNameLen:             o.MaxToolNameLen,
		MaxToolDescriptionLen:      o.MaxToolDescriptionLen,
		RejectEmptyRequired:        o.RejectEmptyRequired,
		RejectAdditionalProperties: o.RejectAdditionalProperties,
	}
}
