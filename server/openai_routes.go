package server

import (
	"errors"
	"sort"
	"strings"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/kirobar/kirobar/canon"
	"github.com/kirobar/kirobar/server/openai"
)

func init() {
	routes["/v1/chat/completions"] = route{fasthttp.MethodPost, (*Server).handleChat}
	routes["/v1/responses"] = route{fasthttp.MethodPost, (*Server).handleResponses}
	routes["/v1/models"] = route{fasthttp.MethodGet, (*Server).handleModels}
	routes["/v1/models/{id}"] = route{fasthttp.MethodGet, (*Server).handleModel}
}

// openAIReject answers a request the OpenAI decoders refused.
func (s *Server) openAIReject(ctx *fasthttp.RequestCtx, c *call, err error) {
	var re *openai.RequestError
	if !errors.As(err, &re) {
		s.reject(ctx, c, badRequest(err.Error()))
		return
	}
	s.reject(ctx, c, &apiError{Status: re.Status, Type: "invalid_request_error", Message: re.Message, Param: re.Param, Code: re.Code})
}

func (s *Server) handleChat(ctx *fasthttp.RequestCtx, keyName string, start time.Time) {
	c := s.newCall(ctx, surfOpenAI, keyName, start)
	c.id = newID("chatcmpl-")
	req, opt, err := openai.DecodeChat(c.body)
	if err != nil {
		s.openAIReject(ctx, c, err)
		return
	}
	if len(opt.Ignored) > 0 {
		s.deps.Log.Debug("chat completion: fields Kiro cannot honour were ignored", "fields", strings.Join(opt.Ignored, ","))
	}
	if !s.accept(ctx, c, req) {
		return
	}
	created, model := start.Unix(), req.Model // the closure must not keep the decoded request alive
	enc := openai.NewChatStream(c.id, model, created, opt)
	s.serve(ctx, c, enc, func(r canon.Response) []byte { return openai.ChatResponse(r, c.id, model, created, opt) })
}

func (s *Server) handleResponses(ctx *fasthttp.RequestCtx, keyName string, start time.Time) {
	c := s.newCall(ctx, surfResponses, keyName, start)
	c.id = newID("resp_")
	req, opt, err := openai.DecodeResponses(c.body)
	if err != nil {
		s.openAIReject(ctx, c, err)
		return
	}
	if len(opt.IgnoredTools) > 0 || len(opt.IgnoredInclude) > 0 {
		s.deps.Log.Info("responses: tools and include entries Kiro cannot serve were ignored",
			"tools", strings.Join(opt.IgnoredTools, ","), "include", strings.Join(opt.IgnoredInclude, ","))
	}
	if !s.accept(ctx, c, req) {
		return
	}
	created, model := start.Unix(), req.Model // the closure must not keep the decoded request alive
	enc := openai.NewResponsesStream(c.id, model, created, opt)
	s.serve(ctx, c, enc, func(r canon.Response) []byte { return openai.ResponsesResponse(r, c.id, model, created, opt) })
}

// modelCreated is the fixed "created" time reported for Kiro models.
const modelCreated = 1735689600 // 2025-01-01

// modelInfos lists the models the pool can serve — the union of what
// Kiro offered its accounts (ListAvailableModels), or the static table
// while no account's models were listed — and the configured aliases that
// resolve to one of them.
func (s *Server) modelInfos() []openai.ModelInfo {
	var served []openai.ModelInfo
	for _, m := range s.servedModels() {
		served = append(served, openai.ModelInfo{ID: m.ID, DisplayName: m.Name})
	}
	out := openai.ServedModelInfos(served, modelCreated)
	seen := map[string]bool{}
	for _, m := range out {
		seen[m.ID] = true
	}
	ids := s.servedIDs()
	aliases := s.deps.Models.Aliases()
	names := make([]string, 0, len(aliases))
	for name := range aliases {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if seen[name] {
			continue
		}
		if target, ok := s.deps.Models.ResolveServed(name, ids); ok {
			seen[name] = true
			out = append(out, openai.ModelInfo{ID: name, Created: modelCreated, OwnedBy: "kirobar", DisplayName: name + " (" + target + ")"})
		}
	}
	return out
}

func wantsAnthropic(ctx *fasthttp.RequestCtx) bool {
	return len(ctx.Request.Header.Peek("anthropic-version")) > 0
}

func (s *Server) handleModels(ctx *fasthttp.RequestCtx, _ string, _ time.Time) {
	ctx.SetContentType("application/json")
	if wantsAnthropic(ctx) {
		ctx.SetBody(openai.AnthropicModelList(s.modelInfos()))
		return
	}
	ctx.SetBody(openai.ModelList(s.modelInfos()))
}

func (s *Server) handleModel(ctx *fasthttp.RequestCtx, _ string, _ time.Time) {
	id := strings.TrimPrefix(string(ctx.Path()), "/v1/models/")
	for _, m := range s.modelInfos() {
		if m.ID != id {
			continue
		}
		ctx.SetContentType("application/json")
		if wantsAnthropic(ctx) {
			ctx.SetBody(openai.AnthropicModelObject(m))
			return
		}
		ctx.SetBody(openai.ModelObject(m))
		return
	}
	surf := surfOpenAI
	if wantsAnthropic(ctx) {
		surf = surfAnthropic
	}
	writeError(ctx, surf, &apiError{Status: 404, Type: "not_found_error", Code: openai.CodeModelNotFound, Param: "model", Message: "model " + id + " is not served by kirobar; GET /v1/models lists what is"})
}
