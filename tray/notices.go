package tray

import (
	"fmt"
	"time"
)

// Notice is a desktop notification the controller wants sent.
type Notice struct {
	Key   string // subject, for rate limiting
	Title string
	Body  string
}

// notices decides which changes from the last snapshot to st and accounts
// deserve a desktop notification: an account suspended, an account that
// needs a new login, and the pool going from serving to none that can.
// Each subject is let through at most once per the limiter's interval.
func (c *Controller) notices(st Status, accounts []Account) []Notice {
	before := make(map[string]string, len(c.accounts))
	for _, a := range c.accounts {
		before[a.ID] = a.State
	}
	now := c.now()
	var out []Notice
	add := func(n Notice) {
		if c.notify.allow(n.Key, now) {
			out = append(out, n)
		}
	}
	for _, a := range accounts {
		old, known := before[a.ID]
		if !known || old == a.State {
			continue
		}
		switch a.State {
		case StateSuspended:
			add(Notice{Key: "suspended/" + a.ID, Title: a.Label + " was suspended",
				Body: "Kiro suspended this account; " + c.app + " no longer uses it."})
		case StateNeedsLogin:
			body := "Its token could not be refreshed. Log in to this account again to use it."
			if c.features.Login {
				body = "Its token could not be refreshed. Choose Accounts › " + a.Label + " › Sign in again to use it."
			}
			add(Notice{Key: "login/" + a.ID, Title: a.Label + " needs a new login", Body: body})
		}
	}
	wasServing := c.status.Running && c.status.Ready > 0
	if st.Running && st.Total > 0 && st.Ready == 0 && wasServing {
		add(Notice{Key: "exhausted", Title: "No Kiro account can serve requests",
			Body: fmt.Sprintf("All %s are cooling down, out of quota or need attention; requests fail until one recovers.", plural(st.Total, "account", "accounts"))})
	}
	return out
}

// limiter lets one notification per subject through per interval, so a
// flapping account does not flood the desktop.
type limiter struct {
	every time.Duration
	last  map[string]time.Time
}

func newLimiter(every time.Duration) *limiter {
	return &limiter{every: every, last: make(map[string]time.Time)}
}

// allow reports whether a notification on key may go out at now, and if
// so remembers it.
func (l *limiter) allow(key string, now time.Time) bool {
	if t, ok := l.last[key]; ok && now.Sub(t) < l.every {
		return false
	}
	l.last[key] = now
	return true
}
