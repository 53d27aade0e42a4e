package kirofake

import (
	"net/http"
	"regexp"
	"strconv"
	"strings"
)

// TargetListAvailableProfiles is the X-Amz-Target of ListAvailableProfiles, the
// official client's only profile lookup (crates/amzn-codewhisperer-client/src/operation/list_available_profiles.rs;
// kiro-protocol.md §11.1). There is no ListProfiles operation.
const TargetListAvailableProfiles = "AmazonCodeWhispererService.ListAvailableProfiles"

// BuilderIDProfileARN is the fixed profile ARN peers send for AWS Builder
// ID accounts, which have no profile of their own (kiro-protocol.md §11.1).
const BuilderIDProfileARN = "arn:aws:codewhisperer:us-east-1:638616132270:profile/AAAACCCCXXXX"

// DefaultIdCProfileARN is the profile IAM Identity Center accounts get
// when none is set.
const DefaultIdCProfileARN = "arn:aws:codewhisperer:us-east-1:104748392733:profile/KX7PQ2M4ZL9A"

// Refusals that concern the profile, the client or the host; the request
// rules shared with kirobar's doctor are in kiro/rules.
const (
	RuleProfileARNInvalid    Rule = "profile-arn-invalid"     // 400 REQUEST_BODY_INVALID: not a profile ARN
	RuleProfileRegion        Rule = "profile-region-mismatch" // 400 Improperly formed: ARN of another region
	RuleForeignProfile       Rule = "foreign-profile"         // 403: an ARN the account does not own
	RuleBuilderIDPlaceholder Rule = "builder-id-placeholder"  // 403, Options.RefuseBuilderIDPlaceholder
	RuleOverageLimit         Rule = "overage-limit"           // 402 OVERAGE_REQUEST_LIMIT_EXCEEDED
	RuleAccountModel         Rule = "account-model"           // 400 INVALID_MODEL_ID: not in the account's model list
)

// Bodies of the refusals above and of the management calls.
const (
	BodyNotAuthorized         = `{"__type":"com.amazon.aws.codewhisperer#AccessDeniedException","message":"User is not authorized to make this call.","reason":null}`
	BodyInvalidProfile        = `{"__type":"com.amazon.aws.codewhisperer#ValidationException","message":"Invalid profileArn.","reason":null}`
	BodyBuilderIDProfile      = `{"__type":"com.amazon.aws.codewhisperer#AccessDeniedException","message":"AWS Builder ID is not supported for this operation."}`
	BodyOverageLimit          = `{"__type":"com.amazon.aws.codewhisperer#ServiceQuotaExceededException","message":"You have reached the limit for overages.","reason":"OVERAGE_REQUEST_LIMIT_EXCEEDED"}`
	bodyUnknownOperation      = `{"__type":"com.amazon.coral.service#UnknownOperationException","message":null}`
	bodyProfilesSerialization = `{"__type":"com.amazon.coral.service#SerializationException","message":"Start of structure or map found where not expected."}`
)

var profileARN = regexp.MustCompile(`^arn:aws:codewhisperer:([a-z0-9-]+):[0-9]{12}:profile/[A-Za-z0-9]+$`)

// arnRegion returns the region of a well-formed profile ARN, "" otherwise.
func arnRegion(arn string) string {
	m := profileARN.FindStringSubmatch(arn)
	if m == nil {
		return ""
	}
	return m[1]
}

// handleRoot serves POST / of the awsJson1.0 hosts: X-Amz-Target picks the
// operation, as on the real service.
func (s *Server) handleRoot(w http.ResponseWriter, r *http.Request) {
	switch r.Header.Get("X-Amz-Target") {
	case TargetListAvailableProfiles:
		s.handleListProfiles(w, r)
	case TargetInvokeMCP:
		s.handleMCP(w, r)
	case "AmazonCodeWhispererService.ListProfiles":
		// Not an operation of the service (kiro-protocol.md §11.1).
		writeJSON(w, http.StatusBadRequest, bodyUnknownOperation)
	default:
		s.handleGenerate(w, r)
	}
}

type profile struct {
	ARN         string `json:"arn"`
	ProfileName string `json:"profileName"`
}

type listProfilesRequest struct {
	MaxResults *int   `json:"maxResults"`
	NextToken  string `json:"nextToken"`
}

// handleListProfiles is ListAvailableProfiles: the account's profiles that
// live in the host's region (IAM Identity Center profiles live in one
// region, so the other answers an empty list). Builder ID has none and is
// refused. It spends no credits.
func (s *Server) handleListProfiles(w http.ResponseWriter, r *http.Request) {
	p := placeOf(r)
	if !p.is(HostQ) {
		writeJSON(w, http.StatusBadRequest, bodyUnknownOperation)
		return
	}
	a := s.authenticate(r)
	if a == nil {
		writeJSON(w, http.StatusForbidden, BodyBearerInvalid)
		return
	}
	var in listProfilesRequest
	if err := decodeJSON(r, &in); err != nil || in.MaxResults != nil && *in.MaxResults < 1 {
		writeJSON(w, http.StatusBadRequest, bodyProfilesSerialization)
		return
	}
	s.mu.Lock()
	acct := a.Account
	s.updateLocked(func(st *Stats) { st.ProfileListings++ })
	s.mu.Unlock()
	if acct.BuilderID {
		writeJSON(w, http.StatusForbidden, BodyBuilderIDProfile)
		return
	}
	var all []profile
	for _, arn := range append([]string{acct.ProfileARN}, acct.ExtraProfiles...) {
		if arn != "" && arnRegion(arn) == p.region {
			all = append(all, profile{ARN: arn, ProfileName: "KiroProfile-" + p.region})
		}
	}
	start := 0
	if in.NextToken != "" {
		n, err := strconv.Atoi(in.NextToken)
		if err != nil || n < 0 || n > len(all) {
			writeJSON(w, http.StatusBadRequest, `{"__type":"com.amazon.aws.codewhisperer#ValidationException","message":"Invalid nextToken."}`)
			return
		}
		start = n
	}
	end := len(all)
	if in.MaxResults != nil {
		end = min(end, start+*in.MaxResults)
	}
	out := map[string]any{"profiles": append([]profile{}, all[start:end]...)}
	if end < len(all) {
		out["nextToken"] = strconv.Itoa(end)
	}
	writeJSON(w, http.StatusOK, mustJSON(out))
}

// checkProfile applies the profile rules of a generation: the runtime host
// wants a profileArn from every account (kiro-protocol.md §11.1); an ARN
// must be well formed (400 REQUEST_BODY_INVALID), of the host's region
// (400 "Improperly formed request.", §11.2) and the account's own (403);
// a Builder ID account may send the placeholder, which one variant of the
// service refuses.
func (s *Server) checkProfile(arn string, p place, runtime bool, a *accountState) *rejection {
	if arn == "" {
		if runtime {
			return &rejection{Status: http.StatusBadRequest, Body: BodyProfileRequired, Rule: RuleProfileARNRequired}
		}
		return nil
	}
	region := arnRegion(arn)
	switch {
	case region == "":
		return &rejection{Status: http.StatusBadRequest, Body: BodyBodyInvalid, Rule: RuleProfileARNInvalid}
	case region != p.region:
		return &rejection{Status: http.StatusBadRequest, Body: BodyImproperlyFormed, Rule: RuleProfileRegion}
	}
	s.mu.Lock()
	acct := a.Account
	s.mu.Unlock()
	if acct.BuilderID && arn == BuilderIDProfileARN {
		if s.opts.RefuseBuilderIDPlaceholder {
			return &rejection{Status: http.StatusForbidden, Body: BodyNotAuthorized, Rule: RuleBuilderIDPlaceholder}
		}
		return nil
	}
	if !acct.ownsProfile(arn) {
		return &rejection{Status: http.StatusForbidden, Body: BodyNotAuthorized, Rule: RuleForeignProfile}
	}
	return nil
}

// ownsProfile reports whether arn is one of the account's profiles.
func (a Account) ownsProfile(arn string) bool {
	if arn == a.ProfileARN && arn != "" {
		return true
	}
	for _, x := range a.ExtraProfiles {
		if x == arn {
			return true
		}
	}
	return false
}

// managementAccess is the profile rule of getUsageLimits and
// ListAvailableModels: an IAM Identity Center account must name its
// profile (without it the service answers 400 "Invalid profileArn." to a
// current client, kiro-protocol.md §11.5); an ARN given must be the
// account's and of the host's region. Builder ID and social accounts may
// leave it out (the official GetUsageLimitsInput: "Required for enterprise
// customers, optional for Builder ID users").
func managementAccess(acct Account, arn string, p place) (int, string) {
	switch {
	case arn == "" && acct.AuthMethod == AuthIdC && !acct.BuilderID:
		return http.StatusBadRequest, BodyInvalidProfile
	case arn == "":
		return 0, ""
	case arnRegion(arn) != p.region || !acct.ownsProfile(arn):
		return http.StatusBadRequest, BodyInvalidProfile
	}
	return 0, ""
}

// clientVersion is the Kiro IDE version in a user agent
// ("... KiroIDE-1.1.14-<machine id>"), or ok false when the agent names
// none (kiro-cli and SDK agents).
func clientVersion(r *http.Request) (major, minor int, ok bool) {
	for _, h := range []string{r.Header.Get("User-Agent"), r.Header.Get("X-Amz-User-Agent")} {
		i := strings.Index(h, "KiroIDE-")
		if i < 0 {
			continue
		}
		v := h[i+len("KiroIDE-"):]
		if j := strings.IndexAny(v, "- "); j >= 0 {
			v = v[:j]
		}
		parts := strings.Split(v, ".")
		if len(parts) < 2 {
			return 0, 0, false
		}
		maj, err1 := strconv.Atoi(parts[0])
		mnr, err2 := strconv.Atoi(parts[1])
		if err1 != nil || err2 != nil {
			return 0, 0, false
		}
		return maj, mnr, true
	}
	return 0, 0, false
}

// oldClient reports a Kiro IDE older than 1.0, which the service refuses
// on usage and model calls (kiro-protocol.md §11.13).
func oldClient(r *http.Request) bool {
	major, _, ok := clientVersion(r)
	return ok && major < 1
}
