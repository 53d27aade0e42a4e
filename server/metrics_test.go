package server_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/kirobar/kirobar/internal/metrics"
	"github.com/kirobar/kirobar/internal/testkit/kirofake"
)

// scrape reads /metrics with the given key and parses it as Prometheus
// does, so a malformed exposition fails here.
func (h *harness) scrape(key string) (int, map[string]*dto.MetricFamily) {
	h.t.Helper()
	req, err := http.NewRequest(http.MethodGet, h.url+"/metrics", nil)
	if err != nil {
		h.t.Fatal(err)
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	body := readAll(h.t, resp.Body)
	if resp.StatusCode != 200 {
		return resp.StatusCode, nil
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain; version=0.0.4") {
		h.t.Fatalf("Content-Type %q", ct)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := p.TextToMetricFamilies(strings.NewReader(body))
	if err != nil {
		h.t.Fatalf("parse /metrics: %v\n%s", err, body)
	}
	return 200, mfs
}

// value finds the sample of family name whose labels include want; a
// histogram reads as its sample count.
func value(mfs map[string]*dto.MetricFamily, name string, want map[string]string) (float64, bool) {
	mf, ok := mfs[name]
	if !ok {
		return 0, false
	}
	for _, m := range mf.GetMetric() {
		labels := map[string]string{}
		for _, l := range m.GetLabel() {
			labels[l.GetName()] = l.GetValue()
		}
		match := true
		for k, v := range want {
			if labels[k] != v {
				match = false
			}
		}
		if !match {
			continue
		}
		switch {
		case m.Counter != nil:
			return m.GetCounter().GetValue(), true
		case m.Gauge != nil:
			return m.GetGauge().GetValue(), true
		case m.Histogram != nil:
			return float64(m.GetHistogram().GetSampleCount()), true
		}
	}
	return 0, false
}

// TestMetrics: /metrics needs a client key, and counts requests by
// surface, status and model, time to first byte, the upstream errors a
// failover went through, and waits for an account; it is no request of
// the day itself.
func TestMetrics(t *testing.T) {
	m := metrics.New(metrics.Info{Instance: "gw-test", Version: "test"})
	h := newHarness(t, harnessOptions{accounts: 2, metrics: m})

	for _, key := range []string{"", "kb-wrong-key-0123456789"} {
		if code, _ := h.scrape(key); code != 401 {
			t.Fatalf("/metrics with key %q: HTTP %d, want 401", key, code)
		}
	}
	h.fake.Enqueue(kirofake.ErrorReply(429, kirofake.BodyThrottled))
	body := `{"model":"claude-sonnet-4-5","max_tokens":10,"messages":[{"role":"user","content":"hi"}]}`
	if resp := h.post("/v1/messages", body, nil); resp.StatusCode != 200 {
		t.Fatalf("first request: HTTP %d %s", resp.StatusCode, readAll(t, resp.Body))
	} else {
		readAll(t, resp.Body)
	}
	if resp := h.post("/v1/chat/completions", `{"model":"gpt-4o","messages":"not a list"}`, nil); resp.StatusCode != 400 {
		t.Fatalf("bad request: HTTP %d", resp.StatusCode)
	} else {
		readAll(t, resp.Body)
	}

	want := []struct {
		name   string
		labels map[string]string
		value  float64
	}{
		{"kirobar_requests_total", map[string]string{"surface": "anthropic", "status": "200", "model": "claude-sonnet-4.5"}, 1},
		{"kirobar_requests_total", map[string]string{"surface": "openai", "status": "400"}, 1},
		{"kirobar_time_to_first_byte_seconds", map[string]string{"surface": "anthropic", "model": "claude-sonnet-4.5"}, 1},
		{"kirobar_request_duration_seconds", map[string]string{"surface": "anthropic"}, 1},
		{"kirobar_upstream_errors_total", map[string]string{"class": "throttled"}, 1},
		{"kirobar_queue_wait_seconds", nil, 2},
		{"kirobar_instance_info", map[string]string{"name": "gw-test", "version": "test"}, 1},
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		code, mfs := h.scrape(testKey)
		if code != 200 {
			t.Fatalf("/metrics: HTTP %d", code)
		}
		var missing []string
		for _, w := range want {
			if got, ok := value(mfs, w.name, w.labels); !ok || got != w.value {
				missing = append(missing, w.name)
			}
		}
		if len(missing) == 0 {
			break
		}
		if time.Now().After(deadline) {
			for _, w := range want {
				got, ok := value(mfs, w.name, w.labels)
				t.Errorf("%s%v = %v (present %v), want %v", w.name, w.labels, got, ok, w.value)
			}
			t.FailNow()
		}
		time.Sleep(20 * time.Millisecond)
	}
	if n := h.srv.RequestsToday(); n != 2 {
		t.Errorf("requests today = %d, want 2: scraping /metrics is no request", n)
	}
}
