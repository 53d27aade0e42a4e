// Package kirofake is a fake Kiro upstream for kirobar's tests and load tool.
//
// It serves, on one loopback HTTP server, everything kirobar talks to: the
// generateAssistantResponse stream (AWS event-stream frames), social and IdC
// token refresh, getUsageLimits, ListAvailableModels, the Builder ID device
// flow and the social PKCE login. It rejects what the real service rejects,
// with the real status and body, so that a request-building bug in kirobar
// fails a test instead of failing a user.
//
// The package deliberately imports nothing from kirobar: it is a second,
// independent implementation of the protocol written from
// kiro-protocol.md, so that a misunderstanding shared by kirobar's encoder and
// decoder cannot hide behind a shared helper.
package kirofake
