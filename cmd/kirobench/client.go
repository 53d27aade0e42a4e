//go:build linux

package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/kirobar/kirobar/kiro/eventstream"
)

// result is one request as a client saw it.
type result struct {
	// first is the time until the first piece of the answer reached the
	// client: kirobar's first content_block_delta event, the first Kiro
	// event frame on the hop and direct paths (the fake's first frame is
	// the first text of the answer).
	first  time.Duration
	total  time.Duration // until the stream ended
	events int
	own    time.Duration // kirobar's Server-Timing "kirobar;dur"
	hasOwn bool
	err    error
}

// path is one way to the fake: through kirobar, through the pass-through
// hop, or direct.
type path interface {
	name() string
	// do sends one request built from w and reads the whole stream. br is
	// the calling worker's reader, reused across its requests.
	do(ctx context.Context, w *workload, br *bufio.Reader) result
}

// newHTTPClient is a streaming client sized for conc concurrent requests:
// every worker keeps its connection, nothing is compressed.
func newHTTPClient(conc int) *http.Client {
	return &http.Client{Transport: &http.Transport{
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:        0,
		MaxIdleConnsPerHost: conc + 16,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
		ForceAttemptHTTP2:   false,
		WriteBufferSize:     64 << 10,
		ReadBufferSize:      64 << 10,
	}}
}

// throughKirobar posts the Anthropic request to kirobar and reads the SSE
// stream to message_stop.
type throughKirobar struct {
	url string
	hc  *http.Client
}

func (p *throughKirobar) name() string { return "kirobar" }

func (p *throughKirobar) do(ctx context.Context, w *workload, br *bufio.Reader) result {
	start := time.Now()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.url+"/v1/messages?beta=true", bytes.NewReader(w.anthropic))
	if err != nil {
		return result{err: err}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("x-api-key", benchKey)
	req.Header.Set("anthropic-version", "2023-06-01")
	resp, err := p.hc.Do(req)
	if err != nil {
		return result{err: err}
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return result{err: fmt.Errorf("kirobar answered %d: %s", resp.StatusCode, b)}
	}
	res := result{}
	res.own, res.hasOwn = serverTiming(resp.Header.Get("Server-Timing"), "kirobar")
	br.Reset(resp.Body)
	stopped := false
	for {
		line, err := br.ReadSlice('\n')
		if ev, ok := bytes.CutPrefix(line, []byte("event: ")); ok {
			res.events++
			switch string(bytes.TrimSpace(ev)) {
			case "content_block_delta":
				if res.first == 0 {
					res.first = time.Since(start)
				}
			case "message_stop":
				stopped = true
			case "error":
				res.err = errors.New("kirobar sent an error event")
			}
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			res.err = fmt.Errorf("read kirobar stream: %w", err)
			return res
		}
	}
	res.total = time.Since(start)
	if res.err == nil && !stopped {
		res.err = errors.New("kirobar stream ended without message_stop")
	}
	if res.err == nil && res.first == 0 {
		res.err = errors.New("kirobar stream had no content_block_delta")
	}
	return res
}

// serverTiming reads the dur of one metric from a Server-Timing header.
func serverTiming(h, metric string) (time.Duration, bool) {
	for _, part := range strings.Split(h, ",") {
		name, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if name != metric {
			continue
		}
		for _, p := range strings.Split(params, ";") {
			if v, ok := strings.CutPrefix(strings.TrimSpace(p), "dur="); ok {
				ms, err := strconv.ParseFloat(v, 64)
				if err != nil {
					return 0, false
				}
				return time.Duration(ms * float64(time.Millisecond)), true
			}
		}
	}
	return 0, false
}

// kiroPath posts the Kiro request kirobar would send to the fake, straight
// (direct) or through the pass-through hop, and decodes the frames with
// kirobar's own decoder.
type kiroPath struct {
	label string
	url   string
	token string
	hc    *http.Client
}

func (p *kiroPath) name() string { return p.label }

func (p *kiroPath) do(ctx context.Context, w *workload, br *bufio.Reader) result {
	start := time.Now()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.url+"/generateAssistantResponse", bytes.NewReader(w.kiro))
	if err != nil {
		return result{err: err}
	}
	req.Header.Set("Content-Type", "application/x-amz-json-1.0")
	req.Header.Set("X-Amz-Target", "AmazonCodeWhispererStreamingService.GenerateAssistantResponse")
	req.Header.Set("Authorization", "Bearer "+p.token)
	req.Header.Set("Accept", "*/*")
	resp, err := p.hc.Do(req)
	if err != nil {
		return result{err: err}
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return result{err: fmt.Errorf("%s: the fake answered %d: %s", p.label, resp.StatusCode, b)}
	}
	br.Reset(resp.Body)
	dec := eventstream.NewDecoder(br)
	res := result{}
	for {
		msg, err := dec.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			res.err = fmt.Errorf("%s: decode the stream: %w", p.label, err)
			return res
		}
		if res.first == 0 {
			res.first = time.Since(start)
		}
		res.events++
		if t := msg.Headers.Get(eventstream.HeaderMessageType); t != "event" {
			res.err = fmt.Errorf("fake sent a %s frame", t)
		}
	}
	res.total = time.Since(start)
	return res
}
