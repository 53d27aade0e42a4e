package kiro

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
)

// maxProfilePages bounds ListAvailableProfiles pagination.
const maxProfilePages = 10

// Profile is a Kiro profile an account may use: its ARN names the API
// region that serves it.
type Profile struct {
	ARN    string
	Name   string
	Region string // the API region asked, which is the ARN's
}

// ListAvailableProfiles lists the profiles of an account in every API
// region, as the official client does: the operation
// AmazonCodeWhispererService.ListAvailableProfiles (awsJson1.0, POST / with
// {maxResults, nextToken}) on q.us-east-1 and q.eu-central-1, the results
// appended (crates/chat-cli/src/api_client/profile.rs,
// crates/amzn-codewhisperer-client/src/operation/list_available_profiles.rs).
// regions orders the regions asked (nil: APIRegions). An IAM Identity
// Center profile lives in one region, so the other answers an empty list.
// The error is nil when at least one region answered; a Builder ID account
// gets 403 "AWS Builder ID is not supported for this operation." from
// both (kiro-protocol.md §11.1).
func (c *Client) ListAvailableProfiles(ctx context.Context, cr Credentials, regions []string) ([]Profile, error) {
	if err := checkCredentials(cr); err != nil {
		return nil, &Error{Class: ClassAuth, Op: OpProfiles, Message: err.Error()}
	}
	if len(regions) == 0 {
		regions = APIRegions
	}
	var out []Profile
	var errs []error
	answered := false
	for _, region := range regions {
		ps, err := c.listProfilesIn(ctx, cr, region)
		if err != nil {
			if ctx.Err() != nil {
				return nil, err
			}
			errs = append(errs, err)
			continue
		}
		answered = true
		out = append(out, ps...)
	}
	if !answered {
		return nil, errors.Join(errs...)
	}
	return out, nil
}

// listProfilesIn asks one region, following nextToken.
func (c *Client) listProfilesIn(ctx context.Context, cr Credentials, region string) ([]Profile, error) {
	if err := checkRegion(region); err != nil {
		return nil, &Error{Class: ClassBadRequest, Op: OpProfiles, Message: err.Error()}
	}
	base, err := baseURL(c.cfg.IDEURL, region)
	if err != nil {
		return nil, &Error{Class: ClassBadRequest, Op: OpProfiles, Message: "ide url: " + err.Error()}
	}
	var out []Profile
	next := ""
	for page := 0; page < maxProfilePages; page++ {
		req := map[string]any{"maxResults": 10}
		if next != "" {
			req["nextToken"] = next
		}
		body, err := json.Marshal(req)
		if err != nil {
			return nil, &Error{Class: ClassBadRequest, Op: OpProfiles, Message: "encode request", Err: err}
		}
		h := c.managementHeader(cr)
		h.Set("Content-Type", "application/x-amz-json-1.0")
		h.Set("X-Amz-Target", "AmazonCodeWhispererService.ListAvailableProfiles")
		answer, err := c.do(ctx, exchange{
			op: OpProfiles, method: http.MethodPost, url: base + "/", proxy: cr.Proxy,
			header: h, body: body, secrets: []string{cr.AccessToken}, region: region, api: true,
		})
		if err != nil {
			return nil, err
		}
		var a struct {
			Profiles []struct {
				ARN         string `json:"arn"`
				ProfileName string `json:"profileName"`
			} `json:"profiles"`
			NextToken string `json:"nextToken"`
		}
		if err := json.Unmarshal(answer, &a); err != nil {
			return nil, &Error{Class: ClassServer, Op: OpProfiles, Message: "answer is not JSON"}
		}
		for _, p := range a.Profiles {
			if p.ARN != "" {
				out = append(out, Profile{ARN: p.ARN, Name: p.ProfileName, Region: region})
			}
		}
		if a.NextToken == "" || a.NextToken == next {
			return out, nil
		}
		next = a.NextToken
	}
	return nil, &Error{Class: ClassServer, Op: OpProfiles, Message: fmt.Sprintf("profile list did not end after %d pages", maxProfilePages)}
}
