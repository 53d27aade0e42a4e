package kirofake

import (
	"net/http"
	"slices"
)

// checkAccess applies the rules that depend on the account and the host:
// an IdC token with a profileArn in the ide style is refused as an invalid
// bearer token (hank9999/kiro.rs#161); the profile rules (checkProfile);
// the runtime host refusing IdC tokens under Options.RuntimeRejectsIdC
// (kiro-protocol.md §11.4); and the account's own model list.
func (s *Server) checkAccess(p *Payload, style string, pl place, a *accountState) *rejection {
	runtime := pl.host == HostRuntime || pl.host == "" && style == StyleRuntime
	if style == StyleIDE && p.ProfileARN != "" && a.AuthMethod == AuthIdC {
		return &rejection{Status: http.StatusForbidden, Body: BodyBearerInvalid, Rule: RuleIdCProfileARN}
	}
	if rej := s.checkProfile(p.ProfileARN, pl, runtime, a); rej != nil {
		return rej
	}
	if runtime && a.AuthMethod == AuthIdC && s.opts.RuntimeRejectsIdC {
		return &rejection{Status: http.StatusForbidden, Body: BodyBearerInvalid, Rule: RuleRuntimeIdC}
	}
	s.mu.Lock()
	models := a.Models
	s.mu.Unlock()
	if u := p.ConversationState.CurrentMessage.UserInputMessage; u != nil && len(models) > 0 && !slices.Contains(models, u.ModelID) {
		return &rejection{Status: http.StatusBadRequest, Body: BodyInvalidModel, Rule: RuleAccountModel}
	}
	return nil
}
