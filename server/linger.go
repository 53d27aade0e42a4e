package server

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync/atomic"
	"time"
)

// Lingering bounds: how long and how much of an unread request kirobar
// drains before closing a connection it answered early.
const (
	lingerTimeout = 2 * time.Second
	lingerMax     = 64 << 20
)

// lingerListener hands out connections that can close gracefully after an
// early error answer. When kirobar refuses a request before reading all of
// it (a body over max_body_mb, headers too large), closing the socket with
// the rest still unread makes the kernel send a reset, which can destroy
// the error response before the client reads it: the client then reports
// "connection reset" instead of the 413 that explains what to change.
type lingerListener struct {
	net.Listener
}

// Accept wraps each connection.
func (l lingerListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &lingerConn{Conn: c}, nil
}

// lingerConn is a connection that drains unread input before closing once
// markLinger was called.
type lingerConn struct {
	net.Conn
	linger atomic.Bool
}

// markLinger asks Close to half-close and drain first.
func (c *lingerConn) markLinger() { c.linger.Store(true) }

// Close sends the response's FIN first, then reads and discards what the
// client is still sending, bounded in time and bytes, then closes.
func (c *lingerConn) Close() error {
	if c.linger.Load() {
		if tc, ok := c.Conn.(*net.TCPConn); ok {
			if tc.CloseWrite() == nil && tc.SetReadDeadline(time.Now().Add(lingerTimeout)) == nil {
				// The drain ends at the deadline, the limit or the
				// client's FIN; whichever it is, the socket closes next.
				_, _ = io.CopyN(io.Discard, tc, lingerMax)
			}
		}
	}
	return c.Conn.Close()
}

// fasthttpLogger routes fasthttp's own messages (connection-level errors)
// into kirobar's log at debug level instead of the standard logger's
// stderr. Server.SecureErrorLogMessage keeps request bytes, which may
// carry a client key, out of them.
type fasthttpLogger struct{ log *slog.Logger }

// Printf logs one fasthttp message.
func (l fasthttpLogger) Printf(format string, args ...any) {
	if !l.log.Enabled(context.Background(), slog.LevelDebug) {
		return
	}
	l.log.Debug("http connection", "detail", fmt.Sprintf(format, args...))
}
