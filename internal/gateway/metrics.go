package gateway

import (
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// metrics are the gateway's Prometheus series (prefix sov_).
type metrics struct {
	reg      *prometheus.Registry
	requests *prometheus.CounterVec   // endpoint, model, backend, code
	tokens   *prometheus.CounterVec   // model, kind (prompt|completion)
	duration *prometheus.HistogramVec // endpoint
	ttft     *prometheus.HistogramVec // endpoint
	denials  *prometheus.CounterVec   // reason
	inFlight prometheus.Gauge

	// series caches the children a request's observation touches, by
	// their labels, so that the request path does not hash and check
	// label values on every call (model is "" unless the router knew the
	// model, so the set stays as small as the vectors themselves).
	series sync.Map // seriesKey → *requestSeries
}

type seriesKey struct {
	endpoint, model, backend string
	code                     int
}

type requestSeries struct {
	requests           prometheus.Counter
	duration, ttft     prometheus.Observer
	prompt, completion prometheus.Counter
}

func (m *metrics) seriesFor(k seriesKey) *requestSeries {
	if v, ok := m.series.Load(k); ok {
		return v.(*requestSeries)
	}
	rs := &requestSeries{
		requests:   m.requests.WithLabelValues(k.endpoint, k.model, k.backend, statusLabel(k.code)),
		duration:   m.duration.WithLabelValues(k.endpoint),
		ttft:       m.ttft.WithLabelValues(k.endpoint),
		prompt:     m.tokens.WithLabelValues(k.model, "prompt"),
		completion: m.tokens.WithLabelValues(k.model, "completion"),
	}
	v, _ := m.series.LoadOrStore(k, rs)
	return v.(*requestSeries)
}

func newMetrics(reg *prometheus.Registry, s *Server) *metrics {
	m := &metrics{
		reg: reg,
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sov_requests_total", Help: "Inference requests answered, by endpoint, model, backend and HTTP status.",
		}, []string{"endpoint", "model", "backend", "code"}),
		tokens: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sov_tokens_total", Help: "Tokens processed, by model and kind (prompt or completion).",
		}, []string{"model", "kind"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "sov_request_duration_seconds", Help: "Time from receiving a request to the end of its answer.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 120, 300},
		}, []string{"endpoint"}),
		ttft: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "sov_time_to_first_token_seconds", Help: "Time from receiving a request to the first byte of its answer.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60},
		}, []string{"endpoint"}),
		denials: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sov_denied_total", Help: "Requests refused before reaching a backend, by reason.",
		}, []string{"reason"}),
		inFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "sov_requests_in_flight", Help: "Inference requests being answered now.",
		}),
	}
	reg.MustRegister(m.requests, m.tokens, m.duration, m.ttft, m.denials, m.inFlight,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	health := prometheus.NewDesc("sov_backend_healthy", "1 when the backend is believed able to serve.", []string{"backend", "jurisdiction"}, nil)
	reg.MustRegister(&funcCollector{descs: []*prometheus.Desc{health}, collect: func(ch chan<- prometheus.Metric) {
		for _, b := range s.opts.Backends {
			v := 0.0
			if b.Healthy() {
				v = 1
			}
			ch <- prometheus.MustNewConstMetric(health, prometheus.GaugeValue, v, b.Name(), b.Labels().Jurisdiction)
		}
	}})
	if s.opts.Gauges != nil {
		reg.MustRegister(&gaugeFuncs{f: s.opts.Gauges})
	}
	return m
}

func (m *metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

func (m *metrics) denied(reason string) { m.denials.WithLabelValues(reason).Inc() }

func (m *metrics) observe(r *record, model string, latency time.Duration) {
	if len(r.decision) > 7 && r.decision[:7] == "denied:" {
		m.denied(r.decision[7:])
	}
	rs := m.seriesFor(seriesKey{endpoint: r.endpoint, model: model, backend: r.backend, code: r.status})
	rs.requests.Inc()
	rs.duration.Observe(latency.Seconds())
	if r.ttft > 0 {
		rs.ttft.Observe(r.ttft.Seconds())
	}
	if r.usage.PromptTokens > 0 {
		rs.prompt.Add(float64(r.usage.PromptTokens))
	}
	if r.usage.CompletionTokens > 0 {
		rs.completion.Add(float64(r.usage.CompletionTokens))
	}
}

// funcCollector reports metrics computed at scrape time.
type funcCollector struct {
	descs   []*prometheus.Desc
	collect func(chan<- prometheus.Metric)
}

func (c *funcCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range c.descs {
		ch <- d
	}
}
func (c *funcCollector) Collect(ch chan<- prometheus.Metric) { c.collect(ch) }

// gaugeFuncs exposes name → value gauges supplied by the backends (queue
// depth, loaded models); the names must be valid metric names.
type gaugeFuncs struct{ f func() map[string]float64 }

func (g *gaugeFuncs) Describe(chan<- *prometheus.Desc) {} // unchecked collector
func (g *gaugeFuncs) Collect(ch chan<- prometheus.Metric) {
	for name, v := range g.f() {
		d := prometheus.NewDesc(name, "Reported by a backend.", nil, nil)
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v)
	}
}
