// Package flows records every client request kirobar serves so a user can
// see afterwards what happened: which account answered, what went upstream,
// what came back, how long each phase took.
//
// The index lives in kirobar.db (table flows, one row per request, plus a
// daily usage table that outlives retention); the bulky details are JSON
// lines in <home>/flows/YYYY-MM-DD/flows-NNN.jsonl, and each index row keeps
// the file path and byte offset of its line. Recording is asynchronous and
// bounded so it never slows a request, secrets are redacted before anything
// reaches disk, and retention keeps the whole thing within configured limits.
package flows
