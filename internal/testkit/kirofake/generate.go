package kirofake

import (
	"errors"
	"fmt"
	"io"
	"math"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"github.com/google/uuid"
)

// Request is one recorded generation call.
type Request struct {
	Path string
	// Host and Region are what the URL named (see HostURLs); Host is ""
	// for the root, whose region is us-east-1.
	Host, Region string
	Style        string // StyleRuntime or StyleIDE; "" when neither
	// Account is the ID of the account the bearer token belongs to ("" when
	// the token was not accepted).
	Account     string
	AccessToken string
	Header      http.Header
	Body        []byte
	// Payload is the decoded body (nil when it did not decode). The fields
	// below are shortcuts into it.
	Payload        *Payload
	CurrentContent string
	ToolResults    []ToolResult
	HistoryLen     int
	ModelID        string
	ProfileARN     string
	Tools          []string
	// Status is what the fake answered (200 for a stream); Rule is set when
	// the fake refused the call.
	Status int
	Rule   Rule
}

// maxBody bounds what the fake reads of a request body; anything larger is
// over every payload limit anyway.
const maxBody = 64 << 20

func (s *Server) handleGenerate(w http.ResponseWriter, r *http.Request) {
	pl := placeOf(r)
	req := &Request{
		Path:   r.URL.Path,
		Host:   pl.host,
		Region: pl.region,
		Style:  requestStyle(r),
		Header: r.Header.Clone(),
	}
	req.AccessToken, _ = strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil {
		// The client went away while sending; nothing to answer.
		return
	}
	req.Body = body
	s.update(func(st *Stats) { st.Generations++ })

	if !s.acceptsStyle(req.Style, pl) {
		s.refuse(w, req, &rejection{Status: http.StatusNotFound, Body: bodyNotFound, Rule: RuleWrongStyle})
		return
	}
	acct := s.authenticate(r)
	if acct == nil {
		s.refuse(w, req, &rejection{Status: http.StatusForbidden, Body: BodyBearerInvalid, Rule: RuleBearerInvalid})
		return
	}
	req.Account = acct.ID
	s.update(func(st *Stats) { st.GenerationsByAccount[acct.ID]++ })
	if s.isSuspended(acct) {
		s.refuse(w, req, &rejection{Status: http.StatusForbidden, Body: suspendedBody(acct.ID), Rule: RuleSuspended})
		return
	}
	p, rej := s.rules.Parse(body)
	if p != nil {
		req.fill(p)
	}
	if rej == nil {
		rej = s.checkAccess(p, req.Style, pl, acct)
	}
	if rej == nil {
		rej = s.rules.Validate(p)
	}
	if rej == nil {
		rej = s.checkLimits(w, acct)
	}
	if rej != nil {
		s.refuse(w, req, rej)
		return
	}

	reply := s.nextReply(req, p)
	req.Status = reply.Status
	if req.Status == 0 {
		req.Status = http.StatusOK
	}
	s.record(req)
	if reply.Status == 0 {
		reply.Events = s.shape(reply.Events, req, acct)
	}
	s.answer(w, r, acct.ID, reply)
}

// shape makes a scripted stream look the way the service sends it to this
// caller (kiro-protocol.md §11.10): an awsJson (runtime-style) stream opens
// with the operation's initial-response frame, and an account that never
// sends metadataEvent (Builder ID, Quorinex/Kiro-Go#158) does not get the
// script's metadataEvents: its streams end with meteringEvent and
// contextUsageEvent only.
func (s *Server) shape(events []Event, req *Request, a *accountState) []Event {
	s.mu.Lock()
	noMetadata := a.NoMetadataEvent
	s.mu.Unlock()
	out := make([]Event, 0, len(events)+1)
	if req.Style == StyleRuntime {
		convID := ""
		if req.Payload != nil {
			convID = req.Payload.ConversationState.ConversationID
		}
		if convID == "" {
			convID = uuid.NewString()
		}
		out = append(out, InitialResponse(convID))
	}
	for _, ev := range events {
		if noMetadata && ev.Type == "metadataEvent" && ev.Raw == nil {
			continue
		}
		out = append(out, ev)
	}
	return out
}

// requestStyle classifies a generation call by its headers
// (kiro-protocol.md §1.2).
func requestStyle(r *http.Request) string {
	mediaType, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil {
		return ""
	}
	switch mediaType {
	case "application/x-amz-json-1.0":
		switch r.Header.Get("X-Amz-Target") {
		case TargetGenerate, TargetKiroGenerate:
			return StyleRuntime
		}
	case "application/json":
		return StyleIDE
	}
	return ""
}

// acceptsStyle reports whether the addressed host takes a generation of
// this style: the runtime host only its own, the q host both (the official
// client posts awsJson there, peers the REST form), the root what
// Options.Style says.
func (s *Server) acceptsStyle(style string, pl place) bool {
	switch {
	case style == "":
		return false
	case pl.host == HostRuntime:
		return style == StyleRuntime
	case pl.host == HostQ:
		return true
	}
	return s.opts.Style == StyleAny || s.opts.Style == style
}

func (req *Request) fill(p *Payload) {
	req.Payload = p
	req.ProfileARN = p.ProfileARN
	req.HistoryLen = len(p.ConversationState.History)
	if u := p.ConversationState.CurrentMessage.UserInputMessage; u != nil {
		req.CurrentContent = u.Content
		req.ModelID = u.ModelID
	}
	req.ToolResults = p.CurrentToolResults()
	for _, t := range p.Tools() {
		if t.ToolSpecification != nil {
			req.Tools = append(req.Tools, t.ToolSpecification.Name)
		}
	}
}

func suspendedBody(userID string) string {
	return fmt.Sprintf(`{"message":"Your User ID (%s) temporarily is suspended. TEMPORARILY_SUSPENDED","reason":"TEMPORARILY_SUSPENDED","__type":"com.amazon.coral.service#AccessDeniedException"}`, userID)
}

func (s *Server) isSuspended(a *accountState) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return a.suspended
}

// checkLimits applies quota and throttling; a throttled answer consumes one
// of the scripted 429s. An account with overage enabled goes on past its
// limit until its overage cap, then gets OVERAGE_REQUEST_LIMIT_EXCEEDED
// (the official ServiceQuotaExceededExceptionReason; kiro-protocol.md
// §11.5).
func (s *Server) checkLimits(w http.ResponseWriter, a *accountState) *rejection {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rolloverLocked(a)
	switch {
	case a.quotaExhausted:
		return &rejection{Status: http.StatusPaymentRequired, Body: BodyQuota, Rule: RuleQuota}
	case a.Used >= a.Limit && a.OverageEnabled && a.Used >= a.Limit+a.OverageCap:
		return &rejection{Status: http.StatusPaymentRequired, Body: BodyOverageLimit, Rule: RuleOverageLimit}
	case a.Used >= a.Limit && !a.OverageEnabled:
		return &rejection{Status: http.StatusPaymentRequired, Body: BodyQuota, Rule: RuleQuota}
	}
	if a.throttleLeft > 0 {
		a.throttleLeft--
		if a.retryAfter > 0 {
			w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(a.retryAfter.Seconds()))))
		}
		s.updateLocked(func(st *Stats) { st.Throttled[a.ID]++ })
		return &rejection{Status: http.StatusTooManyRequests, Body: BodyThrottled, Rule: RuleThrottled}
	}
	return nil
}

func (s *Server) refuse(w http.ResponseWriter, req *Request, rej *rejection) {
	req.Status = rej.Status
	req.Rule = rej.Rule
	s.record(req)
	s.update(func(st *Stats) { st.Rejections[rej.Rule]++ })
	w.Header().Set("x-kirofake-rule", string(rej.Rule))
	writeJSON(w, rej.Status, rej.Body)
}

func (s *Server) record(req *Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests = keepLast(s.requests, *req, s.opts.RecordLimit)
}

// keepLast appends v to s and keeps at most limit items, the newest;
// a negative limit keeps none.
func keepLast[T any](s []T, v T, limit int) []T {
	if limit < 0 {
		return s
	}
	if len(s) >= limit {
		s = append(s[:0], s[1:]...)
	}
	return append(s, v)
}

// nextReply takes the next queued reply, else asks the responder, else
// answers with the default text.
func (s *Server) nextReply(req *Request, p *Payload) Reply {
	s.mu.Lock()
	if len(s.queue) > 0 {
		r := s.queue[0]
		s.queue = s.queue[1:]
		s.mu.Unlock()
		return r
	}
	fn := s.responder
	s.mu.Unlock()
	if fn != nil {
		return fn(req)
	}
	pct := 100 * float64(s.rules.EstimateTokens(p)) / float64(s.opts.ContextLimitTokens)
	events := append(Text(s.opts.DefaultAnswer, 3), Metering(0.01), ContextUsage(math.Round(pct*100)/100), Metadata("END_TURN"))
	return Reply{Events: events}
}

// answer writes a reply: an error response, or the event stream with each
// frame flushed as it is produced.
func (s *Server) answer(w http.ResponseWriter, r *http.Request, accountID string, reply Reply) {
	ctx := r.Context()
	if err := s.wait(ctx, reply.FirstByteDelay, nil); err != nil {
		s.stopped(err)
		return
	}
	for k, v := range reply.Header {
		w.Header().Set(k, v)
	}
	if reply.Status != 0 {
		writeJSON(w, reply.Status, reply.Body)
		return
	}
	frames := make([][]byte, len(reply.Events))
	for i, ev := range reply.Events {
		b, err := ev.Encode()
		if err != nil {
			writeJSON(w, http.StatusInternalServerError, fmt.Sprintf(`{"message":%q}`, "kirofake: scripted event: "+err.Error()))
			return
		}
		frames[i] = b
	}
	rc := http.NewResponseController(w)
	w.Header().Set("Content-Type", "application/vnd.amazon.eventstream")
	w.Header().Set("x-amzn-RequestId", uuid.NewString())
	w.WriteHeader(http.StatusOK)
	s.update(func(st *Stats) { st.Streams++ })
	if err := rc.Flush(); err != nil {
		s.stopped(errClientGone)
		return
	}
	for i, ev := range reply.Events {
		if err := s.wait(ctx, ev.Delay, ev.Gate); err != nil {
			s.stopped(err)
			if errors.Is(err, errClosing) {
				// Mounted on a foreign server: break the stream as a dying
				// upstream would rather than end it cleanly.
				cut(rc)
			}
			return
		}
		if _, err := w.Write(frames[i]); err != nil {
			s.stopped(errClientGone)
			return
		}
		if err := rc.Flush(); err != nil {
			s.stopped(errClientGone)
			return
		}
		s.meter(accountID, ev)
		if ev.CloseAfter {
			s.reset(rc)
			return
		}
		if i < len(reply.Events)-1 && ctx.Err() != nil {
			s.stopped(errClientGone)
			return
		}
	}
	s.update(func(st *Stats) { st.Completed++ })
}

// stopped counts a stream that ended early because the client went away;
// streams ended by Close are not the client's doing.
func (s *Server) stopped(err error) {
	if !errors.Is(err, errClientGone) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	s.updateLocked(func(st *Stats) { st.Canceled++ })
}

// reset cuts the connection without finishing the chunked body, so the
// client sees the stream break mid-way.
func (s *Server) reset(rc *http.ResponseController) {
	s.update(func(st *Stats) { st.Resets++ })
	cut(rc)
}

// cut hijacks and closes the connection under a response in progress.
func cut(rc *http.ResponseController) {
	conn, _, err := rc.Hijack()
	if err != nil {
		// Not hijackable (HTTP/2 or a wrapped writer): the handler returns
		// and the stream ends cleanly; Stats still shows what happened.
		return
	}
	// The connection is being thrown away; its close error is irrelevant.
	_ = conn.Close()
}

// meter adds the credits of a meteringEvent to the account's usage.
func (s *Server) meter(accountID string, ev Event) {
	if ev.Type != "meteringEvent" {
		return
	}
	var credits float64
	switch p := ev.Payload.(type) {
	case meteringPayload:
		credits = p.Usage
	case map[string]any:
		credits, _ = p["usage"].(float64)
	default:
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if a, ok := s.accounts[accountID]; ok {
		a.Used += credits
	}
}
