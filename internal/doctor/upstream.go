package doctor

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/kirobar/kirobar/kiro/eventstream"
	"github.com/kirobar/kirobar/kiro/models"
	"github.com/kirobar/kirobar/kiro/rules"
)

// selfTestProfileARN is the profile the private upstream hands out with a
// token, shaped like a real social profile ARN.
const selfTestProfileARN = "arn:aws:codewhisperer:us-east-1:000000000000:profile/DOCTORSELFTEST"

// selfTestAnswer is the text the private upstream streams back.
const selfTestAnswer = "kirobar self-test answer"

// maxSelfTestBody bounds what the private upstream reads of one request.
const maxSelfTestBody = 8 << 20

// upstreamCall is what one generation call brought to the private upstream.
type upstreamCall struct {
	Rule    rules.Rule // the rule that refused it; "" when accepted
	Status  int
	Payload *rules.Payload
}

// selfTestUpstream is a private, loopback stand-in for Kiro: it refreshes
// the self-test account's token and applies the service's request rules
// (kiro/rules) to every generation, answering accepted ones with a short
// event stream. It lets `kirobar doctor` check the whole translation path
// without network or credits.
type selfTestUpstream struct {
	URL string

	srv     *http.Server
	done    chan struct{}
	checker *rules.Checker
	access  string

	mu    sync.Mutex
	calls []upstreamCall
}

// startSelfTestUpstream serves the private upstream on a free loopback port.
func startSelfTestUpstream() (*selfTestUpstream, error) {
	var b [24]byte
	if _, err := rand.Read(b[:]); err != nil {
		return nil, fmt.Errorf("self-test access token: %w", err)
	}
	ids := []string{"auto"}
	for _, m := range models.Known() {
		ids = append(ids, m.ID)
	}
	u := &selfTestUpstream{
		checker: rules.NewChecker(rules.Limits{}, ids),
		access:  "doctor-" + hex.EncodeToString(b[:]),
		done:    make(chan struct{}),
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("self-test upstream: listen on loopback: %w", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /refreshToken", u.refresh)
	mux.HandleFunc("POST /generateAssistantResponse", u.generate)
	mux.HandleFunc("POST /{$}", u.generate)
	u.URL = "http://" + ln.Addr().String()
	u.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		defer close(u.done)
		// Serve ends with http.ErrServerClosed when close shuts it down.
		_ = u.srv.Serve(ln)
	}()
	return u, nil
}

// close stops the server and waits for it.
func (u *selfTestUpstream) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := u.srv.Shutdown(ctx); err != nil {
		_ = u.srv.Close() // a handler outlived the grace; nothing else to do
	}
	<-u.done
}

// last returns the newest call, if any arrived after n calls.
func (u *selfTestUpstream) last(n int) (upstreamCall, bool) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if len(u.calls) <= n {
		return upstreamCall{}, false
	}
	return u.calls[len(u.calls)-1], true
}

// count returns how many generation calls arrived.
func (u *selfTestUpstream) count() int {
	u.mu.Lock()
	defer u.mu.Unlock()
	return len(u.calls)
}

func (u *selfTestUpstream) note(c upstreamCall) {
	u.mu.Lock()
	u.calls = append(u.calls, c)
	u.mu.Unlock()
}

// refresh answers a social token refresh with a fresh access token and a
// profile ARN, as Kiro's auth service does.
func (u *selfTestUpstream) refresh(w http.ResponseWriter, r *http.Request) {
	var req struct {
		RefreshToken string `json:"refreshToken"`
	}
	if err := json.NewDecoder(io.LimitReader(r.Body, 64<<10)).Decode(&req); err != nil || req.RefreshToken == "" {
		writeUpstreamJSON(w, http.StatusBadRequest, `{"error":"invalid_request"}`)
		return
	}
	answer, err := json.Marshal(map[string]any{
		"accessToken": u.access, "refreshToken": req.RefreshToken,
		"profileArn": selfTestProfileARN, "expiresIn": 3600,
	})
	if err != nil {
		writeUpstreamJSON(w, http.StatusInternalServerError, `{"message":"encode"}`)
		return
	}
	writeUpstreamJSON(w, http.StatusOK, string(answer))
}

// generate applies the service's rules to a generation and streams a short
// answer when they accept it.
func (u *selfTestUpstream) generate(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("Authorization") != "Bearer "+u.access {
		u.note(upstreamCall{Rule: rules.RuleBearerInvalid, Status: http.StatusForbidden})
		writeUpstreamJSON(w, http.StatusForbidden, rules.BodyBearerInvalid)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxSelfTestBody))
	if err != nil {
		return // the client went away while sending
	}
	p, rej := u.checker.Check(body)
	if rej == nil && r.URL.Path == "/" && p.ProfileARN == "" {
		rej = &rules.Rejection{Status: http.StatusBadRequest, Body: rules.BodyProfileRequired, Rule: rules.RuleProfileARNRequired}
	}
	if rej != nil {
		u.note(upstreamCall{Rule: rej.Rule, Status: rej.Status, Payload: p})
		writeUpstreamJSON(w, rej.Status, rej.Body)
		return
	}
	u.note(upstreamCall{Status: http.StatusOK, Payload: p})
	stream, err := answerFrames()
	if err != nil {
		writeUpstreamJSON(w, http.StatusInternalServerError, `{"message":"encode"}`)
		return
	}
	w.Header().Set("Content-Type", "application/vnd.amazon.eventstream")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(stream) // a failed write means the client left
}

// answerFrames encodes a complete short answer: text, metering and context
// usage, the frames a finished Kiro stream carries.
func answerFrames() ([]byte, error) {
	var out []byte
	for _, ev := range []struct {
		typ     string
		payload any
	}{
		{"assistantResponseEvent", map[string]string{"content": selfTestAnswer}},
		{"meteringEvent", map[string]any{"unit": "credit", "unitPlural": "credits", "usage": 0.01}},
		{"contextUsageEvent", map[string]any{"contextUsagePercentage": 1.5}},
	} {
		payload, err := json.Marshal(ev.payload)
		if err != nil {
			return nil, fmt.Errorf("encode %s: %w", ev.typ, err)
		}
		out, err = eventstream.Append(out, eventstream.Message{
			Headers: eventstream.Headers{
				{Name: eventstream.HeaderMessageType, Value: "event"},
				{Name: eventstream.HeaderEventType, Value: ev.typ},
				{Name: eventstream.HeaderContentType, Value: "application/json"},
			},
			Payload: payload,
		})
		if err != nil {
			return nil, fmt.Errorf("frame %s: %w", ev.typ, err)
		}
	}
	return out, nil
}

func writeUpstreamJSON(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(body)) // a failed write means the client left
}

// describe is a short account of an accepted payload for the doctor's
// report.
func describe(p *rules.Payload) (current string, tools, history int) {
	if p == nil {
		return "", 0, 0
	}
	if cur := p.ConversationState.CurrentMessage.UserInputMessage; cur != nil {
		current = cur.Content
	}
	return current, len(p.Tools()), len(p.ConversationState.History)
}
