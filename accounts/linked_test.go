package accounts

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kirobar/kirobar/accounts/tokenfile"
	"github.com/kirobar/kirobar/internal/testkit/kirofake"
	"github.com/kirobar/kirobar/kiro"
)

// TestWriteBackKeepsNewerIDETokens: the IDE refreshes and rewrites its
// token file while kirobar's own refresh call is on the wire (after
// kirobar checked the file). kirobar must not overwrite the IDE's newer
// tokens with its own: it adopts them, and the file keeps them.
func TestWriteBackKeepsNewerIDETokens(t *testing.T) {
	e := newEnv(t, kirofake.Options{}, false)
	a := e.fakeAccount("a", time.Hour)
	path := e.ideFile(a, filepath.Join(e.dir, "cache", tokenfile.IDEFile))

	// kirobar's refresh goes through this hop, which lets the IDE refresh
	// and rewrite its file first, then passes the call on to Kiro.
	ideClient := e.kc
	var ide kirofake.Account
	var once sync.Once
	fakeURL, _ := url.Parse(e.fake.URL)
	pass := httputil.NewSingleHostReverseProxy(fakeURL)
	hop := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		once.Do(func() {
			toks, err := ideClient.Refresh(context.Background(), kiro.RefreshRequest{
				AuthMethod: kiro.AuthSocial, RefreshToken: a.RefreshToken, MachineID: strings.Repeat("ef", 32),
			})
			if err != nil {
				t.Errorf("the IDE's refresh: %v", err)
				return
			}
			ide = a
			ide.AccessToken, ide.RefreshToken, ide.AccessExpiry = toks.AccessToken, toks.RefreshToken, a.AccessExpiry.Add(30*time.Minute)
			e.ideFile(ide, path)
		})
		pass.ServeHTTP(w, r)
	}))
	defer hop.Close()
	cfg := kiro.DefaultConfig()
	cfg.APIURL, cfg.IDEURL, cfg.AuthURL, cfg.OIDCURL = e.fake.URL, e.fake.URL, hop.URL, hop.URL
	kc, err := kiro.NewClient(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer kc.CloseIdleConnections()
	e.kc = kc
	m := e.manager(testConfig(), time.Hour)
	views, err := m.ImportPath(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	id := views[0].ID

	if err := m.Refresh(context.Background(), id); err != nil {
		t.Fatalf("refresh: %v", err)
	}
	if n := e.fake.Stats().Refreshes["a"]; n != 2 {
		t.Fatalf("refreshes at the fake %d, want the IDE's and kirobar's", n)
	}
	if ide.AccessToken == "" {
		t.Fatal("the IDE did not refresh during kirobar's call")
	}
	access, refresh := fileTokens(t, path)
	if access != ide.AccessToken || refresh != ide.RefreshToken {
		t.Fatal("kirobar overwrote the IDE's newer tokens in its file")
	}
	row := storedRow(t, m, id)
	if row.AccessToken != ide.AccessToken || row.RefreshToken != ide.RefreshToken {
		t.Fatal("kirobar did not adopt the IDE's newer tokens")
	}
	st, err := os.Stat(path)
	if err != nil || row.SourceModTime != st.ModTime().UnixNano() {
		t.Fatalf("the adopted file's time is not recorded: %v", err)
	}
	// The next check of the file finds nothing new to adopt.
	if _, ok := m.newerLinked(row, m.now()); ok {
		t.Fatal("the adopted tokens still look new")
	}
}
