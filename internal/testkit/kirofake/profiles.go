package kirofake

import "net/http"

// TargetListProfiles is the X-Amz-Target of the awsJson1.0 ListProfiles
// call kirobar makes after a Builder ID or IdC login, whose tokens carry no
// profile ARN (kiro-protocol.md §2.3, §7.3).
const TargetListProfiles = "AmazonCodeWhispererService.ListProfiles"

// handleRoot serves POST / of the awsJson1.0 hosts: X-Amz-Target picks the
// operation, as on the real service.
func (s *Server) handleRoot(w http.ResponseWriter, r *http.Request) {
	switch r.Header.Get("X-Amz-Target") {
	case TargetListProfiles:
		s.handleListProfiles(w, r)
		return
	case TargetInvokeMCP:
		s.handleMCP(w, r)
		return
	}
	s.handleGenerate(w, r)
}

type profile struct {
	ARN         string `json:"arn"`
	ProfileName string `json:"profileName"`
}

// handleListProfiles answers the account's profile: its own ARN when it has
// one, else DefaultProfileARN. It spends no credits.
func (s *Server) handleListProfiles(w http.ResponseWriter, r *http.Request) {
	a := s.authenticate(r)
	if a == nil {
		writeJSON(w, http.StatusForbidden, BodyBearerInvalid)
		return
	}
	s.mu.Lock()
	arn := a.ProfileARN
	s.updateLocked(func(st *Stats) { st.ProfileListings++ })
	s.mu.Unlock()
	if arn == "" {
		arn = DefaultProfileARN
	}
	writeJSON(w, http.StatusOK, mustJSON(map[string]any{"profiles": []profile{{ARN: arn, ProfileName: "KiroProfile-us-east-1"}}}))
}
