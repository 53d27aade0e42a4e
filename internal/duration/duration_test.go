package duration

import (
	"testing"
	"time"
)

func TestUnmarshalText(t *testing.T) {
	for _, tc := range []struct {
		in      string
		want    time.Duration
		wantErr bool
	}{
		{"90s", 90 * time.Second, false},
		{"10m", 10 * time.Minute, false},
		{"", 0, false},
		{"0", 0, false},
		{"5", 0, true},
		{"-1s", 0, true},
		{"soon", 0, true},
	} {
		var d Duration
		err := d.UnmarshalText([]byte(tc.in))
		if (err != nil) != tc.wantErr {
			t.Fatalf("%q: err = %v, wantErr %v", tc.in, err, tc.wantErr)
		}
		if err == nil && d.D() != tc.want {
			t.Fatalf("%q: got %v, want %v", tc.in, d.D(), tc.want)
		}
	}
}

func TestRoundTrip(t *testing.T) {
	d := Duration(95 * time.Second)
	b, _ := d.MarshalText()
	var back Duration
	if err := back.UnmarshalText(b); err != nil || back != d {
		t.Fatalf("round trip %s: %v %v", b, back, err)
	}
}
