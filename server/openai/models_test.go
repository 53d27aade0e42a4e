package openai

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/anthropics/anthropic-sdk-go"
	"github.com/openai/openai-go"
)

var testModels = []ModelInfo{
	{ID: "claude-sonnet-4.5", Created: 1759000000, OwnedBy: "kiro", DisplayName: "Claude Sonnet 4.5"},
	{ID: "gpt-4o", Created: 1759000000},
}

func TestModelList(t *testing.T) {
	var list struct {
		Object string         `json:"object"`
		Data   []openai.Model `json:"data"`
	}
	if err := json.Unmarshal(ModelList(testModels), &list); err != nil {
		t.Fatal(err)
	}
	if list.Object != "list" || len(list.Data) != 2 {
		t.Fatalf("list = %+v", list)
	}
	if m := list.Data[1]; m.ID != "gpt-4o" || m.Object != "model" || m.OwnedBy != "kirobar" || m.Created != 1759000000 {
		t.Errorf("model = %+v", m)
	}
	var one openai.Model
	if err := json.Unmarshal(ModelObject(testModels[0]), &one); err != nil || one.ID != "claude-sonnet-4.5" || one.OwnedBy != "kiro" {
		t.Errorf("object = %+v (%v)", one, err)
	}
	if string(ModelList(nil)) != "{\"object\":\"list\",\"data\":[]}\n" {
		t.Errorf("empty list = %s", ModelList(nil))
	}
}

func TestAnthropicModelList(t *testing.T) {
	var page struct {
		Data    []anthropic.ModelInfo `json:"data"`
		HasMore bool                  `json:"has_more"`
		FirstID string                `json:"first_id"`
		LastID  string                `json:"last_id"`
	}
	if err := json.Unmarshal(AnthropicModelList(testModels), &page); err != nil {
		t.Fatal(err)
	}
	if len(page.Data) != 2 || page.HasMore || page.FirstID != "claude-sonnet-4.5" || page.LastID != "gpt-4o" {
		t.Fatalf("page = %+v", page)
	}
	m := page.Data[0]
	if m.ID != "claude-sonnet-4.5" || m.DisplayName != "Claude Sonnet 4.5" || string(m.Type) != "model" || !m.CreatedAt.Equal(time.Unix(1759000000, 0)) {
		t.Errorf("model = %+v", m)
	}
	if page.Data[1].DisplayName != "gpt-4o" {
		t.Errorf("display name fallback = %q", page.Data[1].DisplayName)
	}
	var one anthropic.ModelInfo
	if err := json.Unmarshal(AnthropicModelObject(testModels[1]), &one); err != nil || one.ID != "gpt-4o" {
		t.Errorf("object = %+v (%v)", one, err)
	}
	if string(AnthropicModelList(nil)) != "{\"data\":[],\"has_more\":false,\"first_id\":null,\"last_id\":null}\n" {
		t.Errorf("empty list = %s", AnthropicModelList(nil))
	}
}
