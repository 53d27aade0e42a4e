package kirofake

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sync"
	"time"
)

// Browser plays the user's browser at the fake auth portal for tests of a
// Google or GitHub sign-in: Open follows the portal's redirect to the
// sign-in's redirect_uri, as a browser does once the user signed in. It
// stands in for the OpenURL a sign-in calls.
type Browser struct {
	client *http.Client

	mu       sync.Mutex
	callback *url.URL
}

// NewBrowser returns a browser that does not follow redirects by itself.
func NewBrowser() *Browser {
	return &Browser{client: &http.Client{
		Timeout:       10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

// Redirect opens the portal page and returns where the portal sends the
// browser back to (the callback with its code and state), without going
// there.
func (b *Browser) Redirect(portal string) (*url.URL, error) {
	resp, err := b.client.Get(portal)
	if err != nil {
		return nil, err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		return nil, fmt.Errorf("portal answered %s", resp.Status)
	}
	cb, err := url.Parse(resp.Header.Get("Location"))
	if err != nil {
		return nil, err
	}
	b.mu.Lock()
	b.callback = cb
	b.mu.Unlock()
	return cb, nil
}

// Get requests u and returns the status it answered.
func (b *Browser) Get(u string) (int, error) {
	resp, err := b.client.Get(u)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, nil
}

// Open signs in at the portal and follows its redirect to the callback,
// which must answer 200.
func (b *Browser) Open(portal string) error {
	cb, err := b.Redirect(portal)
	if err != nil {
		return err
	}
	code, err := b.Get(cb.String())
	if err != nil {
		return err
	}
	if code != http.StatusOK {
		return fmt.Errorf("the sign-in callback answered %d", code)
	}
	return nil
}

// Callback is where the portal last sent the browser; nil before Open.
func (b *Browser) Callback() *url.URL {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.callback
}
