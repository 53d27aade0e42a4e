package kirofake

import "net/http"

// checkAccess applies the style and auth-type rules that depend on the
// account: runtime needs a profileArn; an IdC token with a profileArn on the
// IDE host is refused as an invalid bearer token (hank9999/kiro.rs#161).
func (s *Server) checkAccess(p *Payload, style string, a *accountState) *rejection {
	switch style {
	case StyleRuntime:
		if p.ProfileARN == "" {
			return &rejection{Status: http.StatusBadRequest, Body: BodyProfileRequired, Rule: RuleProfileARNRequired}
		}
		if a.AuthMethod == AuthIdC && s.opts.RuntimeRejectsIdC {
			return &rejection{Status: http.StatusForbidden, Body: BodyBearerInvalid, Rule: RuleRuntimeIdC}
		}
	case StyleIDE:
		if p.ProfileARN != "" && a.AuthMethod == AuthIdC {
			return &rejection{Status: http.StatusForbidden, Body: BodyBearerInvalid, Rule: RuleIdCProfileARN}
		}
	}
	return nil
}
