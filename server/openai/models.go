package openai

import (
	"time"

	"github.com/kirobar/kirobar/internal/jsonw"
	"github.com/kirobar/kirobar/kiro/models"
)

// ModelInfo is a model the pool can serve, or a configured alias of one.
type ModelInfo struct {
	ID      string
	Created int64 // Unix time
	OwnedBy string
	// DisplayName is shown by Anthropic clients; empty means the ID.
	DisplayName string
}

// ModelList renders GET /v1/models in OpenAI's list format.
func ModelList(models []ModelInfo) []byte {
	dst := make([]byte, 0, 32+64*len(models))
	dst = append(dst, `{"object":"list","data":[`...)
	for i, m := range models {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendModel(dst, m)
	}
	return append(dst, "]}\n"...)
}

// ModelObject renders GET /v1/models/{id} in OpenAI's format.
func ModelObject(m ModelInfo) []byte {
	return append(appendModel(make([]byte, 0, 96), m), '\n')
}

func appendModel(dst []byte, m ModelInfo) []byte {
	owner := m.OwnedBy
	if owner == "" {
		owner = "kirobar"
	}
	dst = append(dst, `{"id":`...)
	dst = jsonw.String(dst, m.ID)
	dst = append(dst, `,"object":"model","created":`...)
	dst = jsonw.Int(dst, int(m.Created))
	dst = append(dst, `,"owned_by":`...)
	dst = jsonw.String(dst, owner)
	return append(dst, '}')
}

// AnthropicModelList renders GET /v1/models in Anthropic's format, for
// clients that send anthropic-version.
func AnthropicModelList(models []ModelInfo) []byte {
	dst := make([]byte, 0, 64+96*len(models))
	dst = append(dst, `{"data":[`...)
	for i, m := range models {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendAnthropicModel(dst, m)
	}
	dst = append(dst, `],"has_more":false,"first_id":`...)
	if len(models) == 0 {
		dst = append(dst, `null,"last_id":null`...)
	} else {
		dst = jsonw.String(dst, models[0].ID)
		dst = append(dst, `,"last_id":`...)
		dst = jsonw.String(dst, models[len(models)-1].ID)
	}
	return append(dst, "}\n"...)
}

// AnthropicModelObject renders GET /v1/models/{id} in Anthropic's format.
func AnthropicModelObject(m ModelInfo) []byte {
	return append(appendAnthropicModel(make([]byte, 0, 128), m), '\n')
}

func appendAnthropicModel(dst []byte, m ModelInfo) []byte {
	name := m.DisplayName
	if name == "" {
		name = m.ID
	}
	dst = append(dst, `{"type":"model","id":`...)
	dst = jsonw.String(dst, m.ID)
	dst = append(dst, `,"display_name":`...)
	dst = jsonw.String(dst, name)
	dst = append(dst, `,"created_at":`...)
	dst = jsonw.String(dst, time.Unix(m.Created, 0).UTC().Format(time.RFC3339))
	return append(dst, '}')
}

// ServedModelInfos lists the models the pool serves for GET /v1/models:
// served is what Kiro offered the accounts (ID and Kiro's name in
// DisplayName), or — while no account's models were listed — empty, and
// the static table is listed. Known ids get kirobar's display names when
// Kiro named them by their id.
func ServedModelInfos(served []ModelInfo, created int64) []ModelInfo {
	var out []ModelInfo
	if len(served) == 0 {
		for _, m := range models.Known() {
			out = append(out, ModelInfo{ID: m.ID, Created: created, OwnedBy: "kiro", DisplayName: m.Display})
		}
		return out
	}
	for _, m := range served {
		name := m.DisplayName
		if k, ok := models.Lookup(m.ID); ok && (name == "" || name == m.ID) {
			name = k.Display
		}
		out = append(out, ModelInfo{ID: m.ID, Created: created, OwnedBy: "kiro", DisplayName: name})
	}
	return out
}
