package metrics_test

import (
	"errors"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"

	"github.com/chatboxsdk/chatbox/internal/metrics"
)

func newMetrics(t *testing.T) (*metrics.Metrics, *prometheus.Registry) {
	t.Helper()
	reg := prometheus.NewRegistry()
	m, err := metrics.New(reg, "")
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return m, reg
}

// family returns the gathered family called name, failing if absent.
func family(t *testing.T, reg *prometheus.Registry, name string) *dto.MetricFamily {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatalf("Gather: %v", err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name {
			return mf
		}
	}
	t.Fatalf("no metric family %q", name)
	return nil
}

// histogram returns the sample count and sum of the series of name whose
// labels include want.
func histogram(t *testing.T, reg *prometheus.Registry, name string, want map[string]string) (uint64, float64) {
	t.Helper()
	for _, m := range family(t, reg, name).GetMetric() {
		if hasLabels(m, want) {
			return m.GetHistogram().GetSampleCount(), m.GetHistogram().GetSampleSum()
		}
	}
	t.Fatalf("%s has no series with labels %v", name, want)
	return 0, 0
}

func hasLabels(m *dto.Metric, want map[string]string) bool {
	n := 0
	for _, lp := range m.GetLabel() {
		if v, ok := want[lp.GetName()]; ok && v == lp.GetValue() {
			n++
		}
	}
	return n == len(want)
}

func expect(t *testing.T, what string, got, want float64) {
	t.Helper()
	if got != want {
		t.Errorf("%s = %v, want %v", what, got, want)
	}
}

func TestMetricsCountWhatHappened(t *testing.T) {
	m, reg := newMetrics(t)

	// Three sockets: one ends normally, one is closed as a slow consumer.
	m.SocketOpened()
	m.SocketOpened()
	m.SocketOpened()
	m.SocketClosed(1000)
	m.SlowConsumerClosed()
	m.SocketClosed(4008)
	m.ConversationOpened(true)
	m.ConversationOpened(false)
	m.ConversationOpened(true)
	m.MessageAccepted("user")
	m.MessageAccepted("user")
	m.MessageAccepted("operator")
	m.GenerationStarted("gpt-small")
	m.GenerationEnded("gpt-small", "stop", 2*time.Second, 250*time.Millisecond, 120, 48)
	m.GenerationStarted("gpt-small")
	m.GenerationEnded("gpt-small", "handoff", 500*time.Millisecond, 0, 130, 0)
	m.GenerationStarted("claude")
	m.ProviderError("claude", "rate_limited")
	m.GenerationEnded("claude", "error", time.Second, 0, 0, 0)
	m.StoreOperation("append", 3*time.Millisecond, nil)
	m.StoreOperation("append", 5*time.Millisecond, errors.New("timeout"))
	m.StoreOperation("get", time.Millisecond, nil)
	m.LimiterDenied("message")
	m.LimiterDenied("message")
	m.LimiterDenied("connect")
	m.HelpRequested()
	m.Takeover("take")
	m.Takeover("release")
	m.Takeover("take")
	m.ShutdownDuration(1500 * time.Millisecond)

	expect(t, "connections", counterValue(t, reg, "chatbox_connections", nil), 1)
	closes := []struct {
		class string
		want  float64
	}{{"normal", 1}, {"slow_consumer", 1}, {"going_away", 0}, {"unauthorized", 0}, {"protocol", 0}, {"other", 0}}
	for _, c := range closes {
		expect(t, "closes "+c.class, counterValue(t, reg, "chatbox_socket_closes_total", map[string]string{"class": c.class}), c.want)
	}
	expect(t, "slow consumer closes", counterValue(t, reg, "chatbox_slow_consumer_closes_total", nil), 1)
	expect(t, "conversations new", counterValue(t, reg, "chatbox_conversations_opened_total", map[string]string{"kind": "new"}), 2)
	expect(t, "conversations resumed", counterValue(t, reg, "chatbox_conversations_opened_total", map[string]string{"kind": "resumed"}), 1)
	expect(t, "user messages", counterValue(t, reg, "chatbox_messages_accepted_total", map[string]string{"role": "user"}), 2)
	expect(t, "operator messages", counterValue(t, reg, "chatbox_messages_accepted_total", map[string]string{"role": "operator"}), 1)

	expect(t, "started gpt-small", counterValue(t, reg, "chatbox_generations_started_total", map[string]string{"model": "gpt-small"}), 2)
	expect(t, "started claude", counterValue(t, reg, "chatbox_generations_started_total", map[string]string{"model": "claude"}), 1)
	expect(t, "active", counterValue(t, reg, "chatbox_generations_active", nil), 0)
	expect(t, "gpt-small stop", counterValue(t, reg, "chatbox_generations_total", map[string]string{"model": "gpt-small", "finish_reason": "stop"}), 1)
	expect(t, "gpt-small handoff", counterValue(t, reg, "chatbox_generations_total", map[string]string{"model": "gpt-small", "finish_reason": "handoff"}), 1)
	expect(t, "claude error", counterValue(t, reg, "chatbox_generations_total", map[string]string{"model": "claude", "finish_reason": "error"}), 1)
	if n := testutil.CollectAndCount(reg, "chatbox_generations_total"); n != 3 {
		t.Errorf("generations_total has %d series, want 3", n)
	}

	if n, sum := histogram(t, reg, "chatbox_generation_duration_seconds", map[string]string{"model": "gpt-small"}); n != 2 || sum != 2.5 {
		t.Errorf("gpt-small duration: count %d sum %v, want 2 and 2.5", n, sum)
	}
	// Only the reply that produced a token has a time to first token.
	if n, sum := histogram(t, reg, "chatbox_time_to_first_token_seconds", map[string]string{"model": "gpt-small"}); n != 1 || sum != 0.25 {
		t.Errorf("gpt-small ttft: count %d sum %v, want 1 and 0.25", n, sum)
	}
	if n := testutil.CollectAndCount(reg, "chatbox_time_to_first_token_seconds"); n != 1 {
		t.Errorf("ttft has %d series, want 1 (claude produced no token)", n)
	}
	expect(t, "input tokens", counterValue(t, reg, "chatbox_tokens_total", map[string]string{"model": "gpt-small", "direction": "input"}), 250)
	expect(t, "output tokens", counterValue(t, reg, "chatbox_tokens_total", map[string]string{"model": "gpt-small", "direction": "output"}), 48)
	if n := testutil.CollectAndCount(reg, "chatbox_tokens_total"); n != 2 {
		t.Errorf("tokens_total has %d series, want 2 (zero counts add no series)", n)
	}
	expect(t, "provider errors", counterValue(t, reg, "chatbox_provider_errors_total", map[string]string{"model": "claude", "kind": "rate_limited"}), 1)

	if n, sum := histogram(t, reg, "chatbox_store_operation_duration_seconds", map[string]string{"op": "append"}); n != 2 || sum != 0.008 {
		t.Errorf("store append: count %d sum %v, want 2 and 0.008", n, sum)
	}
	expect(t, "store append errors", counterValue(t, reg, "chatbox_store_errors_total", map[string]string{"op": "append"}), 1)
	if n := testutil.CollectAndCount(reg, "chatbox_store_errors_total"); n != 1 {
		t.Errorf("store_errors_total has %d series, want 1", n)
	}
	expect(t, "limiter message", counterValue(t, reg, "chatbox_limiter_denials_total", map[string]string{"limit": "message"}), 2)
	expect(t, "limiter connect", counterValue(t, reg, "chatbox_limiter_denials_total", map[string]string{"limit": "connect"}), 1)
	expect(t, "help requests", counterValue(t, reg, "chatbox_help_requests_total", nil), 1)
	expect(t, "takeovers take", counterValue(t, reg, "chatbox_takeovers_total", map[string]string{"action": "take"}), 2)
	expect(t, "takeovers release", counterValue(t, reg, "chatbox_takeovers_total", map[string]string{"action": "release"}), 1)
	expect(t, "shutdown seconds", counterValue(t, reg, "chatbox_shutdown_duration_seconds", nil), 1.5)
}

// counterValue returns the value of the counter or gauge series of name
// whose labels include want.
func counterValue(t *testing.T, reg *prometheus.Registry, name string, want map[string]string) float64 {
	t.Helper()
	for _, m := range family(t, reg, name).GetMetric() {
		if hasLabels(m, want) {
			switch {
			case m.Counter != nil:
				return m.GetCounter().GetValue()
			case m.Gauge != nil:
				return m.GetGauge().GetValue()
			}
		}
	}
	t.Fatalf("%s has no series with labels %v", name, want)
	return 0
}

func TestReplyCostIsCountedByModelInCurrencyUnits(t *testing.T) {
	m, reg := newMetrics(t)
	m.ReplyCost("gpt-small", 1_500)
	m.ReplyCost("gpt-small", 2_500)
	m.ReplyCost("free", 0) // no price: no series
	expect(t, "cost", counterValue(t, reg, "chatbox_cost_total", map[string]string{"model": "gpt-small"}), 0.004)
	if n := testutil.CollectAndCount(reg, "chatbox_cost_total"); n != 1 {
		t.Errorf("cost_total has %d series, want 1", n)
	}
}
