// Package metrics holds the Prometheus collectors of a chatbox server.
//
// New registers them on a prometheus.Registerer the host passes in, never
// on the global registry, so several servers (or tests) in one process do
// not collide. Label values are bounded: no user or conversation ids appear
// in labels, close codes are grouped into classes, and open-ended values
// (model ids, finish reasons, error kinds, store operations, limit names,
// takeover actions) are capped per label, later newcomers being counted as
// "other".
//
// Metric names, after the namespace prefix ("chatbox_" by default), with
// their labels:
//
//	connections                       gauge      open WebSocket connections
//	socket_closes_total               counter    class (see CloseClass)
//	slow_consumer_closes_total        counter
//	conversations_opened_total        counter    kind: new, resumed
//	messages_accepted_total           counter    role: user, operator, other
//	generations_started_total         counter    model
//	generations_active                gauge
//	generations_total                 counter    model, finish_reason
//	generation_duration_seconds       histogram  model
//	time_to_first_token_seconds       histogram  model
//	tokens_total                      counter    model, direction: input, output
//	cost_total                        counter    model
//	provider_errors_total             counter    model, kind
//	store_operation_duration_seconds  histogram  op
//	store_errors_total                counter    op
//	limiter_denials_total             counter    limit
//	help_requests_total               counter
//	takeovers_total                   counter    action
//	shutdown_duration_seconds         gauge      duration of the last shutdown
//
// Every method is safe for concurrent use and does nothing on a nil
// *Metrics, so a server can call them whether or not metrics are enabled.
package metrics

import (
	"errors"
	"fmt"
	"regexp"

	"github.com/prometheus/client_golang/prometheus"
)

// DefaultNamespace prefixes every metric name when New is given "".
const DefaultNamespace = "chatbox"

// Metrics holds the collectors. The zero value is not usable; build one with
// New. A nil *Metrics is a valid no-op.
type Metrics struct {
	models  *labelSet
	reasons *labelSet
	kinds   *labelSet
	ops     *labelSet
	limits  *labelSet
	actions *labelSet

	connections        prometheus.Gauge
	socketCloses       *prometheus.CounterVec   // class
	conversations      *prometheus.CounterVec   // kind: new, resumed
	messages           *prometheus.CounterVec   // role
	generationsStarted *prometheus.CounterVec   // model
	generationsActive  prometheus.Gauge         //
	generations        *prometheus.CounterVec   // model, finish_reason
	generationSeconds  *prometheus.HistogramVec // model
	ttftSeconds        *prometheus.HistogramVec // model
	tokens             *prometheus.CounterVec   // model, direction
	cost               *prometheus.CounterVec   // model
	providerErrors     *prometheus.CounterVec   // model, kind
	storeSeconds       *prometheus.HistogramVec // op
	storeErrors        *prometheus.CounterVec   // op
	limiterDenials     *prometheus.CounterVec   // limit
	slowConsumers      prometheus.Counter
	shutdownSeconds    prometheus.Gauge
	helpRequests       prometheus.Counter
	takeovers          *prometheus.CounterVec // action
}

var metricNamePart = regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_]*$`)

// Histogram buckets, in seconds.
var (
	generationBuckets = []float64{0.25, 0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300}
	ttftBuckets       = []float64{0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30}
	storeBuckets      = []float64{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5}
)

// New creates the collectors and registers them on reg. namespace prefixes
// every metric name ("" means DefaultNamespace, "chatbox") and must match
// [a-zA-Z_][a-zA-Z0-9_]*. It returns an error for a nil reg, an invalid
// namespace, or a failed registration (for example a second New with the
// same namespace on the same registry; the error wraps
// prometheus.AlreadyRegisteredError). On error nothing stays registered.
func New(reg prometheus.Registerer, namespace string) (*Metrics, error) {
	if reg == nil {
		return nil, errors.New("metrics: New: nil prometheus.Registerer")
	}
	if namespace == "" {
		namespace = DefaultNamespace
	}
	if !metricNamePart.MatchString(namespace) {
		return nil, fmt.Errorf("metrics: New: namespace %q must match [a-zA-Z_][a-zA-Z0-9_]*", namespace)
	}

	counter := func(name, help string) prometheus.Counter {
		return prometheus.NewCounter(prometheus.CounterOpts{Namespace: namespace, Name: name, Help: help})
	}
	counterVec := func(name, help string, labels ...string) *prometheus.CounterVec {
		return prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: namespace, Name: name, Help: help}, labels)
	}
	gauge := func(name, help string) prometheus.Gauge {
		return prometheus.NewGauge(prometheus.GaugeOpts{Namespace: namespace, Name: name, Help: help})
	}
	histogramVec := func(name, help string, buckets []float64, labels ...string) *prometheus.HistogramVec {
		return prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: namespace, Name: name, Help: help, Buckets: buckets}, labels)
	}

	m := &Metrics{
		models:  newLabelSet(MaxModelValues),
		reasons: newLabelSet(maxSmallValues),
		kinds:   newLabelSet(maxSmallValues),
		ops:     newLabelSet(maxOpValues),
		limits:  newLabelSet(maxSmallValues),
		actions: newLabelSet(maxSmallValues),

		connections:        gauge("connections", "Open WebSocket connections."),
		socketCloses:       counterVec("socket_closes_total", "WebSocket connections closed, by close code class.", "class"),
		conversations:      counterVec("conversations_opened_total", "Conversations opened on a socket, new or resumed.", "kind"),
		messages:           counterVec("messages_accepted_total", "Messages accepted and stored, by author role (user, operator).", "role"),
		generationsStarted: counterVec("generations_started_total", "Model replies started, by model.", "model"),
		generationsActive:  gauge("generations_active", "Model replies in progress."),
		generations:        counterVec("generations_total", "Model replies ended, by model and finish reason.", "model", "finish_reason"),
		generationSeconds:  histogramVec("generation_duration_seconds", "Duration of model replies, start to finish.", generationBuckets, "model"),
		ttftSeconds:        histogramVec("time_to_first_token_seconds", "Time from the start of a model reply to its first token.", ttftBuckets, "model"),
		tokens:             counterVec("tokens_total", "Tokens reported by providers, by model and direction (input, output).", "model", "direction"),
		cost:               counterVec("cost_total", "Cost of replies in the price table's currency unit, by model (with WithPrices).", "model"),
		providerErrors:     counterVec("provider_errors_total", "Provider failures, by model and error kind.", "model", "kind"),
		storeSeconds:       histogramVec("store_operation_duration_seconds", "Duration of store operations, failed ones included.", storeBuckets, "op"),
		storeErrors:        counterVec("store_errors_total", "Store operations that failed, by operation.", "op"),
		limiterDenials:     counterVec("limiter_denials_total", "Requests refused by a rate limit, by limit.", "limit"),
		slowConsumers:      counter("slow_consumer_closes_total", "Sockets closed because the client read too slowly."),
		shutdownSeconds:    gauge("shutdown_duration_seconds", "Duration of the last shutdown."),
		helpRequests:       counter("help_requests_total", "Users asking for a person."),
		takeovers:          counterVec("takeovers_total", "Operator takeover actions, by action.", "action"),
	}

	// Series of fixed label sets start at zero so rates work from the start.
	for _, c := range closeClasses {
		m.socketCloses.WithLabelValues(c)
	}
	for _, k := range []string{"new", "resumed"} {
		m.conversations.WithLabelValues(k)
	}
	for _, r := range []string{"user", "operator"} {
		m.messages.WithLabelValues(r)
	}

	collectors := []prometheus.Collector{
		m.connections, m.socketCloses, m.conversations, m.messages,
		m.generationsStarted, m.generationsActive, m.generations, m.generationSeconds, m.ttftSeconds,
		m.tokens, m.cost, m.providerErrors, m.storeSeconds, m.storeErrors, m.limiterDenials,
		m.slowConsumers, m.shutdownSeconds, m.helpRequests, m.takeovers,
	}
	for i, c := range collectors {
		if err := reg.Register(c); err != nil {
			for _, done := range collectors[:i] {
				reg.Unregister(done)
			}
			return nil, fmt.Errorf("metrics: New: register: %w", err)
		}
	}
	return m, nil
}
