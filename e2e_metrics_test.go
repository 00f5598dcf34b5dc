package chatbox_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/chatboxsdk/chatbox"
	"github.com/chatboxsdk/chatbox/chatboxtest"
	"github.com/chatboxsdk/chatbox/ratelimit"
	"github.com/chatboxsdk/chatbox/storage"
	"github.com/chatboxsdk/chatbox/storage/memory"
)

// gather returns every sample of reg as "name{label=value,...}" → value;
// histograms contribute their sample count as name_count.
func gather(t *testing.T, reg *prometheus.Registry) map[string]float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := make(map[string]float64)
	for _, fam := range families {
		for _, m := range fam.GetMetric() {
			var labels []string
			for _, l := range m.GetLabel() {
				labels = append(labels, l.GetName()+"="+l.GetValue())
			}
			sort.Strings(labels)
			key := fam.GetName() + "{" + strings.Join(labels, ",") + "}"
			switch fam.GetType() {
			case dto.MetricType_COUNTER:
				out[key] = m.GetCounter().GetValue()
			case dto.MetricType_GAUGE:
				out[key] = m.GetGauge().GetValue()
			case dto.MetricType_HISTOGRAM:
				out[strings.Replace(key, "{", "_count{", 1)] = float64(m.GetHistogram().GetSampleCount())
			}
		}
	}
	return out
}

// TestMetricsCountWhatHappened runs a scripted conversation and compares
// the host's registry with what happened, exactly.
func TestMetricsCountWhatHappened(t *testing.T) {
	reg := prometheus.NewRegistry()
	h := chatboxtest.New(t, chatboxtest.Config{Options: append(generousRates(), chatbox.WithMetrics(reg))})
	ctx := testCtx(t)
	alice := h.Dial(t, "alice")
	conv := openNew(t, alice)
	for i, text := range []string{"one", "two"} {
		if _, err := alice.Send(ctx, conv, "m"+string(rune('1'+i)), text); err != nil {
			t.Fatal(err)
		}
		if _, _, err := alice.ReadReply(ctx, conv, nil); err != nil {
			t.Fatal(err)
		}
	}
	if err := alice.Help(ctx, conv); err != nil {
		t.Fatal(err)
	}
	op := h.Dial(t, "olivia")
	if _, err := op.Watch(ctx, conv); err != nil {
		t.Fatal(err)
	}
	if err := op.Takeover(ctx, conv); err != nil {
		t.Fatal(err)
	}
	if _, err := op.Send(ctx, conv, "op1", "hello from a person"); err != nil {
		t.Fatal(err)
	}
	if _, err := alice.Send(ctx, conv, "m3", "thanks"); err != nil {
		t.Fatal(err)
	}
	if err := op.Release(ctx, conv); err != nil {
		t.Fatal(err)
	}

	got := gather(t, reg)
	// Echo reports input = number of history messages, output = 3.
	want := map[string]float64{
		"chatbox_connections{}":                                           2,
		"chatbox_conversations_opened_total{kind=new}":                    1,
		"chatbox_conversations_opened_total{kind=resumed}":                1, // the operator's watch
		"chatbox_messages_accepted_total{role=user}":                      3,
		"chatbox_messages_accepted_total{role=operator}":                  1,
		"chatbox_generations_started_total{model=default}":                2,
		"chatbox_generations_active{}":                                    0,
		"chatbox_generations_total{finish_reason=stop,model=default}":     2,
		"chatbox_generation_duration_seconds_count{model=default}":        2,
		"chatbox_time_to_first_token_seconds_count{model=default}":        2,
		"chatbox_tokens_total{direction=input,model=default}":             1 + 3,
		"chatbox_tokens_total{direction=output,model=default}":            3 + 3,
		"chatbox_help_requests_total{}":                                   1,
		"chatbox_takeovers_total{action=takeover}":                        1,
		"chatbox_takeovers_total{action=release}":                         1,
		"chatbox_slow_consumer_closes_total{}":                            0,
		"chatbox_store_operation_duration_seconds_count{op=change_mode}":  2 + 1, // help, takeover, release
		"chatbox_store_operation_duration_seconds_count{op=append_audit}": 3,
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %v, want %v", k, got[k], v)
		}
	}
	for k := range got {
		if strings.Contains(k, "alice") || strings.Contains(k, "olivia") || strings.Contains(k, conv) {
			t.Errorf("a label carries a user or conversation id: %s", k)
		}
	}
}

func TestHealthLivenessAndReadiness(t *testing.T) {
	h := chatboxtest.New(t, chatboxtest.Config{})
	get := func(path string) (int, map[string]any) {
		resp, err := http.Get(h.HTTP.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var body map[string]any
		if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		return resp.StatusCode, body
	}
	for _, path := range []string{"/health", "/health/ready"} {
		code, body := get(path)
		checks, _ := body["checks"].(map[string]any)
		store, _ := checks["store"].(map[string]any)
		if code != http.StatusOK || body["status"] != "ok" || store["ok"] != true {
			t.Fatalf("%s = %d %v", path, code, body)
		}
	}
	if code, body := get("/health/live"); code != http.StatusOK || body["status"] != "ok" {
		t.Fatalf("/health/live = %d %v", code, body)
	}
	if err := h.Server.Close(); err != nil {
		t.Fatal(err)
	}
	if code, body := get("/health/ready"); code != http.StatusServiceUnavailable || body["status"] != "shutting_down" {
		t.Fatalf("ready after shutdown = %d %v", code, body)
	}
	if code, _ := get("/health/live"); code != http.StatusOK {
		t.Fatalf("live after shutdown = %d, want 200", code)
	}
}

// unreachableStore answers reads with ErrUnavailable, like a database that
// cannot be reached.
type unreachableStore struct{ storage.Store }

func (unreachableStore) GetConversation(context.Context, string) (storage.Conversation, error) {
	return storage.Conversation{}, fmt.Errorf("dial: connection refused: %w", storage.ErrUnavailable)
}

func TestReadinessFailsWhenTheStoreDoesNotAnswer(t *testing.T) {
	h := chatboxtest.New(t, chatboxtest.Config{Options: []chatbox.Option{chatbox.WithStore(unreachableStore{memory.New()})}})
	resp, err := http.Get(h.HTTP.URL + "/health/ready")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		Status string
		Checks map[string]struct {
			OK    bool
			Error string
		}
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusServiceUnavailable || body.Status != "unavailable" || body.Checks["store"].OK {
		t.Fatalf("ready with an unreachable store = %d %+v", resp.StatusCode, body)
	}
	if strings.Contains(body.Checks["store"].Error, "refused") {
		t.Fatalf("the store's own error text reached the client: %q", body.Checks["store"].Error)
	}
}

func TestAdminAPINeedsAnOperatorAndIsRateLimited(t *testing.T) {
	h := chatboxtest.New(t, chatboxtest.Config{Options: []chatbox.Option{chatbox.WithAdminRate(ratelimit.Per(1, time.Hour, 2))}})
	if resp := adminGet(t, h, "conversations", chatboxtest.Token("alice"), nil); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("user token: HTTP %d, want 403", resp.StatusCode)
	}
	if resp := adminGet(t, h, "conversations", "not-a-token", nil); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("bad token: HTTP %d, want 401", resp.StatusCode)
	}
	for range 2 {
		if resp := adminGet(t, h, "conversations", chatboxtest.Token("olivia"), nil); resp.StatusCode != http.StatusOK {
			t.Fatalf("operator: HTTP %d, want 200", resp.StatusCode)
		}
	}
	resp := adminGet(t, h, "conversations", chatboxtest.Token("olivia"), nil)
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("operator over the limit: HTTP %d, Retry-After %q; want 429 with Retry-After", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	// Another operator has a budget of their own.
	if resp := adminGet(t, h, "metrics", chatboxtest.Token("oscar"), nil); resp.StatusCode != http.StatusOK {
		t.Fatalf("second operator: HTTP %d, want 200", resp.StatusCode)
	}
}

// probeCountingStore counts conversation reads.
type probeCountingStore struct {
	storage.Store
	reads atomic.Int64
}

func (s *probeCountingStore) GetConversation(ctx context.Context, id string) (storage.Conversation, error) {
	s.reads.Add(1)
	return s.Store.GetConversation(ctx, id)
}

// TestReadinessProbesTheStoreAtMostOncePerSecond: readiness checks come
// unauthenticated, so a burst of them must not become a burst of reads.
func TestReadinessProbesTheStoreAtMostOncePerSecond(t *testing.T) {
	st := &probeCountingStore{Store: memory.New()}
	h := chatboxtest.New(t, chatboxtest.Config{Options: []chatbox.Option{chatbox.WithStore(st)}})
	for range 20 {
		resp, err := http.Get(h.HTTP.URL + "/health/ready")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("ready: HTTP %d", resp.StatusCode)
		}
	}
	// Without the cache every check reads; with it, one read per second
	// of checks (20 checks take milliseconds; the bound leaves room for a
	// very slow machine).
	if n := st.reads.Load(); n >= 10 {
		t.Fatalf("20 readiness checks read the store %d times, want far fewer", n)
	}
}
