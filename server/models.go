package server

import (
	"github.com/kirobar/kirobar/accounts"
	"github.com/kirobar/kirobar/kiro/models"
)

// servedIDs are the model ids the pool's accounts were offered; nil until
// listed (then the static table decides).
func (s *Server) servedIDs() []string { return s.deps.Pool.ServedModelIDs() }

// servedModels is servedIDs with names and token limits.
func (s *Server) servedModels() []accounts.ServedModel { return s.deps.Pool.ServedModels() }

// contextWindow is the model's window: the static table's for a known id,
// else the input limit Kiro listed for it, else the table's default.
func (s *Server) contextWindow(id string) int {
	if _, known := models.Lookup(id); known {
		return models.ContextWindow(id)
	}
	for _, m := range s.servedModels() {
		if m.ID == id && m.MaxInputTokens > 0 {
			return m.MaxInputTokens
		}
	}
	return models.ContextWindow(id)
}
