package server

import (
	"github.com/kirobar/kirobar/accounts"
	"github.com/kirobar/kirobar/kiro/models"
)

// modelCatalog is a pool that knows which models its accounts are offered
// (accounts.Manager lists them per account with ListAvailableModels).
type modelCatalog interface {
	ServedModels() []accounts.ServedModel
	ServedModelIDs() []string
}

// servedIDs are the model ids the pool's accounts were offered; nil when
// the pool does not know (then the static table decides).
func (s *Server) servedIDs() []string {
	if mc, ok := s.deps.Pool.(modelCatalog); ok {
		return mc.ServedModelIDs()
	}
	return nil
}

// servedModels is servedIDs with names and token limits.
func (s *Server) servedModels() []accounts.ServedModel {
	if mc, ok := s.deps.Pool.(modelCatalog); ok {
		return mc.ServedModels()
	}
	return nil
}

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
