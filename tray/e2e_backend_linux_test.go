//go:build linux

package tray

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"sync"
	"time"
)

// memBackend is an in-memory stand-in for main's wiring, used by the DBus
// end-to-end test: it reports every call on stdout (one "call ..." line)
// so the parent test can see what the menu triggered, and it serves a real
// loopback listener so "Server running" visibly closes and reopens a port.
// Lines on stdin drive it: "release" lets a running check finish,
// "approve" completes a running sign-in, "suspend ID" suspends an account.
// It implements LoginBackend and DashboardBackend too, as main's does.
type memBackend struct {
	mu       sync.Mutex
	accounts []Account
	ln       net.Listener
	addr     string
	changes  chan struct{}
	release  chan struct{}
	approve  chan struct{}
	dir      string
}

// memAccounts are the accounts the backend starts with, as of now.
func memAccounts(now time.Time) []Account {
	return []Account{
		{ID: "alice", Label: "alice@example.com", State: StateReady, ExpiresAt: now.Add(3 * time.Hour), Enabled: true},
		{ID: "bob", Label: "bob@example.com", State: StateExpiring, ExpiresAt: now.Add(50 * time.Second), Enabled: true},
		{ID: "carol", Label: "carol@example.com", State: StateNeedsLogin, Enabled: true},
		{ID: "dave", Label: "dave@example.com", State: StateCooling, CooldownUntil: now.Add(10 * time.Minute), Enabled: true},
	}
}

func newMemBackend(dir string) (*memBackend, error) {
	b := &memBackend{
		accounts: memAccounts(time.Now()),
		addr:     "127.0.0.1:0",
		changes:  make(chan struct{}, 1),
		release:  make(chan struct{}),
		approve:  make(chan struct{}),
		dir:      dir,
	}
	if err := b.StartServer(); err != nil {
		return nil, err
	}
	go b.readCommands()
	return b, nil
}

func (b *memBackend) readCommands() {
	sc := bufio.NewScanner(os.Stdin)
	for sc.Scan() {
		cmd, arg, _ := strings.Cut(sc.Text(), " ")
		switch cmd {
		case "release":
			b.release <- struct{}{}
		case "approve":
			b.approve <- struct{}{}
		case "suspend":
			b.mu.Lock()
			for i := range b.accounts {
				if b.accounts[i].ID == arg {
					b.accounts[i].State = StateSuspended
				}
			}
			b.mu.Unlock()
			b.changed()
		}
	}
}

func report(format string, args ...any) { fmt.Fprintf(os.Stdout, "call "+format+"\n", args...) }

func (b *memBackend) changed() {
	select {
	case b.changes <- struct{}{}:
	default:
	}
}

func (b *memBackend) Status() Status {
	b.mu.Lock()
	defer b.mu.Unlock()
	st := Status{Running: b.ln != nil, RequestsToday: 7, Total: len(b.accounts)}
	if st.Running {
		st.Addr = b.addr
	}
	for _, a := range b.accounts {
		if a.Enabled && (a.State == StateReady || a.State == StateExpiring) {
			st.Ready++
		}
	}
	return st
}

func (b *memBackend) StartServer() error {
	report("StartServer")
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.ln != nil {
		return nil
	}
	ln, err := net.Listen("tcp", b.addr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	b.ln, b.addr = ln, ln.Addr().String()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	b.changed()
	return nil
}

func (b *memBackend) StopServer(ctx context.Context) error {
	report("StopServer")
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.ln == nil {
		return nil
	}
	err := b.ln.Close()
	b.ln = nil
	b.changed()
	return err
}

func (b *memBackend) Accounts() []Account {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]Account(nil), b.accounts...)
}

func (b *memBackend) RefreshAccount(ctx context.Context, id string) error {
	report("RefreshAccount %s", id)
	b.mu.Lock()
	defer b.mu.Unlock()
	for i := range b.accounts {
		if b.accounts[i].ID == id {
			b.accounts[i].ExpiresAt = time.Now().Add(5 * time.Hour)
			b.changed()
			return nil
		}
	}
	return errors.New("no such account")
}

func (b *memBackend) SetAccountEnabled(id string, on bool) error {
	report("SetAccountEnabled %s %v", id, on)
	b.mu.Lock()
	defer b.mu.Unlock()
	for i := range b.accounts {
		if b.accounts[i].ID == id {
			b.accounts[i].Enabled = on
			b.changed()
			return nil
		}
	}
	return errors.New("no such account")
}

func (b *memBackend) ExpiringCount() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	n := 0
	for _, a := range b.accounts {
		if a.State == StateExpiring {
			n++
		}
	}
	return n
}

func (b *memBackend) RefreshExpiring(ctx context.Context) (int, error) {
	report("RefreshExpiring")
	b.mu.Lock()
	defer b.mu.Unlock()
	n := 0
	for i := range b.accounts {
		if b.accounts[i].State == StateExpiring {
			b.accounts[i].State = StateReady
			b.accounts[i].ExpiresAt = time.Now().Add(2 * time.Hour)
			n++
		}
	}
	b.changed()
	return n, nil
}

func (b *memBackend) CheckAll(ctx context.Context, progress func(done, total int)) (string, error) {
	report("CheckAll")
	progress(2, 4)
	select {
	case <-b.release:
	case <-ctx.Done():
		return "", ctx.Err()
	}
	progress(4, 4)
	return "4 checked: 2 ok, 1 needs login, 1 cooling", nil
}

func (b *memBackend) Subscribe() (<-chan struct{}, func()) {
	return b.changes, func() {}
}

func (b *memBackend) ClientSetup() string {
	return "export ANTHROPIC_BASE_URL=http://" + b.Status().Addr + "\nexport ANTHROPIC_API_KEY=kb-e2e-key\n"
}

func (b *memBackend) LogDir() string     { return b.dir }
func (b *memBackend) ConfigPath() string { return b.dir + "/config.toml" }

func (b *memBackend) DashboardURL() string {
	st := b.Status()
	if !st.Running {
		return ""
	}
	return "http://" + st.Addr + "/ui/?token=one-time-e2e"
}

// Login plays a Builder ID device flow: it shows a code, then waits for
// "approve" on stdin (the user confirming in the browser) or for the
// sign-in to be canceled.
func (b *memBackend) Login(ctx context.Context, kind string, ui LoginUI) (string, error) {
	report("Login %s", kind)
	ui.Device("ABCD-EFGH", "https://device.example.com/verify?user_code=ABCD-EFGH")
	select {
	case <-b.approve:
	case <-ctx.Done():
		fmt.Println("login canceled")
		return "", fmt.Errorf("device flow: %w", ctx.Err())
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.accounts = append(b.accounts, Account{ID: "erin", Label: "erin@example.com", State: StateReady,
		ExpiresAt: time.Now().Add(8 * time.Hour), Enabled: true})
	b.changed()
	return "erin@example.com", nil
}

// Relogin plays a social sign-in for an existing account.
func (b *memBackend) Relogin(ctx context.Context, id string, ui LoginUI) error {
	report("Relogin %s", id)
	ui.Status("Waiting for the browser")
	select {
	case <-b.approve:
	case <-ctx.Done():
		return ctx.Err()
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	for i := range b.accounts {
		if b.accounts[i].ID == id {
			b.accounts[i].State = StateReady
			b.accounts[i].ExpiresAt = time.Now().Add(time.Hour)
			b.changed()
			return nil
		}
	}
	return errors.New("no such account")
}
