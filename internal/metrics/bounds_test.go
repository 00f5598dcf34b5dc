package metrics_test

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/chatboxsdk/chatbox/internal/metrics"
)

func TestNilMetricsIsANoOp(t *testing.T) {
	var m *metrics.Metrics
	m.SocketOpened()
	m.SocketClosed(1000)
	m.ConversationOpened(true)
	m.MessageAccepted("user")
	m.GenerationStarted("m")
	m.GenerationEnded("m", "stop", time.Second, time.Millisecond, 1, 1)
	m.ProviderError("m", "timeout")
	m.StoreOperation("append", time.Millisecond, errors.New("x"))
	m.LimiterDenied("message")
	m.SlowConsumerClosed()
	m.ShutdownDuration(time.Second)
	m.HelpRequested()
	m.Takeover("take")
}

func TestModelLabelIsCapped(t *testing.T) {
	m, reg := newMetrics(t)
	for i := range metrics.MaxModelValues + 10 {
		model := fmt.Sprintf("model-%d", i)
		m.GenerationStarted(model)
		m.GenerationEnded(model, "stop", time.Second, time.Millisecond, 1, 1)
		m.ProviderError(model, "timeout")
	}
	if n := testutil.CollectAndCount(reg, "chatbox_generations_started_total"); n != metrics.MaxModelValues+1 {
		t.Errorf("generations_started_total has %d series, want %d (the cap plus %q)", n, metrics.MaxModelValues+1, metrics.OtherLabel)
	}
	expect(t, "other models started", counterValue(t, reg, "chatbox_generations_started_total", map[string]string{"model": "other"}), 10)
	expect(t, "other models ended", counterValue(t, reg, "chatbox_generations_total", map[string]string{"model": "other", "finish_reason": "stop"}), 10)
	expect(t, "other models errors", counterValue(t, reg, "chatbox_provider_errors_total", map[string]string{"model": "other", "kind": "timeout"}), 10)
	// A model seen before the cap keeps its own series.
	m.GenerationStarted("model-0")
	expect(t, "model-0 started", counterValue(t, reg, "chatbox_generations_started_total", map[string]string{"model": "model-0"}), 2)
	for _, name := range []string{"chatbox_generations_total", "chatbox_generation_duration_seconds", "chatbox_provider_errors_total"} {
		if n := testutil.CollectAndCount(reg, name); n != metrics.MaxModelValues+1 {
			t.Errorf("%s has %d series, want %d", name, n, metrics.MaxModelValues+1)
		}
	}
}

func TestOpenEndedLabelsAreCapped(t *testing.T) {
	m, reg := newMetrics(t)
	for i := range 1000 {
		v := fmt.Sprint("v", i)
		m.GenerationStarted("m")
		m.GenerationEnded("m", v, time.Second, 0, 0, 0)
		m.ProviderError("m", v)
		m.StoreOperation(v, time.Millisecond, errors.New("x"))
		m.LimiterDenied(v)
		m.Takeover(v)
		m.MessageAccepted(v)
	}
	// 20 distinct values per label (32 for store operations) plus "other".
	for name, want := range map[string]int{
		"chatbox_generations_total":                21,
		"chatbox_provider_errors_total":            21,
		"chatbox_store_operation_duration_seconds": 33,
		"chatbox_store_errors_total":               33,
		"chatbox_limiter_denials_total":            21,
		"chatbox_takeovers_total":                  21,
		"chatbox_messages_accepted_total":          3, // user, operator, other
	} {
		if n := testutil.CollectAndCount(reg, name); n != want {
			t.Errorf("%s has %d series after 1000 distinct values, want %d", name, n, want)
		}
	}
	expect(t, "finish reasons beyond the cap", counterValue(t, reg, "chatbox_generations_total", map[string]string{"model": "m", "finish_reason": "other"}), 980)
	expect(t, "messages by unknown roles", counterValue(t, reg, "chatbox_messages_accepted_total", map[string]string{"role": "other"}), 1000)
}

func TestAwkwardLabelValuesAreCleaned(t *testing.T) {
	m, reg := newMetrics(t)
	m.LimiterDenied("")                       // empty
	m.LimiterDenied("bad\xffutf8")            // Prometheus refuses invalid UTF-8
	m.LimiterDenied(strings.Repeat("é", 100)) // 200 bytes
	expect(t, "empty", counterValue(t, reg, "chatbox_limiter_denials_total", map[string]string{"limit": metrics.UnknownLabel}), 1)
	expect(t, "invalid utf8", counterValue(t, reg, "chatbox_limiter_denials_total", map[string]string{"limit": "bad\uFFFDutf8"}), 1)
	expect(t, "long", counterValue(t, reg, "chatbox_limiter_denials_total", map[string]string{"limit": strings.Repeat("é", 32)}), 1)
}

func TestNewRefusesDuplicateRegistration(t *testing.T) {
	reg := prometheus.NewRegistry()
	if _, err := metrics.New(reg, ""); err != nil {
		t.Fatal(err)
	}
	_, err := metrics.New(reg, "chatbox")
	var are prometheus.AlreadyRegisteredError
	if !errors.As(err, &are) {
		t.Fatalf("second New = %v, want an AlreadyRegisteredError", err)
	}
	// Another namespace on the same registry is a different set of names.
	if _, err := metrics.New(reg, "chatbox_b"); err != nil {
		t.Errorf("New with another namespace: %v", err)
	}
}

func TestNewLeavesNothingRegisteredOnFailure(t *testing.T) {
	reg := prometheus.NewRegistry()
	// The host already uses one of the names New registers last.
	taken := prometheus.NewGauge(prometheus.GaugeOpts{Name: "chatbox_takeovers_total", Help: "host's own"})
	reg.MustRegister(taken)
	if _, err := metrics.New(reg, ""); err == nil {
		t.Fatal("New succeeded despite a name clash")
	}
	if n := testutil.CollectAndCount(reg); n != 1 {
		t.Errorf("registry holds %d series after the failed New, want only the host's 1", n)
	}
	if n := testutil.CollectAndCount(reg, "chatbox_connections", "chatbox_socket_closes_total"); n != 0 {
		t.Errorf("collectors registered before the clash left %d series behind", n)
	}
}

func TestNewValidatesArguments(t *testing.T) {
	if _, err := metrics.New(nil, ""); err == nil {
		t.Error("New(nil) succeeded")
	}
	for _, ns := range []string{"chat-box", "1chatbox", "chat box", "ns:x"} {
		if _, err := metrics.New(prometheus.NewRegistry(), ns); err == nil {
			t.Errorf("namespace %q accepted", ns)
		}
	}
	reg := prometheus.NewRegistry()
	if _, err := metrics.New(reg, "acme_chat"); err != nil {
		t.Fatal(err)
	}
	if n := testutil.CollectAndCount(reg, "acme_chat_connections"); n != 1 {
		t.Errorf("acme_chat_connections has %d series, want 1", n)
	}
}

func TestCloseClass(t *testing.T) {
	for code, want := range map[int]string{
		1000: metrics.CloseNormal,
		1001: metrics.CloseGoingAway,
		4008: metrics.CloseSlowConsumer,
		4001: metrics.CloseUnauthorized,
		4000: metrics.CloseProtocol,
		1009: metrics.CloseProtocol,
		1002: metrics.CloseProtocol,
		1006: metrics.CloseOther,
		1011: metrics.CloseOther,
		4029: metrics.CloseOther,
		0:    metrics.CloseOther,
	} {
		if got := metrics.CloseClass(code); got != want {
			t.Errorf("CloseClass(%d) = %q, want %q", code, got, want)
		}
	}
}

func TestMetricsAreExactUnderConcurrency(t *testing.T) {
	m, reg := newMetrics(t)
	const goroutines, each = 16, 500
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			model := fmt.Sprint("m", g%4)
			for range each {
				m.SocketOpened()
				m.GenerationStarted(model)
				m.GenerationEnded(model, "stop", time.Millisecond, time.Millisecond, 2, 3)
				m.SocketClosed(1001)
			}
		})
	}
	wg.Wait()
	total := float64(goroutines * each)
	expect(t, "connections", counterValue(t, reg, "chatbox_connections", nil), 0)
	expect(t, "going_away closes", counterValue(t, reg, "chatbox_socket_closes_total", map[string]string{"class": "going_away"}), total)
	expect(t, "active generations", counterValue(t, reg, "chatbox_generations_active", nil), 0)
	sum := 0.0
	for i := range 4 {
		sum += counterValue(t, reg, "chatbox_tokens_total", map[string]string{"model": fmt.Sprint("m", i), "direction": "output"})
	}
	expect(t, "output tokens", sum, 3*total)
}
