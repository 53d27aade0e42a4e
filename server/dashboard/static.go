package dashboard

import (
	"io/fs"
	"path"
	"strings"

	"github.com/valyala/fasthttp"
)

// contentTypes are the only file types the dashboard serves.
var contentTypes = map[string]string{
	".html": "text/html; charset=utf-8",
	".css":  "text/css; charset=utf-8",
	".js":   "text/javascript; charset=utf-8",
	".svg":  "image/svg+xml",
	".png":  "image/png",
	".ico":  "image/x-icon",
}

// serveStatic serves one embedded file; the empty name is the page itself.
// The files are public (they hold no data): the page asks /api/session
// and shows the sign-in form when that says 401.
func (h *Handler) serveStatic(ctx *fasthttp.RequestCtx, name string) {
	if !ctx.IsGet() && !ctx.IsHead() {
		ctx.Response.Header.Set("Allow", "GET, HEAD")
		writeError(ctx, fasthttp.StatusMethodNotAllowed, "use GET")
		return
	}
	if name == "" {
		name = "index.html"
	}
	ct, ok := contentTypes[path.Ext(name)]
	if !ok || !fs.ValidPath(name) || strings.HasPrefix(path.Base(name), ".") {
		writeError(ctx, fasthttp.StatusNotFound, "no such dashboard file")
		return
	}
	b, err := fs.ReadFile(h.static, name)
	if err != nil {
		writeError(ctx, fasthttp.StatusNotFound, "no such dashboard file")
		return
	}
	ctx.SetStatusCode(fasthttp.StatusOK)
	ctx.SetContentType(ct)
	// Revalidate every time: the files are tiny and change with the binary.
	ctx.Response.Header.Set("Cache-Control", "no-cache")
	ctx.SetBody(b)
}
