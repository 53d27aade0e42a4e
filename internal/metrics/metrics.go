// Package metrics exposes what kirobar does in Prometheus's text format
// on GET /metrics: requests by surface, HTTP status and model, time to
// first byte, upstream errors by class, account states, token refreshes,
// waits for a free account, and the shared store's health.
//
// The parts of kirobar report through small interfaces of their own
// (server.Recorder, accounts.Metrics) that *Metrics implements; nothing
// here reaches into them. Each Metrics has its own registry: no global
// state, so tests and several servers in one process never mix numbers.
package metrics

import (
	"bytes"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/common/expfmt"
	"github.com/valyala/fasthttp"

	"github.com/kirobar/kirobar/flows"
)

// Metrics holds kirobar's collectors. The zero value is not usable; use New.
type Metrics struct {
	reg *prometheus.Registry

	requests  *prometheus.CounterVec
	ttfb      *prometheus.HistogramVec
	duration  *prometheus.HistogramVec
	upstream  *prometheus.CounterVec
	refreshes *prometheus.CounterVec
	queueWait prometheus.Histogram
}

// Info names this instance in kirobar_instance_info.
type Info struct {
	Instance string
	Version  string
}

// New registers kirobar's metrics and the Go runtime's.
func New(info Info) *Metrics {
	m := &Metrics{reg: prometheus.NewRegistry()}
	m.requests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "kirobar_requests_total",
		Help: "Client requests answered, by API surface, HTTP status and Kiro model.",
	}, []string{"surface", "status", "model"})
	m.ttfb = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "kirobar_time_to_first_byte_seconds",
		Help:    "Time from a request's arrival to the first byte of its answer, for requests that got one.",
		Buckets: []float64{0.05, 0.1, 0.25, 0.5, 1, 2, 3, 5, 8, 13, 20, 30, 60},
	}, []string{"surface", "model"})
	m.duration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "kirobar_request_duration_seconds",
		Help:    "Time from a request's arrival to the end of its answer.",
		Buckets: []float64{0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600},
	}, []string{"surface"})
	m.upstream = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "kirobar_upstream_errors_total",
		Help: "Failed upstream attempts by error class (an attempt that failed over counts too).",
	}, []string{"class"})
	m.refreshes = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "kirobar_token_refreshes_total",
		Help: "Access-token refreshes by result: ok (this instance refreshed), adopted (another instance or the linked file had newer tokens), failed, invalid_grant.",
	}, []string{"result"})
	m.queueWait = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "kirobar_queue_wait_seconds",
		Help:    "Time a request waited for an account with free capacity (zero when one was free).",
		Buckets: []float64{0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30},
	})
	infoGauge := prometheus.NewGauge(prometheus.GaugeOpts{
		Name:        "kirobar_instance_info",
		Help:        "Always 1; the labels name this kirobar instance and its version.",
		ConstLabels: prometheus.Labels{"name": info.Instance, "version": info.Version},
	})
	infoGauge.Set(1)
	m.reg.MustRegister(m.requests, m.ttfb, m.duration, m.upstream, m.refreshes, m.queueWait, infoGauge,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Flow counts one finished client request.
func (m *Metrics) Flow(f *flows.Flow) {
	model := f.KiroModel
	m.requests.WithLabelValues(f.Surface, strconv.Itoa(f.HTTPStatus), model).Inc()
	if f.TTFB > 0 {
		m.ttfb.WithLabelValues(f.Surface, model).Observe(f.TTFB.Seconds())
	}
	m.duration.WithLabelValues(f.Surface).Observe(f.Duration.Seconds())
	for _, a := range f.Attempts {
		if a.ErrorClass != "" {
			m.upstream.WithLabelValues(a.ErrorClass).Inc()
		}
	}
}

// Refreshed counts one token refresh by its result.
func (m *Metrics) Refreshed(result string) { m.refreshes.WithLabelValues(result).Inc() }

// QueueWait records how long a request waited for an account.
func (m *Metrics) QueueWait(d time.Duration) { m.queueWait.Observe(d.Seconds()) }

// GaugeFunc registers a gauge read when scraped, for state that others
// own (account states, instances alive, the store being reachable).
func (m *Metrics) GaugeFunc(name, help string, read func() float64) {
	m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help}, read))
}

// Counts registers a gauge vector with one label, read when scraped:
// read returns the value of each label value present now. Values that
// were reported before and are absent now read as zero, so a state
// that emptied shows 0 rather than vanishing.
func (m *Metrics) Counts(name, help, label string, read func() map[string]int) {
	m.reg.MustRegister(&countsCollector{
		desc: prometheus.NewDesc(name, help, []string{label}, nil),
		read: read,
		seen: map[string]bool{},
	})
}

// Handler serves the registry in Prometheus's text format.
func (m *Metrics) Handler(ctx *fasthttp.RequestCtx) {
	mfs, err := m.reg.Gather()
	if err != nil {
		ctx.Error("gather metrics: "+err.Error(), fasthttp.StatusInternalServerError)
		return
	}
	format := expfmt.NewFormat(expfmt.TypeTextPlain)
	var buf bytes.Buffer
	enc := expfmt.NewEncoder(&buf, format)
	for _, mf := range mfs {
		if err := enc.Encode(mf); err != nil {
			ctx.Error("encode metrics: "+err.Error(), fasthttp.StatusInternalServerError)
			return
		}
	}
	ctx.SetContentType(string(format))
	ctx.SetBody(buf.Bytes())
}

// FlowRecorder is where finished flows go next (flows.Recorder).
type FlowRecorder interface {
	Record(f *flows.Flow)
}

// Observer counts every finished request and hands the flow on.
type Observer struct {
	m    *Metrics
	next FlowRecorder
}

// Observe returns a recorder that counts each flow and then passes it to
// next; with next nil (flows are off) the flow is only counted.
func (m *Metrics) Observe(next FlowRecorder) *Observer { return &Observer{m: m, next: next} }

// Record counts f, then hands it on; the flow belongs to next afterwards.
func (o *Observer) Record(f *flows.Flow) {
	o.m.Flow(f)
	if o.next != nil {
		o.next.Record(f)
	}
}
