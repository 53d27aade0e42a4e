package tray

import (
	"context"
	"errors"
)

// notify is not available on Windows: toast notifications need an
// AppUserModelID registered by an installer. The tray's icon and status
// line carry the same news, and the event is logged.
func notify(ctx context.Context, app, title, body string) error {
	return errors.New("notify: desktop notifications are not supported on Windows")
}
