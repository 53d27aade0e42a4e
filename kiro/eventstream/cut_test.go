package eventstream

import (
	"errors"
	"io"
	"testing"
)

// cutReader yields its data, then io.ErrUnexpectedEOF, as net/http does for
// a chunked body the server cut off.
type cutReader struct{ data []byte }

func (r *cutReader) Read(p []byte) (int, error) {
	if len(r.data) == 0 {
		return 0, io.ErrUnexpectedEOF
	}
	n := copy(p, r.data)
	r.data = r.data[n:]
	return n, nil
}

// TestReaderCutAtFrameBoundary: a body cut between two frames is a lost
// answer, not a clean end.
func TestReaderCutAtFrameBoundary(t *testing.T) {
	frame, err := Append(nil, Message{Headers: Headers{{Name: HeaderEventType, Value: "assistantResponseEvent"}}, Payload: []byte(`{"content":"Hi"}`)})
	if err != nil {
		t.Fatal(err)
	}
	d := NewDecoder(&cutReader{data: frame})
	if _, err := d.Next(); err != nil {
		t.Fatalf("first frame: %v", err)
	}
	_, err = d.Next()
	if err == io.EOF || !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("got %v, want a wrapped io.ErrUnexpectedEOF", err)
	}
}
