package kirofake

import (
	"context"
	"net/http"
	"regexp"
	"strings"
)

// Hosts of the real service. A fake URL may name one as its first path
// segment and the region as its second (http://127.0.0.1:PORT/q/eu-central-1/...),
// so that tests see which host and region each call went to, and the fake
// can refuse what the real host in that region refuses. A path without
// them reaches the root, which serves every operation as the us-east-1
// hosts do, with Options.Style deciding the generation style.
const (
	// HostRuntime is runtime.{region}.kiro.dev: generation only, runtime
	// style, a profileArn on every call (kiro-protocol.md §1.1, §11.1).
	HostRuntime = "runtime"
	// HostQ is q.{region}.amazonaws.com: ide-style generation,
	// getUsageLimits, ListAvailableModels and ListAvailableProfiles.
	HostQ = "q"
	// HostAuth is prod.{region}.auth.desktop.kiro.dev: social refresh and
	// sign-in.
	HostAuth = "auth"
	// HostOIDC is oidc.{region}.amazonaws.com: AWS SSO-OIDC, in every AWS
	// region an IAM Identity Center instance can live in.
	HostOIDC = "oidc"
)

// APIRegions are the only regions Kiro's API hosts exist in (the official
// client's Endpoint::CODEWHISPERER_ENDPOINTS, crates/chat-cli/src/api_client/endpoints.rs;
// kiro-protocol.md §11.2).
var APIRegions = []string{"us-east-1", "eu-central-1"}

// rootRegion is the region the root (a URL without host and region) stands
// for.
const rootRegion = "us-east-1"

// URLs are the four kirobar URL templates ([kiro] api_url, ide_url,
// auth_url, oidc_url) that reach this fake with host and region visible.
type URLs struct {
	API, IDE, Auth, OIDC string
}

// HostURLs returns URL templates with {region} for kirobar's [kiro]
// section: each call then names its host and region in the path.
func (s *Server) HostURLs() URLs {
	return URLs{
		API:  s.URL + "/" + HostRuntime + "/{region}",
		IDE:  s.URL + "/" + HostQ + "/{region}",
		Auth: s.URL + "/" + HostAuth + "/{region}",
		OIDC: s.URL + "/" + HostOIDC + "/{region}",
	}
}

// place is the host and region a call addressed; host "" is the root.
type place struct {
	host, region string
}

type placeKey struct{}

// placeOf returns the place of a request routed by hostRouter.
func placeOf(r *http.Request) place {
	if p, ok := r.Context().Value(placeKey{}).(place); ok {
		return p
	}
	return place{region: rootRegion}
}

// is reports whether the call reached one of hosts (the root reaches all).
func (p place) is(hosts ...string) bool {
	if p.host == "" {
		return true
	}
	for _, h := range hosts {
		if p.host == h {
			return true
		}
	}
	return false
}

var regionName = regexp.MustCompile(`^[a-z]{2}(-gov)?-[a-z]+-[0-9]$`)

// exists reports whether the real service has this host in this region:
// the Kiro hosts only in the API regions, SSO-OIDC in any AWS region.
func (p place) exists() bool {
	if !regionName.MatchString(p.region) {
		return false
	}
	if p.host == HostOIDC {
		return true
	}
	for _, r := range APIRegions {
		if p.region == r {
			return true
		}
	}
	return false
}

// hostRouter strips a leading /{host}/{region} from the path and records
// them for the handlers. A host the real service does not have in that
// region is unreachable: the connection is closed without an answer, as
// close as a loopback server gets to a name that does not resolve.
func (s *Server) hostRouter(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, rest, ok := splitPlace(r.URL.Path)
		if !ok {
			next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), placeKey{}, place{region: rootRegion})))
			return
		}
		s.noteCall(p, rest)
		if !p.exists() {
			s.update(func(st *Stats) { st.Unreachable++ })
			if conn, _, err := http.NewResponseController(w).Hijack(); err == nil {
				_ = conn.Close() // an unreachable host answers nothing
				return
			}
			writeJSON(w, http.StatusBadGateway, `{"message":"kirofake: no such host"}`)
			return
		}
		r2 := r.Clone(context.WithValue(r.Context(), placeKey{}, p))
		r2.URL.Path, r2.URL.RawPath = rest, ""
		next.ServeHTTP(w, r2)
	})
}

// splitPlace reads /{host}/{region}/rest.
func splitPlace(path string) (place, string, bool) {
	parts := strings.SplitN(strings.TrimPrefix(path, "/"), "/", 3)
	if len(parts) < 2 {
		return place{}, "", false
	}
	switch parts[0] {
	case HostRuntime, HostQ, HostAuth, HostOIDC:
	default:
		return place{}, "", false
	}
	rest := "/"
	if len(parts) == 3 {
		rest += parts[2]
	}
	return place{host: parts[0], region: parts[1]}, rest, true
}

// Call is one request that addressed a host and region (see HostURLs).
type Call struct {
	Host, Region, Path string
}

// noteCall records a call that named its host and region.
func (s *Server) noteCall(p place, path string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = keepLast(s.calls, Call{Host: p.host, Region: p.region, Path: path}, s.opts.RecordLimit)
}

// Calls returns the calls that named a host and region, oldest first.
func (s *Server) Calls() []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Call(nil), s.calls...)
}

// only answers 404 when the call reached a host that does not serve the
// route, as a real host without the path answers.
func only(h http.HandlerFunc, hosts ...string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if !placeOf(r).is(hosts...) {
			writeJSON(w, http.StatusNotFound, bodyNotFound)
			return
		}
		h(w, r)
	}
}
