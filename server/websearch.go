package server

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/kirobar/kirobar/canon"
	"github.com/kirobar/kirobar/flows"
	"github.com/kirobar/kirobar/internal/jsonw"
	"github.com/kirobar/kirobar/kiro"
	"github.com/kirobar/kirobar/kiro/eventstream"
	"github.com/kirobar/kirobar/kiro/payload"
	"github.com/kirobar/kirobar/kiro/stream"
)

// The web search server tool turns one client request into several
// upstream calls on the same lease, and the client still sees one message:
// the model is offered a web_search tool (kiro/payload/websearch.go); when
// it calls it, the loop runs the search with Kiro's InvokeMCP on the same
// account, shows the client a server_tool_use and a web_search_tool_result
// block instead of the call, sends the conversation with the results back
// to Kiro and goes on streaming the answer, with block indexes continuing
// where the last response stopped. It ends when a response calls no search
// (or calls a client tool too, which the client runs), after max_uses
// searches (later calls get max_uses_exceeded), or after maxSearchRounds
// responses (stop reason pause_turn, as the Messages API does when its
// server-side loop runs long).

// maxSearchRounds bounds the upstream responses of one client request.
const maxSearchRounds = 10

// Flow event types of the loop: one search, and the request that
// continues the answer with its results.
const (
	eventWebSearch   = "kirobar.webSearch"
	eventSearchRound = "kirobar.webSearchRound"
)

// attachWebSearch gives the call's upstream a web search loop when the
// request declares the web search tool. It runs once the first response is
// open, before the request is dropped from the call.
func (s *Server) attachWebSearch(ctx context.Context, c *call, u *upstream) {
	tool := c.req.WebSearch()
	if tool == nil {
		return
	}
	opts := c.buildOpts
	opts.ConversationID = c.built.ConversationID
	l := &searchLoop{
		s: s, ctx: ctx, u: u, req: c.req, opts: opts, window: c.window,
		searcher: s.deps.Upstream, domains: newDomainFilter(tool),
		idx: map[int]int{}, scans: map[int]*citeScan{},
	}
	if tool.MaxUses != nil {
		l.maxUses = *tool.MaxUses
	}
	u.search = l
}

// searchLoop is the state of one request's web search loop. It runs in the
// goroutine that reads the upstream.
type searchLoop struct {
	s        *Server
	ctx      context.Context
	u        *upstream
	req      *canon.Request // the conversation, growing by one exchange per round
	opts     payload.Options
	window   int
	searcher Upstream
	domains  domainFilter
	maxUses  int // 0: no limit

	uses      int         // searches sent to Kiro, counted against max_uses
	searched  int         // searches that returned results: usage.server_tool_use
	rounds    int         // responses finished
	nextIndex int         // the next block index the client sees
	sum       canon.Usage // of the responses before the current one
	stale     bool        // the current response is in sum already (its successor failed to open)
	again     bool        // the current response searched: the next one continues it
	sources   []source

	// the current response
	idx     map[int]int // its block index -> the client's
	blocks  []roundBlock
	calls   []searchCall
	pending *searchCall // the web_search call whose input is arriving
	client  int         // client tool calls in it
	scans   map[int]*citeScan
	records [][]byte // flow events of its searches, written when it ends
}

// roundBlock is a block the model wrote in the current response, kept for
// the conversation the next response continues.
type roundBlock struct {
	local int
	block canon.Block
	text  []byte
}

// searchCall is one web_search call of the model.
type searchCall struct {
	local  int
	id     string // Kiro's tool use id
	input  []byte
	result string // the tool result text the model reads
	failed bool
}

// source is a search result the answer may cite.
type source struct {
	url, title, snippet string
}

// next returns the next batch of the loop's stream; more is false once the
// last response ended (or the loop failed).
func (l *searchLoop) next() ([]canon.Event, bool) {
	for {
		evs, more := l.u.read()
		out, cont := l.filter(nil, evs)
		l.again = l.again || cont
		if more {
			if len(out) > 0 {
				return out, true
			}
			continue
		}
		if !l.again {
			return out, false
		}
		l.again = false
		if err := l.continueRound(); err != nil {
			return append(out, l.fail(err)), false
		}
		if len(out) > 0 {
			return out, true
		}
	}
}

// filter maps one batch of the current response to the client's stream:
// web_search calls become server tool blocks (the search runs here), other
// blocks get the client's indexes, text gets citations, and MessageStop
// either ends the message or, when the response searched, is held back so
// the next response continues it (cont).
func (l *searchLoop) filter(out, evs []canon.Event) (_ []canon.Event, cont bool) {
	for _, ev := range evs {
		switch ev.Kind {
		case canon.BlockStart:
			if ev.Block == canon.ToolUseBlock && ev.Name == canon.WebSearchName {
				l.pending = &searchCall{local: ev.Index, id: ev.ID}
				continue
			}
			l.idx[ev.Index] = l.nextIndex
			b := roundBlock{local: ev.Index}
			switch ev.Block {
			case canon.TextBlock:
				b.block.Type = canon.BlockText
			case canon.ThinkingBlock:
				b.block.Type = canon.BlockThinking
			case canon.ToolUseBlock:
				l.client++
				b.block = canon.Block{Type: canon.BlockToolUse, ID: ev.ID, Name: ev.Name}
			}
			l.blocks = append(l.blocks, b)
			ev.Index = l.nextIndex
			l.nextIndex++
			out = append(out, ev)
		case canon.BlockDelta:
			if p := l.pending; p != nil && ev.Index == p.local {
				p.input = append(p.input, ev.Delta...)
				continue
			}
			ci, ok := l.idx[ev.Index]
			if !ok {
				continue
			}
			if b := l.block(ev.Index); b != nil {
				b.text = append(b.text, ev.Delta...)
			}
			ev.Index = ci
			out = append(out, ev)
			if ev.Block == canon.TextBlock && len(l.sources) > 0 {
				out = l.cite(out, ci, ev.Delta)
			}
		case canon.BlockStop:
			if p := l.pending; p != nil && ev.Index == p.local {
				l.pending = nil
				out = l.runSearch(out, p)
				continue
			}
			ci, ok := l.idx[ev.Index]
			if !ok {
				continue
			}
			if b := l.block(ev.Index); b != nil && b.block.Type == canon.BlockThinking {
				b.block.Signature = ev.Signature
			}
			delete(l.scans, ci)
			ev.Index = ci
			out = append(out, ev)
		case canon.MessageStop:
			var stop *canon.Event
			stop, cont = l.endRound(ev)
			if stop != nil {
				out = append(out, *stop)
			}
		case canon.Error:
			l.flushRecords(l.rounds+1, 0)
			out = append(out, ev)
		}
	}
	return out, cont
}

func (l *searchLoop) block(local int) *roundBlock {
	for i := range l.blocks {
		if l.blocks[i].local == local {
			return &l.blocks[i]
		}
	}
	return nil
}

// endRound decides what the response's MessageStop means: the end of the
// message (returned, with the usage of every response and the searches
// counted), or a response whose searches the next one continues from.
func (l *searchLoop) endRound(ev canon.Event) (*canon.Event, bool) {
	l.rounds++
	l.flushRecords(l.rounds, ev.Usage.Credits)
	usage := addUsage(l.sum, ev.Usage)
	again := len(l.calls) > 0 && l.client == 0 && ev.StopReason != canon.StopContextWindow && l.ctx.Err() == nil
	if again && l.rounds < maxSearchRounds {
		l.sum, l.stale = usage, true
		return nil, true
	}
	if again {
		ev.StopReason = canon.StopPauseTurn
	}
	l.u.stop = ev.StopReason
	usage.ServerToolUse = &canon.ServerToolUsage{WebSearchRequests: l.searched}
	ev.Usage = usage
	return &ev, false
}

// continueRound sends the conversation with this response's searches and
// their results to Kiro on the same account and makes the answer the
// current response.
func (l *searchLoop) continueRound() error {
	assistant := canon.Message{Role: "assistant"}
	for i := range l.blocks {
		b := l.blocks[i].block
		switch b.Type {
		case canon.BlockText:
			b.Text = string(l.blocks[i].text)
		case canon.BlockThinking:
			b.Thinking = string(l.blocks[i].text)
		}
		assistant.Content = append(assistant.Content, b)
	}
	results := canon.Message{Role: "user"}
	for _, c := range l.calls {
		assistant.Content = append(assistant.Content, canon.Block{
			Type: canon.BlockToolUse, ID: c.id, Name: canon.WebSearchName, Input: searchInput(string(c.input)),
		})
		results.Content = append(results.Content, canon.Block{
			Type: canon.BlockToolResult, ToolUseID: c.id, IsError: c.failed,
			Content: canon.Content{{Type: canon.BlockText, Text: c.result}},
		})
	}
	l.req.Messages = append(l.req.Messages, assistant, results)
	l.blocks, l.calls, l.client = l.blocks[:0], l.calls[:0], 0
	clear(l.idx)
	clear(l.scans)

	built, err := payload.Build(l.req, l.opts)
	if err != nil {
		if errors.Is(err, payload.ErrTooLarge) {
			return &kiro.Error{Class: kiro.ClassContextTooLong, Op: kiro.OpGenerate, Message: "the conversation with the web search results is too long for Kiro", Err: err}
		}
		return &kiro.Error{Class: kiro.ClassBadRequest, Op: kiro.OpGenerate, Message: "the web search loop could not build its next request: " + err.Error()}
	}
	note := jsonw.Int(append([]byte(nil), `{"round":`...), l.rounds+1)
	note = jsonw.Int(append(note, `,"request_bytes":`...), len(built.ConversationState))
	note = jsonw.Int(append(note, `,"history_trimmed":`...), built.Trimmed)
	l.u.note(eventSearchRound, append(note, '}'))
	l.u.close()
	resp, err := l.s.deps.Upstream.Send(l.ctx, l.u.lease.Credentials, built.ConversationState, built.Fields)
	if err != nil {
		l.u.cause = err
		return err
	}
	u := l.u
	u.resp, u.dec, u.done, u.cause = resp, eventstream.NewDecoder(resp.Body), false, nil
	u.conv = stream.New(stream.Options{
		Thinking: built.Thinking, ToolNames: built.ToolNames,
		InputEstimate: built.InputEstimate, ContextWindow: l.window,
	})
	l.stale = false
	return nil
}

// fail ends the loop's stream with an error the client sees in its own
// format.
func (l *searchLoop) fail(err error) canon.Event {
	se := &canon.StreamError{Type: "api_error", Message: "the web search loop failed: " + err.Error()}
	if errors.Is(err, context.Canceled) || l.ctx.Err() != nil {
		se.Message = "the request was canceled during a web search"
	} else if ae := mapError(err, 0, l.window); ae.Type != "" {
		se.Type = ae.Type
		if ae.Status == 429 || ae.Status == 529 {
			se.Type = "overloaded_error"
		}
	}
	return canon.Event{Kind: canon.Error, Err: se}
}

// runSearch answers one web_search call: a server_tool_use block with its
// query, the search on the lease's account (or the reason it did not run),
// and a web_search_tool_result block with what it found.
func (l *searchLoop) runSearch(out []canon.Event, c *searchCall) []canon.Event {
	raw := string(c.input)
	query := searchQuery(raw)
	id := serverToolID()
	in := searchInput(raw)
	use := l.nextIndex
	l.nextIndex++
	out = append(out,
		canon.Event{Kind: canon.BlockStart, Index: use, Block: canon.ServerToolUseBlock, ID: id, Name: canon.WebSearchName},
		canon.Event{Kind: canon.BlockDelta, Index: use, Block: canon.ServerToolUseBlock, Delta: string(in)},
		canon.Event{Kind: canon.BlockStop, Index: use, Block: canon.ServerToolUseBlock},
	)

	start := time.Now()
	outcome, rec := l.search(query)
	rec.Duration = time.Since(start)
	outcome.Query = query
	if outcome.ErrorCode != "" {
		c.failed = true
		c.result = payload.SearchErrorText(query, rec.Detail)
	} else {
		c.result = rec.Text
	}
	l.calls = append(l.calls, *c)
	l.records = append(l.records, rec.json(query, outcome, len(l.calls)))
	l.s.deps.Log.Debug("web search", "account", l.u.lease.AccountID, "results", len(outcome.Results),
		"error_code", outcome.ErrorCode, "duration", rec.Duration)

	res := l.nextIndex
	l.nextIndex++
	return append(out,
		canon.Event{Kind: canon.BlockStart, Index: res, Block: canon.WebSearchResultBlock, ID: id, Search: &outcome},
		canon.Event{Kind: canon.BlockStop, Index: res, Block: canon.WebSearchResultBlock},
	)
}

// searchRecord is what the flow keeps about one search.
type searchRecord struct {
	Sent     string
	Found    int
	Kept     int
	Duration time.Duration
	Detail   string // why the search gave no results
	Text     string // the tool result the model reads
}

func (r searchRecord) json(query string, o canon.SearchOutcome, n int) []byte {
	b := append([]byte(nil), `{"query":`...)
	b = jsonw.String(b, query)
	if r.Sent != "" && r.Sent != query {
		b = jsonw.String(append(b, `,"sent_query":`...), r.Sent)
	}
	b = jsonw.Int(append(b, `,"results":`...), len(o.Results))
	if r.Found != len(o.Results) {
		b = jsonw.Int(append(b, `,"found":`...), r.Found)
	}
	b = append(b, `,"duration_ms":`...)
	b = strconv.AppendFloat(b, float64(r.Duration.Microseconds())/1000, 'f', 1, 64)
	if o.ErrorCode != "" {
		b = jsonw.String(append(b, `,"error_code":`...), o.ErrorCode)
		b = jsonw.String(append(b, `,"error":`...), r.Detail)
	}
	return jsonw.Int(append(b, `,"call":`...), n)
}

// search runs one query, or says why it did not run.
func (l *searchLoop) search(query string) (canon.SearchOutcome, searchRecord) {
	fail := func(code, detail string) (canon.SearchOutcome, searchRecord) {
		return canon.SearchOutcome{ErrorCode: code}, searchRecord{Detail: detail}
	}
	switch {
	case query == "":
		return fail(canon.SearchInvalidInput, "the call had no query.")
	case utf8.RuneCountInString(query) > kiro.MaxSearchQuery:
		return fail(canon.SearchQueryTooLong, "the query is longer than "+strconv.Itoa(kiro.MaxSearchQuery)+" characters; search again with a shorter one.")
	case l.maxUses > 0 && l.uses >= l.maxUses:
		return fail(canon.SearchMaxUses, "the limit of "+strconv.Itoa(l.maxUses)+" searches for this answer is used up.")
	}
	l.uses++
	sent := l.domains.query(query)
	res, err := l.searcher.WebSearch(l.ctx, l.u.lease.Credentials, sent)
	if err != nil {
		code, detail := searchFailure(err)
		o, r := fail(code, detail)
		r.Sent = sent
		return o, r
	}
	l.searched++
	var hits []payload.SearchHit
	var outcome canon.SearchOutcome
	quote := 0
	for _, h := range res.Results {
		if !l.domains.permits(h.URL) {
			continue
		}
		date, age := "", ""
		if !h.Published.IsZero() {
			date, age = h.Published.Format("2006-01-02"), h.Published.Format("January 2, 2006")
		}
		hits = append(hits, payload.SearchHit{Title: h.Title, URL: h.URL, Snippet: h.Snippet, Published: date})
		outcome.Results = append(outcome.Results, canon.SearchHit{
			URL: h.URL, Title: h.Title, EncryptedContent: canon.EncodeSearchContent(h.Snippet), PageAge: age,
		})
		l.sources = append(l.sources, source{url: h.URL, title: h.Title, snippet: h.Snippet})
		if h.MaxVerbatimWords > 0 && (quote == 0 || h.MaxVerbatimWords < quote) {
			quote = h.MaxVerbatimWords
		}
	}
	return outcome, searchRecord{Sent: sent, Found: len(res.Results), Kept: len(hits), Text: payload.SearchResultsText(query, hits, quote)}
}

// searchFailure maps a failed search to its error code and, in words for
// the model, why.
func searchFailure(err error) (code, detail string) {
	ke, ok := kiro.AsError(err)
	switch {
	case errors.Is(err, kiro.ErrNoProfile):
		return canon.SearchUnavailable, "the Kiro account serving this request cannot search the web: it has no Kiro profile (Builder ID accounts have none)."
	case errors.Is(err, kiro.ErrQueryTooLong):
		return canon.SearchQueryTooLong, "the query is longer than " + strconv.Itoa(kiro.MaxSearchQuery) + " characters; search again with a shorter one."
	case !ok:
		return canon.SearchUnavailable, "the search failed: " + err.Error() + "."
	}
	switch ke.Class {
	case kiro.ClassThrottled:
		return canon.SearchTooManyRequests, "Kiro's web search is rate limited right now."
	case kiro.ClassForbidden, kiro.ClassAuth, kiro.ClassSuspended, kiro.ClassQuota:
		return canon.SearchUnavailable, "the Kiro account serving this request is not allowed to search the web (" + strings.TrimSuffix(ke.Message, ".") + "); its plan may not include web search."
	case kiro.ClassBadRequest:
		return canon.SearchInvalidInput, "Kiro's web search refused the query (" + strings.TrimSuffix(ke.Message, ".") + ")."
	case kiro.ClassCanceled:
		return canon.SearchUnavailable, "the request was canceled."
	}
	return canon.SearchUnavailable, "Kiro's web search is unavailable (" + strings.TrimSuffix(ke.Error(), ".") + ")."
}

// flushRecords writes the searches of the response that just ended (the
// round-th of the loop) into the flow, with the credits it metered.
func (l *searchLoop) flushRecords(round int, credits float64) {
	for _, r := range l.records {
		r = jsonw.Int(append(r, `,"round":`...), round)
		r = append(r, `,"round_credits":`...)
		r = strconv.AppendFloat(r, credits, 'f', -1, 64)
		l.u.note(eventWebSearch, append(r, '}'))
	}
	l.records = l.records[:0]
}

// note adds an event of kirobar's own to the flow, within the same bounds
// as the upstream's.
func (u *upstream) note(typ string, payload []byte) {
	if !u.capture {
		return
	}
	if len(u.events) >= flows.MaxEvents || u.captured+len(payload) > flows.MaxEventBytes {
		u.omitted++
		return
	}
	u.captured += len(payload)
	u.events = append(u.events, flows.Event{Type: typ, Payload: payload, At: time.Since(u.start)})
}

// usage is the response's usage: with a web search loop, that of every
// upstream response it made.
func (u *upstream) usage() canon.Usage {
	if u.search == nil {
		return u.conv.Usage()
	}
	if u.search.stale {
		return u.search.sum
	}
	return addUsage(u.search.sum, u.conv.Usage())
}

// addUsage sums the usage of two responses of one message.
func addUsage(a, b canon.Usage) canon.Usage {
	return canon.Usage{
		InputTokens:    a.InputTokens + b.InputTokens,
		OutputTokens:   a.OutputTokens + b.OutputTokens,
		Credits:        a.Credits + b.Credits,
		ContextPercent: b.ContextPercent,
		InputExact:     b.InputExact && (a.InputExact || a.InputTokens == 0), // a is zero before the first response
		ServerToolUse:  b.ServerToolUse,
	}
}

// searchQuery reads the query out of the model's call input.
func searchQuery(input string) string {
	var in struct {
		Query any `json:"query"`
	}
	if json.Unmarshal([]byte(input), &in) != nil {
		return ""
	}
	q, _ := in.Query.(string)
	return strings.TrimSpace(q)
}

// searchInput is the call's input as the client sees it: the model's JSON
// object, or {} when it sent none.
func searchInput(input string) json.RawMessage {
	s := strings.TrimSpace(input)
	if s == "" || s[0] != '{' || !json.Valid([]byte(s)) {
		return json.RawMessage(`{}`)
	}
	return json.RawMessage(s)
}

// serverToolID is a server tool use id in the Messages API's form,
// srvtoolu_ and 24 base62 characters.
func serverToolID() string {
	const alnum = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	var b [24]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	for i := range b {
		b[i] = alnum[int(b[i])%len(alnum)]
	}
	return "srvtoolu_" + string(b[:])
}
