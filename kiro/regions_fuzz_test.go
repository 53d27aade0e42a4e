package kiro

import (
	"math"
	"strings"
	"testing"
	"time"
)

// FuzzRegionFromARN: whatever a token file or an answer holds as a
// profile ARN, the region read from it is empty or a valid region name
// (it is substituted into a host name).
func FuzzRegionFromARN(f *testing.F) {
	for _, s := range []string{testProfileARN, BuilderIDProfileARN, "arn:aws:codewhisperer:eu-central-1:1:profile/x", "arn:::::", "", "arn:aws:codewhisperer:us-east-1.evil.com:1:profile/x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, arn string) {
		r := RegionFromARN(arn)
		if r != "" && checkRegion(r) != nil {
			t.Fatalf("RegionFromARN(%q) = %q, not a region name", arn, r)
		}
		if r != "" && !strings.Contains(arn, ":"+r+":") {
			t.Fatalf("RegionFromARN(%q) = %q, not in the ARN", arn, r)
		}
	})
}

// FuzzKiroVersion: a configured version either validates as X.Y.Z with a
// major of at least 1, or is refused; it never panics.
func FuzzKiroVersion(f *testing.F) {
	for _, s := range []string{DefaultKiroVersion, "0.11.107", "1.0", "1.0.x", "", "10.20.30", "1..2"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		if checkKiroVersion(v) == nil && (strings.Count(v, ".") != 2 || strings.HasPrefix(v, "0.") || strings.ContainsAny(v, " \t\r\n-")) {
			t.Fatalf("accepted %q", v)
		}
	})
}

// FuzzParseUsage: any getUsageLimits answer parses or errors, and the
// overage figures it yields are finite.
func FuzzParseUsage(f *testing.F) {
	f.Add([]byte(a7Usage))
	f.Add([]byte(`{"overageConfiguration":{"overageStatus":"ENABLED"},"usageBreakdownList":[{"currentOveragesWithPrecision":1.5,"overageCap":10,"currency":"USD"}]}`))
	f.Add([]byte(`{"overageConfiguration":null,"usageBreakdownList":[]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		u, err := parseUsage(body, time.Unix(1772000000, 0))
		if err != nil {
			return
		}
		if math.IsNaN(u.Overages) || math.IsNaN(u.OverageCap) {
			t.Fatalf("usage %+v from %s", u, body)
		}
	})
}
