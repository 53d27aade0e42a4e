package dashboard

import (
	"errors"
	"net"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/kirobar/kirobar/accounts"
	"github.com/kirobar/kirobar/flows"
	"github.com/kirobar/kirobar/internal/team"
)

// accountList is GET /api/accounts: the accounts as the CLI and tray see
// them (tokens masked), with the server's clock so a page's countdowns do
// not depend on the browser's.
type accountList struct {
	Now      time.Time       `json:"now"`
	Accounts []accounts.View `json:"accounts"`
}

func (h *Handler) accountList() accountList {
	views := h.deps.Accounts.List()
	if views == nil {
		views = []accounts.View{}
	}
	return accountList{Now: h.deps.Now().UTC(), Accounts: views}
}

func (h *Handler) getAccounts(ctx *fasthttp.RequestCtx, _ params) {
	writeJSON(ctx, fasthttp.StatusOK, h.accountList())
}

// accountCounts sums the pool by what a user must do about it.
type accountCounts struct {
	Total      int `json:"total"`
	Ready      int `json:"ready"`
	Cooling    int `json:"cooling"`
	NeedsLogin int `json:"needs_login"`
	Disabled   int `json:"disabled"`
	Other      int `json:"other"`
}

func countAccounts(views []accounts.View) accountCounts {
	var c accountCounts
	for _, v := range views {
		c.Total++
		switch v.Status {
		case accounts.StatusReady, accounts.StatusExpiring, accounts.StatusOverage:
			c.Ready++
		case accounts.StatusCooling, accounts.StatusExhausted:
			c.Cooling++
		case accounts.StatusNeedsLogin:
			c.NeedsLogin++
		case accounts.StatusDisabled:
			c.Disabled++
		default:
			c.Other++
		}
	}
	return c
}

// overview is GET /api/overview.
type overview struct {
	Now      time.Time     `json:"now"`
	Version  string        `json:"version"`
	Running  bool          `json:"running"`
	Addr     string        `json:"addr"`
	Requests int           `json:"requests_today"`
	Accounts accountCounts `json:"accounts"`
	// Today sums today's flows; nil when flows are off.
	Today *flows.Group `json:"today,omitempty"`
	Setup setup        `json:"setup"`
	// Instances are the team gateway's instances, alive first; absent
	// with a kirobar.db of its own. StoreUp is false while the shared
	// database cannot be reached.
	Instances []team.Peer `json:"instances,omitempty"`
	StoreUp   *bool       `json:"store_up,omitempty"`
}

// setup is how to point each client at this kirobar. The key is left as a
// placeholder: a client key is a secret and is never rendered.
type setup struct {
	BaseURL string `json:"base_url"`
	Claude  string `json:"claude"`
	Codex   string `json:"codex"`
}

func newSetup(addr string) setup {
	base := "http://" + browserHost(addr)
	if _, _, err := net.SplitHostPort(addr); err != nil {
		base = "http://" + addr
	}
	return setup{
		BaseURL: base,
		Claude:  "ANTHROPIC_BASE_URL=" + base + " ANTHROPIC_API_KEY=$KIROBAR_KEY claude",
		// No model: Codex's own default model works through kirobar.
		Codex: "codex -c model_provider=kirobar -c 'model_providers.kirobar={name=\"kirobar\",base_url=\"" + base +
			"/v1\",env_key=\"KIROBAR_KEY\",wire_api=\"responses\"}'",
	}
}

func (h *Handler) getOverview(ctx *fasthttp.RequestCtx, _ params) {
	now := h.deps.Now()
	o := overview{
		Now: now.UTC(), Version: h.deps.Version,
		Running: h.deps.Server.Running(), Addr: h.deps.Server.Addr(), Requests: h.deps.Server.RequestsToday(),
		Accounts: countAccounts(h.deps.Accounts.List()),
		Setup:    newSetup(h.deps.Server.Addr()),
	}
	if h.deps.Team != nil {
		o.Instances = h.deps.Team.Peers()
		up := h.deps.Team.StoreUp()
		o.StoreUp = &up
	}
	if h.store != nil {
		y, m, d := now.Date()
		qctx, cancel := h.actionContext()
		defer cancel()
		midnight := time.Date(y, m, d, 0, 0, 0, 0, now.Location())
		total, err := h.store.Total(qctx, midnight)
		switch {
		case err == nil:
			o.Today = &total
		case h.deps.Team != nil:
			// The shared database is away: the overview shows what this
			// instance knows, and says the store is down.
			h.deps.Log.Debug("dashboard: today's flows", "err", err)
		default:
			writeError(ctx, fasthttp.StatusInternalServerError, err.Error())
			return
		}
	}
	writeJSON(ctx, fasthttp.StatusOK, o)
}

// account looks the path's account up, answering 404 when it is unknown.
func (h *Handler) account(ctx *fasthttp.RequestCtx, p params) (accounts.View, bool) {
	v, err := h.deps.Accounts.View(p["id"])
	if err != nil {
		accountError(ctx, err)
		return accounts.View{}, false
	}
	return v, true
}

func accountError(ctx *fasthttp.RequestCtx, err error) {
	if errors.Is(err, accounts.ErrNotFound) {
		writeError(ctx, fasthttp.StatusNotFound, err.Error())
		return
	}
	writeError(ctx, fasthttp.StatusBadGateway, err.Error())
}

// answerView sends the account as it is after an action.
func (h *Handler) answerView(ctx *fasthttp.RequestCtx, id string) {
	v, err := h.deps.Accounts.View(id)
	if err != nil {
		accountError(ctx, err)
		return
	}
	writeJSON(ctx, fasthttp.StatusOK, v)
}

func (h *Handler) postRefresh(ctx *fasthttp.RequestCtx, p params) {
	v, ok := h.account(ctx, p)
	if !ok {
		return
	}
	actx, cancel := h.actionContext()
	defer cancel()
	if err := h.deps.Accounts.Refresh(actx, v.ID); err != nil {
		accountError(ctx, err)
		return
	}
	h.answerView(ctx, v.ID)
}

func (h *Handler) postCheck(ctx *fasthttp.RequestCtx, p params) {
	v, ok := h.account(ctx, p)
	if !ok {
		return
	}
	actx, cancel := h.actionContext()
	defer cancel()
	res, err := h.deps.Accounts.Check(actx, []string{v.ID}, nil)
	if err != nil && len(res) == 0 {
		accountError(ctx, err)
		return
	}
	writeJSON(ctx, fasthttp.StatusOK, res[0])
}

func (h *Handler) postCheckAll(ctx *fasthttp.RequestCtx, _ params) {
	actx, cancel := h.actionContext()
	defer cancel()
	res, err := h.deps.Accounts.Check(actx, nil, nil)
	if err != nil && len(res) == 0 {
		accountError(ctx, err)
		return
	}
	if res == nil {
		res = []accounts.CheckResult{}
	}
	writeJSON(ctx, fasthttp.StatusOK, res)
}

func (h *Handler) setEnabled(ctx *fasthttp.RequestCtx, p params, on bool) {
	v, ok := h.account(ctx, p)
	if !ok {
		return
	}
	if err := h.deps.Accounts.SetEnabled(v.ID, on); err != nil {
		accountError(ctx, err)
		return
	}
	h.answerView(ctx, v.ID)
}

func (h *Handler) postEnable(ctx *fasthttp.RequestCtx, p params)  { h.setEnabled(ctx, p, true) }
func (h *Handler) postDisable(ctx *fasthttp.RequestCtx, p params) { h.setEnabled(ctx, p, false) }

func (h *Handler) postRemove(ctx *fasthttp.RequestCtx, p params) {
	v, ok := h.account(ctx, p)
	if !ok {
		return
	}
	if err := h.deps.Accounts.Remove(v.ID); err != nil {
		accountError(ctx, err)
		return
	}
	writeJSON(ctx, fasthttp.StatusOK, map[string]string{"removed": v.ID})
}

// postImport imports the Kiro IDE's login from ~/.aws/sso/cache.
func (h *Handler) postImport(ctx *fasthttp.RequestCtx, _ params) {
	actx, cancel := h.actionContext()
	defer cancel()
	views, err := h.deps.Accounts.ImportPath(actx, h.deps.Accounts.DefaultImportPath())
	if err != nil {
		writeError(ctx, fasthttp.StatusBadRequest, err.Error())
		return
	}
	if views == nil {
		views = []accounts.View{}
	}
	writeJSON(ctx, fasthttp.StatusOK, views)
}

// addRequest is a pasted refresh token; it is used once and never echoed.
type addRequest struct {
	RefreshToken string `json:"refresh_token"`
	AuthMethod   string `json:"auth_method"`
	ClientID     string `json:"client_id"`
	ClientSecret string `json:"client_secret"`
	Region       string `json:"region"`
	Label        string `json:"label"`
}

func (h *Handler) postAdd(ctx *fasthttp.RequestCtx, _ params) {
	var req addRequest
	if !readJSON(ctx, &req) {
		return
	}
	if req.RefreshToken == "" {
		writeError(ctx, fasthttp.StatusBadRequest, "a refresh token is required")
		return
	}
	actx, cancel := h.actionContext()
	defer cancel()
	v, err := h.deps.Accounts.AddRefreshToken(actx, accounts.AddRequest{
		RefreshToken: req.RefreshToken, AuthMethod: req.AuthMethod,
		ClientID: req.ClientID, ClientSecret: req.ClientSecret, Region: req.Region, Label: req.Label,
	})
	if err != nil && v.ID == "" {
		writeError(ctx, fasthttp.StatusBadRequest, err.Error())
		return
	}
	writeJSON(ctx, fasthttp.StatusOK, v)
}
