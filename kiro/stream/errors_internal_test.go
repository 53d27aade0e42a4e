package stream

import (
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/kirobar/kirobar/kiro/eventstream"
)

// TestStreamErrorNamesTheCause: garbage in the stream is "corrupt", a cut
// body is "dropped" — the user's next step differs.
func TestStreamErrorNamesTheCause(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want string
	}{
		{fmt.Errorf("%w: 2 damaged frames", eventstream.ErrCorrupt), "corrupt"},
		{fmt.Errorf("read: %w", io.ErrUnexpectedEOF), "dropped"},
	} {
		if got := streamError(tc.err).Message; !strings.Contains(got, tc.want) {
			t.Errorf("%v: %q does not say %q", tc.err, got, tc.want)
		}
	}
}
