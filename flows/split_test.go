package flows

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
)

// memPieces collects what split produced into a map, as the store would
// hold it, so a skeleton can be expanded without a database.
func memPieces(s *splitter, into map[hash][]byte) {
	for _, p := range s.pieces {
		into[p.hash] = append([]byte(nil), p.data...)
	}
}

// roundTrip splits body, checks the skeleton and pieces are well formed,
// and returns the skeleton and the body rebuilt from it.
func roundTrip(t testing.TB, s *splitter, body []byte, store map[hash][]byte) (skel, rebuilt []byte, split bool) {
	t.Helper()
	sk, roots, ok := s.split(body)
	if !ok {
		return nil, nil, false
	}
	skel = append([]byte(nil), sk...)
	if !json.Valid(skel) {
		t.Fatalf("skeleton is not JSON: %.300s", skel)
	}
	seen := map[hash]bool{}
	for _, r := range roots {
		seen[s.pieces[r].hash] = true
	}
	got, err := refsIn(skel, map[hash][]byte{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(roots) {
		t.Fatalf("skeleton references %d pieces, split reported %d roots", len(got), len(roots))
	}
	for _, h := range got {
		if !seen[h] {
			t.Fatalf("skeleton references %x, not a root", h[:4])
		}
	}
	for _, p := range s.pieces {
		kids, err := refsIn(p.data, map[hash][]byte{}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if len(kids) != len(p.children) {
			t.Fatalf("piece %x references %d pieces, has %d children", p.hash[:4], len(kids), len(p.children))
		}
	}
	memPieces(s, store)
	rebuilt, err = expand(nil, skel, store, 0, 1<<30)
	if err != nil {
		t.Fatal(err)
	}
	return skel, rebuilt, true
}

// conversation builds the body of turn n of a synthetic agent session:
// a large system prompt, tools, and n exchanges with tool results.
func conversation(n int, r *rand.Rand) []byte {
	var b strings.Builder
	b.WriteString(`{"model":"m","system":[{"type":"text","text":"` + strings.Repeat("You are a careful agent. ", 200) + `"}],"messages":[`)
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		size := 100 + (i*7919)%6000
		fmt.Fprintf(&b, `{"role":"assistant","content":[{"type":"text","text":"step %d"},{"type":"tool_use","id":"t%d","name":"Read","input":{"path":"f%d"}}]},`, i, i, i)
		fmt.Fprintf(&b, `{"role":"user","content":[{"type":"tool_result","tool_use_id":"t%d","content":"%s"}]}`, i, strings.Repeat(fmt.Sprintf("line %d \\\"q\\\" é\\n", i), size/16))
	}
	b.WriteString(`],"tools":[`)
	for i := range 12 {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"name":"tool%d","description":"%s","input_schema":{"type":"object","properties":{"a":{"type":"string"}}}}`, i, strings.Repeat("describe ", 150))
	}
	fmt.Fprintf(&b, `],"max_tokens":%d,"stream":true}`, 1000+r.IntN(10))
	return []byte(b.String())
}

func TestSplitRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	var s splitter
	for _, tc := range []struct {
		name  string
		body  string
		split bool
	}{
		{"small", `{"a":1}`, false},
		{"ref key present", `{"x":"` + strings.Repeat("y", 5000) + `","\u0000":1}`, false},
		{"big string", `{"x":"` + strings.Repeat("y", 5000) + `"}`, true},
		{"root string", `"` + strings.Repeat("z", 5000) + `"`, true},
		{"array of alike", `[` + strings.TrimSuffix(strings.Repeat(`{"k":"`+strings.Repeat("v", 90)+`"},`, 400), ",") + `]`, true},
		{"nested arrays", `{"a":[[` + strings.Repeat(`[1,2,"`+strings.Repeat("w", 600)+`"],`, 40) + `[]],{}],"b":null,"c":-1.5e3,"d":true}`, true},
		{"conversation", string(conversation(60, r)), true},
	} {
		store := map[hash][]byte{}
		_, out, ok := roundTrip(t, &s, []byte(tc.body), store)
		if ok != tc.split {
			t.Fatalf("%s: split = %v, want %v", tc.name, ok, tc.split)
		}
		if ok && !bytes.Equal(out, []byte(tc.body)) {
			t.Fatalf("%s: rebuilt body differs", tc.name)
		}
	}
}

// TestSplitSharesTurns checks what splitting is for: consecutive turns of
// a conversation, and a conversation that lost its oldest turns, store
// only a small part of each body anew.
func TestSplitSharesTurns(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	var s splitter
	store := map[hash][]byte{}
	var total, added int
	for n := 1; n <= 120; n++ {
		body := conversation(n, r)
		before := storeBytes(store)
		skel, out, ok := roundTrip(t, &s, body, store)
		if !ok || !bytes.Equal(out, body) {
			t.Fatalf("turn %d: split %v, rebuilt equal %v", n, ok, bytes.Equal(out, body))
		}
		total += len(body)
		added += storeBytes(store) - before + len(skel)
	}
	if added*10 > total {
		t.Fatalf("120 turns of %d bytes stored %d bytes anew: less than 10x saved", total, added)
	}
	// Kiro's size guard drops the oldest turns: what follows the cut is
	// still shared.
	long := conversation(120, r)
	cut := bytes.Replace(long, []byte(`{"role":"assistant","content":[{"type":"text","text":"step 0"}`), []byte(`{"role":"assistant","content":[{"type":"text","text":"step X"}`), 1)
	before := storeBytes(store)
	skel, out, _ := roundTrip(t, &s, cut, store)
	if !bytes.Equal(out, cut) {
		t.Fatal("rebuilt body differs")
	}
	if n := storeBytes(store) - before + len(skel); n*10 > len(cut) {
		t.Fatalf("a changed first message stored %d of %d bytes anew", n, len(cut))
	}
}

func storeBytes(m map[hash][]byte) int {
	n := 0
	for _, b := range m {
		n += len(b)
	}
	return n
}

// FuzzSplit checks the property rebuilding relies on: for every body the
// redaction scanner writes, splitting and expanding gives the same bytes
// back, and the skeleton is JSON.
func FuzzSplit(f *testing.F) {
	r := rand.New(rand.NewPCG(11, 12))
	f.Add(conversation(3, r))
	f.Add([]byte(`[` + strings.Repeat(`"`+strings.Repeat("a", 1100)+`",`, 3) + `1]`))
	f.Add([]byte(`{"a":{"b":[{"c":"` + strings.Repeat("\\u00e9", 900) + `"}]},"d":[` + strings.Repeat(`{},`, 700) + `[]]}`))
	f.Add([]byte(`{"x":"` + strings.Repeat(`\"`, 3000) + `"}`))
	rd := newRedactor(nil)
	f.Fuzz(func(t *testing.T, body []byte) {
		compact, ok := rd.redactJSON(nil, body)
		if !ok {
			return
		}
		var s splitter
		store := map[hash][]byte{}
		_, out, split := roundTrip(t, &s, compact, store)
		if split && !bytes.Equal(out, compact) {
			t.Fatalf("rebuilt %q\nfrom   %q", out, compact)
		}
	})
}

// FuzzExpand feeds arbitrary skeletons and pieces to the rebuilding
// code, as a damaged details line or store would: it must fail cleanly,
// never panic or loop, and bytes without references come back as they
// are.
func FuzzExpand(f *testing.F) {
	h := sha256.Sum256([]byte(`"abc"`))
	ref := string(appendRef(nil, &h))
	f.Add([]byte(`{"a":`+ref+`}`), []byte(`"abc"`))
	f.Add([]byte(`[`+ref+`,`+ref[:20]+`]`), []byte(ref))
	f.Add([]byte(`{"\u0000":"zz"}`), []byte{})
	f.Fuzz(func(t *testing.T, skel, data []byte) {
		store := map[hash][]byte{sha256.Sum256(data): data}
		out, err := expand(nil, skel, store, 0, 1<<20)
		if _, refs, _ := nextRef(skel, 0); err == nil && refs == (hash{}) && !bytes.Contains(skel, []byte(refPrefix)) && !bytes.Equal(out, skel) {
			t.Fatalf("skeleton without references came back as %q", out)
		}
		_, _ = refsIn(skel, store, nil)
	})
}
