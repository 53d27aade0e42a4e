package dashboard

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/kirobar/kirobar/accounts"
	"github.com/kirobar/kirobar/accounts/signin"
)

// LoginRequest asks for one sign-in: a new account of Kind, or, with
// Relogin set, the account with that id signed in again.
type LoginRequest struct {
	Kind     string `json:"kind"`
	StartURL string `json:"start_url,omitempty"`
	Region   string `json:"region,omitempty"`
	Relogin  string `json:"-"`
}

// DeviceCode is what a device-code sign-in asks the user to enter.
type DeviceCode struct {
	UserCode                string    `json:"user_code"`
	VerificationURI         string    `json:"verification_uri"`
	VerificationURIComplete string    `json:"verification_uri_complete,omitempty"`
	ExpiresAt               time.Time `json:"expires_at,omitzero"`
}

// LoginUI is how a sign-in flow talks to the page: a URL the user opens,
// a device code to show, progress lines.
type LoginUI struct {
	OpenURL func(url string)
	Device  func(DeviceCode)
	Status  func(msg string)
}

// LoginFunc runs a sign-in until it finished, failed or ctx ended.
type LoginFunc func(ctx context.Context, r LoginRequest, ui LoginUI) (accounts.View, error)

const (
	// loginTimeout bounds one sign-in (device codes expire sooner).
	loginTimeout = 15 * time.Minute
	// loginKeep is how long a finished sign-in's result stays readable.
	loginKeep = 10 * time.Minute
	// maxRunningLogins bounds sign-ins in progress at once.
	maxRunningLogins = 4
)

// Login states.
const (
	loginRunning   = "running"
	loginDone      = "done"
	loginFailed    = "failed"
	loginCancelled = "cancelled"
)

// loginState is GET /api/logins/{id}: what the page polls while a
// sign-in runs.
type loginState struct {
	ID      string         `json:"id"`
	State   string         `json:"state"`
	URL     string         `json:"url,omitempty"`
	Device  *DeviceCode    `json:"device,omitempty"`
	Status  string         `json:"status,omitempty"`
	Error   string         `json:"error,omitempty"`
	Account *accounts.View `json:"account,omitempty"`

	cancel   context.CancelFunc
	finished time.Time
}

// logins tracks sign-ins started from pages.
type logins struct {
	now func() time.Time
	mu  sync.Mutex
	all map[string]*loginState
}

func newLogins(now func() time.Time) *logins {
	return &logins{now: now, all: map[string]*loginState{}}
}

func (l *logins) snapshot(id string) (loginState, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	st, ok := l.all[id]
	if !ok {
		return loginState{}, false
	}
	out := *st
	if st.Device != nil {
		d := *st.Device
		out.Device = &d
	}
	return out, true
}

func (l *logins) update(id string, f func(*loginState)) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if st, ok := l.all[id]; ok {
		f(st)
	}
}

// begin registers a sign-in, refusing when too many run.
func (l *logins) begin(cancel context.CancelFunc) (string, error) {
	id, err := randomToken()
	if err != nil {
		return "", err
	}
	id = id[:16]
	l.mu.Lock()
	defer l.mu.Unlock()
	now, running := l.now(), 0
	for k, st := range l.all {
		if st.State == loginRunning {
			running++
		} else if now.Sub(st.finished) > loginKeep {
			delete(l.all, k)
		}
	}
	if running >= maxRunningLogins {
		return "", errors.New("too many sign-ins are running; finish or cancel one first")
	}
	l.all[id] = &loginState{ID: id, State: loginRunning, cancel: cancel}
	return id, nil
}

// canLogin reports whether this kirobar runs sign-ins, and answers 501
// when it does not.
func (h *Handler) canLogin(ctx *fasthttp.RequestCtx) bool {
	if h.deps.Login == nil {
		writeError(ctx, fasthttp.StatusNotImplemented, "this kirobar cannot run the sign-in flows; import the Kiro IDE's login or paste a refresh token")
		return false
	}
	return true
}

// startLogin runs r in the background and answers with its id.
func (h *Handler) startLogin(ctx *fasthttp.RequestCtx, r LoginRequest) {
	if !h.canLogin(ctx) {
		return
	}
	lctx, cancel := context.WithTimeout(h.ctx, loginTimeout)
	id, err := h.logins.begin(cancel)
	if err != nil {
		cancel()
		writeError(ctx, fasthttp.StatusTooManyRequests, err.Error())
		return
	}
	ui := LoginUI{
		OpenURL: func(u string) { h.logins.update(id, func(st *loginState) { st.URL = u }) },
		Device: func(d DeviceCode) {
			h.logins.update(id, func(st *loginState) { st.Device = &d; st.URL = d.VerificationURIComplete })
		},
		Status: func(msg string) { h.logins.update(id, func(st *loginState) { st.Status = msg }) },
	}
	h.wg.Add(1)
	go func() {
		defer h.wg.Done()
		defer cancel()
		v, err := h.deps.Login(lctx, r, ui)
		h.logins.update(id, func(st *loginState) {
			st.finished = h.deps.Now()
			switch {
			case err == nil:
				st.State, st.Account = loginDone, &v
			case lctx.Err() != nil && errors.Is(err, context.Canceled):
				st.State, st.Error = loginCancelled, "sign-in cancelled"
			default:
				st.State, st.Error = loginFailed, err.Error()
			}
		})
	}()
	writeJSON(ctx, fasthttp.StatusAccepted, map[string]string{"id": id})
}

// postLogin starts a sign-in that adds an account.
func (h *Handler) postLogin(ctx *fasthttp.RequestCtx, _ params) {
	var r LoginRequest
	if !readJSON(ctx, &r) {
		return
	}
	if r.Kind == "" {
		writeError(ctx, fasthttp.StatusBadRequest, "kind is required")
		return
	}
	h.startLogin(ctx, r)
}

// postRelogin signs an account in again. The body may name the sign-in;
// what it leaves out follows from how the account signed in before
// (accounts.Renewal), and when that does not say enough (which social
// provider, an organisation's start URL) the answer names what to send.
func (h *Handler) postRelogin(ctx *fasthttp.RequestCtx, p params) {
	v, ok := h.account(ctx, p)
	if !ok {
		return
	}
	var r LoginRequest
	if !readJSON(ctx, &r) || !h.canLogin(ctx) {
		return
	}
	ren := v.Renewal()
	if r.Kind != "" && r.Kind != string(ren.Kind) {
		ren = accounts.Renewal{Kind: signin.Kind(r.Kind)} // the page chose another sign-in
	}
	if r.StartURL != "" {
		ren.StartURL = r.StartURL
	}
	if r.Region != "" {
		ren.Region = r.Region
	}
	req, err := ren.Request(v.ID)
	if err != nil {
		writeError(ctx, fasthttp.StatusBadRequest, err.Error()+", or send the sign-in's kind (and start_url) in the body")
		return
	}
	h.startLogin(ctx, LoginRequest{Kind: string(req.Kind), StartURL: req.StartURL, Region: req.Region, Relogin: req.Relogin})
}

func (h *Handler) getLogin(ctx *fasthttp.RequestCtx, p params) {
	st, ok := h.logins.snapshot(p["id"])
	if !ok {
		writeError(ctx, fasthttp.StatusNotFound, "no such sign-in")
		return
	}
	writeJSON(ctx, fasthttp.StatusOK, st)
}

func (h *Handler) postLoginCancel(ctx *fasthttp.RequestCtx, p params) {
	st, ok := h.logins.snapshot(p["id"])
	if !ok {
		writeError(ctx, fasthttp.StatusNotFound, "no such sign-in")
		return
	}
	if st.cancel != nil {
		st.cancel()
	}
	writeJSON(ctx, fasthttp.StatusOK, map[string]string{"id": st.ID})
}

// AccountsLogin runs the account pool's sign-in flows for the dashboard:
// the page shows the device code and the sign-in URL, and the user opens
// them in the browser the page is in.
func AccountsLogin(m *accounts.Manager) LoginFunc {
	return func(ctx context.Context, r LoginRequest, ui LoginUI) (accounts.View, error) {
		return m.Login(ctx, accounts.LoginRequest{
			Kind: signin.Kind(r.Kind), StartURL: r.StartURL, Region: r.Region, Relogin: r.Relogin,
		}, signin.UI{
			OpenURL: func(u string) error { ui.OpenURL(u); return nil },
			Device: func(d signin.DeviceCode) {
				ui.Device(DeviceCode{
					UserCode: d.UserCode, VerificationURI: d.VerificationURI,
					VerificationURIComplete: d.VerificationURIComplete, ExpiresAt: d.ExpiresAt,
				})
			},
			Status: ui.Status,
		})
	}
}
