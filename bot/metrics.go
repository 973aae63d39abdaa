package bot

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// Metrics are the bot's Prometheus metrics. A nil *Metrics records
// nothing. Serve them with promhttp on Registry (the admin listener does).
type Metrics struct {
	// Registry holds the metrics (and the Go and process collectors).
	Registry *prometheus.Registry

	eventsIn     [len(kindNames)]prometheus.Counter
	duplicates   prometheus.Counter
	handlerDur   *prometheus.HistogramVec
	handlerErr   *prometheus.CounterVec
	breakerTrips *prometheus.CounterVec
	sends        *prometheus.CounterVec
	sendDur      *prometheus.HistogramVec
	queueDepth   *prometheus.GaugeVec
	reconnects   prometheus.Counter
	rateLimit    prometheus.Gauge
	laneDepth    [4]prometheus.Gauge
}

// NewMetrics registers the bot's metrics in a new registry.
func NewMetrics() *Metrics {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m := &Metrics{Registry: reg}
	in := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "jimbot_events_in_total", Help: "Inbound events by kind."}, []string{"kind"})
	for _, k := range Kinds() {
		m.eventsIn[k] = in.WithLabelValues(k.String())
	}
	m.duplicates = prometheus.NewCounter(prometheus.CounterOpts{Name: "jimbot_events_duplicate_total", Help: "Redelivered events recognised as duplicates and dropped (acknowledged when already handled)."})
	m.handlerDur = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "jimbot_handler_duration_seconds", Help: "Handler and middleware latency by plugin.",
		Buckets: []float64{1e-6, 1e-5, 1e-4, 1e-3, 0.01, 0.1, 1, 10}}, []string{"plugin"})
	m.handlerErr = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "jimbot_handler_errors_total", Help: "Handler errors and panics by plugin."}, []string{"plugin"})
	m.breakerTrips = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "jimbot_plugin_disabled_total", Help: "Times a plugin's circuit breaker disabled it."}, []string{"plugin"})
	m.sends = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "jimbot_events_out_total", Help: "Outbound actions by lane, kind and outcome (ok, retry, failed, dropped)."}, []string{"lane", "kind", "outcome"})
	m.sendDur = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "jimbot_send_duration_seconds", Help: "Outbound call latency by lane.",
		Buckets: prometheus.DefBuckets}, []string{"lane"})
	m.queueDepth = prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "jimbot_queue_depth", Help: "Queued items: dispatch (events) and the send lanes."}, []string{"queue"})
	for l := LaneModeration; l <= LaneAnnouncement; l++ {
		m.laneDepth[l] = m.queueDepth.WithLabelValues("send_" + l.String())
	}
	m.reconnects = prometheus.NewCounter(prometheus.CounterOpts{Name: "jimbot_reconnects_total", Help: "Reconnections to the server."})
	m.rateLimit = prometheus.NewGauge(prometheus.GaugeOpts{Name: "jimbot_send_rate_limit_per_minute", Help: "The send governor's rate limit (negative: none)."})
	reg.MustRegister(in, m.duplicates, m.handlerDur, m.handlerErr, m.breakerTrips, m.sends, m.sendDur, m.queueDepth, m.reconnects, m.rateLimit)
	return m
}

// pluginMetrics are one plugin's pre-resolved metric children.
type pluginMetrics struct {
	dur prometheus.Observer
	err prometheus.Counter
}

func (m *Metrics) forPlugin(id string) *pluginMetrics {
	if m == nil {
		return nil
	}
	return &pluginMetrics{dur: m.handlerDur.WithLabelValues(id), err: m.handlerErr.WithLabelValues(id)}
}

func (m *Metrics) eventIn(k Kind) {
	if m != nil && int(k) < len(m.eventsIn) && m.eventsIn[k] != nil {
		m.eventsIn[k].Inc()
	}
}

func (m *Metrics) duplicate() {
	if m != nil {
		m.duplicates.Inc()
	}
}

func (pm *pluginMetrics) observe(d time.Duration) {
	if pm != nil {
		pm.dur.Observe(d.Seconds())
	}
}

func (pm *pluginMetrics) count(failed bool) {
	if pm != nil && failed {
		pm.err.Inc()
	}
}

func (m *Metrics) tripped(plugin string) {
	if m != nil {
		m.breakerTrips.WithLabelValues(plugin).Inc()
	}
}

func (m *Metrics) sent(o *Op, outcome string) {
	if m != nil {
		m.sends.WithLabelValues(o.Lane.String(), o.Kind.String(), outcome).Inc()
	}
}

func (m *Metrics) sendLatency(l Lane, d time.Duration) {
	if m != nil {
		m.sendDur.WithLabelValues(l.String()).Observe(d.Seconds())
	}
}

func (m *Metrics) queued(l Lane, delta int) {
	if m != nil && m.laneDepth[l] != nil {
		m.laneDepth[l].Add(float64(delta))
	}
}

func (m *Metrics) reconnected() {
	if m != nil {
		m.reconnects.Inc()
	}
}

// watchDispatch exports the dispatcher's queue depth.
func (m *Metrics) watchDispatch(d *dispatcher) {
	if m == nil {
		return
	}
	m.Registry.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "jimbot_dispatch_queue_depth", Help: "Events waiting for a worker."},
		func() float64 { return float64(d.pending()) }))
}
