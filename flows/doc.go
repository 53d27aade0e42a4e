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
//
// # Bodies stored by content
//
// An agent resends its whole conversation on every turn, so the request
// bodies of one session repeat each other: stored whole, a 200-turn
// session's bytes would grow with the square of its length. A details
// line therefore keeps a large JSON request body (the client's and the one
// sent to Kiro, each at least 4 KB) as a skeleton, and the parts it shares
// with other flows as pieces in kirobar.db:
//
//	"client_request":{"size":812345,
//	  "skeleton":{"model":"…","system":{"\u0000":"<sha256>"},"messages":[{"\u0000":"<sha256>"},…],…},
//	  "root":"<hex SHA-256 of the skeleton>"}
//
// The body is first redacted by the same byte scan as every other body
// (see redactjson.go), then cut (split.go): every string of 1 KB or more
// and every run of array elements becomes a piece, named by the SHA-256 of
// its bytes and replaced in its parent by the reference object
// {"\u0000":"<hex>"}. Runs are cut where a hash of an element says so, so
// they depend on their elements only: the next turn of a conversation, or
// one whose oldest turns Kiro's size guard dropped, finds its earlier runs
// stored already. A piece's bytes are the body's own bytes with its large
// parts replaced by references, so rebuilding is concatenation. A body
// containing the key "\u0000" written so is stored whole, which keeps
// every such object in a skeleton a reference.
//
// Every reference names its piece by the SHA-256 of the piece's bytes, so
// the skeleton's hash (root) is the root of a hash tree over every byte of
// the body. Store.Get rebuilds the body byte for byte, checking the
// skeleton against root and each piece against its name as it goes, so
// flows show, the dashboard and the diagnostic bundle read what they
// always read; a body that cannot be rebuilt (a piece missing or
// changed outside kirobar) keeps a note saying so and the rest of the
// details still read. Lines written before pieces existed have their body
// under "json" and read as before.
//
// Pieces live in flow_pieces (hash, reference count, sizes, codec) and
// flow_piece_data (the bytes, zstd-compressed when that pays). A piece is
// referenced by each detail file that has a line using it
// (flow_file_pieces) and by each piece whose bytes reference it; every
// change to those counts commits in the transaction of the index rows it
// belongs with, after the lines are written, so a kill at any point leaves
// no row without its line, no reference without its piece and no piece
// without a reference. Retention frees space a file at a time: deleting a
// file's rows drops the file's references, and a piece whose last
// reference goes is deleted in the same transaction, its own references
// with it. max_total_mb counts the detail files and the pieces' stored
// bytes.
//
// The recorder's writer does all of this off the request path: hashing a
// repeated part is the only cost it adds per turn, and it asks kirobar.db
// only about pieces it has not seen stored. pieceStore is the seam for
// another database.
package flows
