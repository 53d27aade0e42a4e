// Package kirofake is a fake Kiro upstream for kirobar's tests and load tool.
//
// It serves, on one loopback HTTP server, everything kirobar talks to: the
// generateAssistantResponse stream (AWS event-stream frames), social and IdC
// token refresh, getUsageLimits, ListAvailableModels, the web search of the
// InvokeMCP operation (mcp.go), the Builder ID device flow and the social PKCE login. Point every kirobar upstream URL (api_url,
// ide_url, auth_url, oidc_url) at Server.URL, or use HostURLs: then each call
// names its host (runtime, q, auth, oidc) and region in the path, the fake
// applies what that host in that region does (the runtime host wants a
// profileArn of its own region from every account; usage, models and
// profiles live on the q host; Kiro's hosts exist only in us-east-1 and
// eu-central-1), and Calls shows where each call went. It rejects what the
// real service rejects, with the real status and body, so that a
// request-building bug in kirobar fails a test instead of failing a user.
//
// The package deliberately imports nothing from kirobar: it is a second,
// independent implementation of the protocol written from
// kiro-protocol.md, so that a misunderstanding shared by kirobar's encoder and
// decoder cannot hide behind a shared helper.
//
// Typical use:
//
//	fake, err := kirofake.Start(kirofake.Options{Clock: clock.Now})
//	...
//	defer fake.Close()
//	fake.AddAccount(kirofake.Account{ID: "a1", RefreshToken: refresh})
//	fake.Enqueue(kirofake.ToolReply("tooluse_1", "Bash", `{"command":"ls"}`))
//	fake.SetResponder(kirofake.ToolRoundTrip("Bash", "tooluse_1", `{"command":"ls"}`, "Done:"))
//	... drive kirobar ...
//	fake.WaitFor(ctx, func(st kirofake.Stats) bool { return st.Canceled == 1 })
//	reqs := fake.Requests() // what kirobar actually sent
//
// Streams end the way the service's do (kiro-protocol.md §11.10): the
// ready-made replies finish with meteringEvent, contextUsageEvent and a
// metadataEvent carrying the stop reason; an account with NoMetadataEvent
// (Builder ID) gets no metadataEvent; CutReply and bare Text end without any
// end event, as a cut stream does; runtime-style streams open with the
// awsJson initial-response frame.
//
// A refused generation carries an x-kirofake-rule response header naming the
// Rule that fired; Stats.Rejections counts them.
package kirofake
