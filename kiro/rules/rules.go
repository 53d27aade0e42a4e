package rules

import "net/http"

// Rule names why a generation is refused, so that a failure says which
// rule fired rather than only Kiro's terse "Improperly formed request.".
type Rule string

// Rules. Each maps to the status and body the real service answers
// (kiro-protocol.md §2, §5.1, §8).
const (
	RuleWrongStyle          Rule = "wrong-style"             // 404
	RuleBearerInvalid       Rule = "bearer-invalid"          // 403
	RuleSuspended           Rule = "suspended"               // 403
	RuleQuota               Rule = "quota-exhausted"         // 402
	RuleThrottled           Rule = "throttled"               // 429
	RuleIdCProfileARN       Rule = "idc-with-profile-arn"    // 403, ide style
	RuleRuntimeIdC          Rule = "runtime-idc"             // 403, Options.RuntimeRejectsIdC
	RuleProfileARNRequired  Rule = "profile-arn-required"    // 400, runtime style
	RulePayloadTooLarge     Rule = "payload-too-large"       // 400 Improperly formed
	RuleMalformedJSON       Rule = "malformed-json"          // 400 Improperly formed
	RuleUnknownField        Rule = "unknown-top-level-field" // 400 REQUEST_BODY_INVALID
	RuleNullValue           Rule = "null-value"              // 400 Improperly formed
	RuleNoConversation      Rule = "missing-conversation-state"
	RuleChatTriggerType     Rule = "chat-trigger-type"
	RuleOrigin              Rule = "origin"
	RuleNoCurrentMessage    Rule = "missing-current-message"
	RuleEmptyContent        Rule = "empty-content"
	RuleHistoryEntry        Rule = "history-entry-shape"
	RuleAlternation         Rule = "history-alternation"
	RuleModelID             Rule = "invalid-model-id" // 400 INVALID_MODEL_ID
	RuleToolUseID           Rule = "tool-use-id"      // 400 REQUEST_BODY_INVALID
	RuleToolInput           Rule = "tool-input-not-object"
	RuleEmptyToolUses       Rule = "empty-tool-uses"
	RuleDuplicateToolUseID  Rule = "duplicate-tool-use-id"
	RuleUnansweredToolUse   Rule = "unanswered-tool-use"
	RuleOrphanToolResult    Rule = "orphan-tool-result"
	RuleToolResultStatus    Rule = "tool-result-status"
	RuleToolResultsNoTools  Rule = "tool-results-without-tools"
	RuleUndeclaredTool      Rule = "undeclared-history-tool"
	RuleToolSpec            Rule = "tool-spec"
	RuleToolNameLength      Rule = "tool-name-length"
	RuleDuplicateTool       Rule = "duplicate-tool-name"
	RuleToolDescription     Rule = "tool-description"
	RuleToolSchema          Rule = "tool-schema"
	RuleSchemaDollarSchema  Rule = "tool-schema-has-$schema"
	RuleImage               Rule = "image"
	RuleThinkingToolResults Rule = "thinking-tags-with-tool-results"
	RuleContextTooLong      Rule = "content-length-exceeds-threshold" // 400 CONTENT_LENGTH_EXCEEDS_THRESHOLD
	RuleModelFields         Rule = "additional-model-request-fields"  // 400, model without native options
	RuleImageTooLarge       Rule = "image-too-large"                  // 400 CONTENT_LENGTH_EXCEEDS_THRESHOLD
	RuleImageDimensions     Rule = "image-dimension-exceeded"         // 400 IMAGE_DIMENSION_EXCEEDED
	RuleImageMismatch       Rule = "image-mime-mismatch"              // 400 IMAGE_MIME_MISMATCH
	RuleImageUnreadable     Rule = "image-format-unsupported"         // 400 IMAGE_FORMAT_UNSUPPORTED
	RuleSchemaCombinator    Rule = "tool-schema-top-level-combinator" // 400 TOOL_SCHEMA_INVALID
)

// Bodies the real service answers with.
const (
	BodyImproperlyFormed = `{"message":"Improperly formed request.","reason":null}`
	BodyBodyInvalid      = `{"message":"Improperly formed request.","reason":"REQUEST_BODY_INVALID"}`
	BodyInvalidModel     = `{"message":"Invalid model. Please select a different model to continue.","reason":"INVALID_MODEL_ID"}`
	BodyInputTooLong     = `{"message":"Input is too long.","reason":"CONTENT_LENGTH_EXCEEDS_THRESHOLD"}`
	BodyProfileRequired  = `{"message":"profileArn is required for this request.","reason":null}`
	BodyBearerInvalid    = `{"message":"The bearer token included in the request is invalid.","__type":"com.amazon.coral.service#AccessDeniedException"}`
	BodyQuota            = `{"message":"You have reached the limit.","reason":"MONTHLY_REQUEST_COUNT"}`
	BodyThrottled        = `{"message":"Too many requests, please wait before trying again.","reason":"SERVICE_REQUEST_RATE_EXCEEDED"}`
	BodyInvalidGrant     = `{"error":"invalid_grant","error_description":"Invalid refresh token provided"}`
	BodyNotFound         = `{"message":"Not Found"}`
)

// Rejection is a refusal: the status and body the service answers with,
// and the rule behind it.
type Rejection struct {
	Status int
	Body   string
	Rule   Rule
}

// Improper is the service's generic 400 "Improperly formed request.".
func Improper(rule Rule) *Rejection {
	return &Rejection{Status: http.StatusBadRequest, Body: BodyImproperlyFormed, Rule: rule}
}

// BodyInvalid is the 400 with reason REQUEST_BODY_INVALID.
func BodyInvalid(rule Rule) *Rejection {
	return &Rejection{Status: http.StatusBadRequest, Body: BodyBodyInvalid, Rule: rule}
}
