package kirofake

import "github.com/kirobar/kirobar/kiro/rules"

// The request rules are kirobar's production package kiro/rules, which
// `kirobar doctor` also applies; the fake enforces them on every generation
// and adds the account-dependent refusals (style, token, quota, throttling,
// suspension) itself. These aliases keep the fake's API in one place.

// Rule names why the fake refused a generation; Stats.Rejections and
// Request.Rule use it, and the x-kirofake-rule response header carries it
// so that a failing end-to-end test says which rule fired.
type Rule = rules.Rule

// rejection is a refusal: status, body and the rule behind it.
type rejection = rules.Rejection

// Decoded request body types.
type (
	Payload                  = rules.Payload
	InferenceConfig          = rules.InferenceConfig
	ConversationState        = rules.ConversationState
	CurrentMessage           = rules.CurrentMessage
	HistoryEntry             = rules.HistoryEntry
	UserInputMessage         = rules.UserInputMessage
	Image                    = rules.Image
	ImageSource              = rules.ImageSource
	UserInputMessageContext  = rules.UserInputMessageContext
	AssistantResponseMessage = rules.AssistantResponseMessage
	ToolUse                  = rules.ToolUse
	Tool                     = rules.Tool
	ToolSpecification        = rules.ToolSpecification
	InputSchema              = rules.InputSchema
	ToolResult               = rules.ToolResult
	ToolResultContent        = rules.ToolResultContent
)

// Rules and the bodies the real service answers with.
const (
	RuleWrongStyle          = rules.RuleWrongStyle
	RuleBearerInvalid       = rules.RuleBearerInvalid
	RuleSuspended           = rules.RuleSuspended
	RuleQuota               = rules.RuleQuota
	RuleThrottled           = rules.RuleThrottled
	RuleIdCProfileARN       = rules.RuleIdCProfileARN
	RuleRuntimeIdC          = rules.RuleRuntimeIdC
	RuleProfileARNRequired  = rules.RuleProfileARNRequired
	RulePayloadTooLarge     = rules.RulePayloadTooLarge
	RuleMalformedJSON       = rules.RuleMalformedJSON
	RuleUnknownField        = rules.RuleUnknownField
	RuleNullValue           = rules.RuleNullValue
	RuleNoConversation      = rules.RuleNoConversation
	RuleChatTriggerType     = rules.RuleChatTriggerType
	RuleOrigin              = rules.RuleOrigin
	RuleNoCurrentMessage    = rules.RuleNoCurrentMessage
	RuleEmptyContent        = rules.RuleEmptyContent
	RuleHistoryEntry        = rules.RuleHistoryEntry
	RuleAlternation         = rules.RuleAlternation
	RuleModelID             = rules.RuleModelID
	RuleToolUseID           = rules.RuleToolUseID
	RuleToolInput           = rules.RuleToolInput
	RuleEmptyToolUses       = rules.RuleEmptyToolUses
	RuleDuplicateToolUseID  = rules.RuleDuplicateToolUseID
	RuleUnansweredToolUse   = rules.RuleUnansweredToolUse
	RuleOrphanToolResult    = rules.RuleOrphanToolResult
	RuleToolResultStatus    = rules.RuleToolResultStatus
	RuleToolResultsNoTools  = rules.RuleToolResultsNoTools
	RuleUndeclaredTool      = rules.RuleUndeclaredTool
	RuleToolSpec            = rules.RuleToolSpec
	RuleToolNameLength      = rules.RuleToolNameLength
	RuleDuplicateTool       = rules.RuleDuplicateTool
	RuleToolDescription     = rules.RuleToolDescription
	RuleToolSchema          = rules.RuleToolSchema
	RuleSchemaDollarSchema  = rules.RuleSchemaDollarSchema
	RuleImage               = rules.RuleImage
	RuleThinkingToolResults = rules.RuleThinkingToolResults
	RuleContextTooLong      = rules.RuleContextTooLong
	BodyImproperlyFormed    = rules.BodyImproperlyFormed
	BodyBodyInvalid         = rules.BodyBodyInvalid
	BodyInvalidModel        = rules.BodyInvalidModel
	BodyInputTooLong        = rules.BodyInputTooLong
	BodyProfileRequired     = rules.BodyProfileRequired
	BodyBearerInvalid       = rules.BodyBearerInvalid
	BodyQuota               = rules.BodyQuota
	BodyThrottled           = rules.BodyThrottled
	BodyInvalidGrant        = rules.BodyInvalidGrant
	bodyNotFound            = rules.BodyNotFound
)
