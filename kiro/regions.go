package kiro

import (
	"fmt"
	"net/url"
	"strings"
)

// APIRegions are the regions Kiro's API (the runtime and q hosts) exists
// in: the official client knows exactly these two endpoints
// (Endpoint::CODEWHISPERER_ENDPOINTS, crates/chat-cli/src/api_client/endpoints.rs),
// and profiles live only there (kiro-protocol.md §11.2).
var APIRegions = []string{"us-east-1", "eu-central-1"}

// DefaultAPIRegion is the API region of an account without a profile, as
// the official client falls back to Endpoint::DEFAULT_ENDPOINT.
const DefaultAPIRegion = "us-east-1"

// BuilderIDProfileARN is the fixed profile ARN sent on the runtime host for
// AWS Builder ID accounts, which have no profile of their own (the official
// client says profiles are "only available for Pro users",
// crates/chat-cli/src/cli/user.rs; peers send this ARN: R1ddle1337/kiro.rs
// src/kiro/model/credentials.rs, kiro-protocol.md §11.1).
const BuilderIDProfileARN = "arn:aws:codewhisperer:us-east-1:638616132270:profile/AAAACCCCXXXX"

// IsPlaceholderProfile reports whether arn is the Builder ID placeholder,
// which is no real profile: it goes on runtime generations only, never on
// usage or model calls.
func IsPlaceholderProfile(arn string) bool { return arn == BuilderIDProfileARN }

// RegionFromARN returns the region of a profile ARN (its 4th ":" field,
// as the official client reads it in Endpoint::configured_value), or "".
func RegionFromARN(arn string) string {
	parts := strings.Split(arn, ":")
	if len(parts) < 6 || parts[0] != "arn" || checkRegion(parts[3]) != nil {
		return ""
	}
	return parts[3]
}

// IsAPIRegion reports whether Kiro's API exists in region.
func IsAPIRegion(region string) bool {
	for _, r := range APIRegions {
		if r == region {
			return true
		}
	}
	return false
}

// APIRegionsFor orders the API regions for looking up the profiles of an
// account signed in in ssoRegion: the one peers map it to first (eu-* →
// eu-central-1, everything else → us-east-1; kiro-protocol.md §11.2), then
// the other. Both are asked, as the official list_available_profiles does.
func APIRegionsFor(ssoRegion string) []string {
	if strings.HasPrefix(ssoRegion, "eu-") {
		return []string{"eu-central-1", "us-east-1"}
	}
	return []string{"us-east-1", "eu-central-1"}
}

// unreachable is the message of a network failure: the host, the region
// it was chosen for, and what to do, so that an account whose region is
// wrong says so instead of "connection refused". api says whether the
// host is one of Kiro's API hosts (region from the profile ARN) or a
// sign-in host (region from the token).
func unreachable(rawURL, region string, api bool) string {
	host := rawURL
	if u, err := url.Parse(rawURL); err == nil && u.Host != "" {
		host = u.Host
	}
	switch {
	case api && !IsAPIRegion(region):
		return fmt.Sprintf("cannot reach %s: Kiro's API runs only in %s, not in %s; the API region comes from the account's profile ARN "+
			"(run `kirobar accounts check` to resolve it again) or [kiro] region for accounts without one",
			host, strings.Join(APIRegions, " and "), region)
	case api:
		return fmt.Sprintf("cannot reach %s (API region %s): check the network, [kiro] proxy or the account's proxy", host, region)
	default:
		return fmt.Sprintf("cannot reach %s (sign-in region %s): check the network and proxy, and that %s is the region the account signed in in "+
			"(`kirobar accounts login --idc --region REGION`; the Kiro IDE's token file names it)", host, region, region)
	}
}
