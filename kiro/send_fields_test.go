package kiro

import (
	"context"
	"encoding/json"
	"testing"
)

// TestSendFields checks that the builder's extra top-level members (the
// native effort field) reach the body beside conversationState and
// profileArn, and that a body without them is unchanged.
func TestSendFields(t *testing.T) {
	for _, tc := range []struct {
		name   string
		fields [][]byte
		want   []string // top-level keys
	}{
		{"none", nil, []string{"conversationState", "profileArn"}},
		{"effort", [][]byte{[]byte(`{"additionalModelRequestFields":{"output_config":{"effort":"high"}}}`)},
			[]string{"conversationState", "profileArn", "additionalModelRequestFields"}},
		{"nil and empty objects are ignored", [][]byte{nil, []byte(`{}`), []byte(" ")}, []string{"conversationState", "profileArn"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv, rec := newUpstream(t, streamOK(t, "ok"))
			c, _ := newTestClient(t, testConfig(srv, srv))
			cr := creds()
			cr.APIStyle = StyleRuntime
			resp, err := c.Send(context.Background(), cr, []byte(testState), tc.fields...)
			if err != nil {
				t.Fatal(err)
			}
			_ = resp.Body.Close()
			var top map[string]json.RawMessage
			if err := json.Unmarshal(rec.requests()[0].Body, &top); err != nil {
				t.Fatalf("body is not JSON: %v\n%s", err, rec.requests()[0].Body)
			}
			if len(top) != len(tc.want) {
				t.Fatalf("top-level keys %v, want %v", keys(top), tc.want)
			}
			for _, k := range tc.want {
				if _, ok := top[k]; !ok {
					t.Fatalf("top-level keys %v, want %v", keys(top), tc.want)
				}
			}
			if len(tc.fields) > 0 && tc.name == "effort" && string(top["additionalModelRequestFields"]) != `{"output_config":{"effort":"high"}}` {
				t.Fatalf("additionalModelRequestFields = %s", top["additionalModelRequestFields"])
			}
		})
	}
}

func keys(m map[string]json.RawMessage) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}
