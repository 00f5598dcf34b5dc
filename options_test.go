package chatbox_test

import (
	"strings"
	"testing"
	"time"

	"github.com/chatboxsdk/chatbox"
	"github.com/chatboxsdk/chatbox/auth"
	"github.com/chatboxsdk/chatbox/llm/scripted"
	"github.com/chatboxsdk/chatbox/ratelimit"
)

func validBase(t *testing.T) []chatbox.Option {
	authn, err := auth.NewStaticTokens(map[string]auth.Identity{"tok": {UserID: "u"}})
	if err != nil {
		t.Fatal(err)
	}
	return []chatbox.Option{chatbox.WithLLM(scripted.New()), chatbox.WithAuthenticator(authn)}
}

func TestEachInvalidOptionIsNamed(t *testing.T) {
	cases := []struct {
		opt  chatbox.Option
		name string
	}{
		{chatbox.WithStore(nil), "WithStore"},
		{chatbox.WithLLM(nil), "WithLLM"},
		{chatbox.WithLimiter(nil), "WithLimiter"},
		{chatbox.WithAuthenticator(nil), "WithAuthenticator"},
		{chatbox.WithBroker(nil), "WithBroker"},
		{chatbox.WithLogger(nil), "WithLogger"},
		{chatbox.WithSystemPrompt(strings.Repeat("x", 40<<10)), "WithSystemPrompt"},
		{chatbox.WithMaxTokens(-1), "WithMaxTokens"},
		{chatbox.WithMaxFrameBytes(10), "WithMaxFrameBytes"},
		{chatbox.WithMaxTextBytes(0), "WithMaxTextBytes"},
		{chatbox.WithMaxQueueBytes(1), "WithMaxQueueBytes"},
		{chatbox.WithMaxHistoryMessages(0), "WithMaxHistoryMessages"},
		{chatbox.WithHistoryPageSize(1000), "WithHistoryPageSize"},
		{chatbox.WithWriteTimeout(0), "WithWriteTimeout"},
		{chatbox.WithPingInterval(time.Hour), "WithPingInterval"},
		{chatbox.WithHelloTimeout(time.Millisecond), "WithHelloTimeout"},
		{chatbox.WithGenerationTimeout(0), "WithGenerationTimeout"},
		{chatbox.WithDeltaCoalesceInterval(2 * time.Second), "WithDeltaCoalesceInterval"},
		{chatbox.WithStoreTimeout(-time.Second), "WithStoreTimeout"},
		{chatbox.WithMessageRate(ratelimit.Limit{}), "WithMessageRate"},
		{chatbox.WithConversationRate(ratelimit.Limit{Rate: 1, Burst: 0}), "WithConversationRate"},
		{chatbox.WithSessionTTL(0), "WithSessionTTL"},
		{chatbox.WithMaxSessions(0), "WithMaxSessions"},
		{chatbox.WithAllowedOrigins("*"), "WithAllowedOrigins"},
		{chatbox.WithAllowedOrigins("example.com"), "WithAllowedOrigins"},
		{chatbox.WithAllowedOrigins("https://*"), "WithAllowedOrigins"},
		{chatbox.WithAllowedOrigins("https://app.*.example.com"), "WithAllowedOrigins"},
		{chatbox.WithTrustedProxies("10.0.0.0/33"), "WithTrustedProxies"},
		{chatbox.WithTrustedProxies("proxy.internal"), "WithTrustedProxies"},
		{chatbox.WithTokenCookie("bad cookie"), "WithTokenCookie"},
		{chatbox.WithQueryToken(""), "WithQueryToken"},
		{chatbox.WithConnectionRate(ratelimit.Limit{Rate: -1, Burst: 1}), "WithConnectionRate"},
		{chatbox.WithMaxSocketsPerUser(0), "WithMaxSocketsPerUser"},
		{chatbox.WithMaxGenerationsPerUser(0), "WithMaxGenerationsPerUser"},
		{chatbox.WithOperatorRoles(), "WithOperatorRoles"},
		{chatbox.WithOperatorRoles(" "), "WithOperatorRoles"},
		{chatbox.WithAdminPrefix("admin"), "WithAdminPrefix"},
		{chatbox.WithAdminPrefix("/ws/"), "WithAdminPrefix"},
		{chatbox.WithAdminPrefix("/health/admin/"), "WithAdminPrefix"},
		{chatbox.WithAdminRate(ratelimit.Limit{}), "WithAdminRate"},
		{chatbox.WithHelpRate(ratelimit.Limit{Rate: 1}), "WithHelpRate"},
		{chatbox.WithNotifier(nil), "WithNotifier"},
		{chatbox.WithMetrics(nil), "WithMetrics"},
		{chatbox.WithMaxMetadataEntries(100), "WithMaxMetadataEntries"},
		{chatbox.WithMaxMetadataValueBytes(0), "WithMaxMetadataValueBytes"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv, err := chatbox.New(append(validBase(t), tc.opt)...)
			if err == nil {
				_ = srv.Close()
				t.Fatalf("New accepted an invalid %s", tc.name)
			}
			if !strings.Contains(err.Error(), tc.name) {
				t.Fatalf("error does not name %s: %v", tc.name, err)
			}
		})
	}
}

func TestAllInvalidOptionsAreReportedAtOnce(t *testing.T) {
	_, err := chatbox.New(
		chatbox.WithMaxFrameBytes(1),
		chatbox.WithPingInterval(0),
		chatbox.WithStore(nil),
	)
	if err == nil {
		t.Fatal("New accepted invalid options")
	}
	for _, name := range []string{"WithMaxFrameBytes", "WithPingInterval", "WithStore", "WithLLM", "WithAuthenticator"} {
		if !strings.Contains(err.Error(), name) {
			t.Errorf("error does not report %s:\n%v", name, err)
		}
	}
}

func TestCrossChecksBetweenOptions(t *testing.T) {
	_, err := chatbox.New(append(validBase(t), chatbox.WithMaxFrameBytes(4096), chatbox.WithMaxTextBytes(8192), chatbox.WithMaxQueueBytes(16<<10))...)
	if err == nil || !strings.Contains(err.Error(), "WithMaxTextBytes") {
		t.Fatalf("text above frame cap accepted: %v", err)
	}
	_, err = chatbox.New(append(validBase(t), chatbox.WithMaxFrameBytes(1<<20), chatbox.WithMaxQueueBytes(1<<20))...)
	if err == nil || !strings.Contains(err.Error(), "WithMaxQueueBytes") {
		t.Fatalf("queue below twice the frame cap accepted: %v", err)
	}
}

func TestValidOptionsBuildAServer(t *testing.T) {
	srv, err := chatbox.New(validBase(t)...)
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Close(); err != nil {
		t.Fatal(err)
	}
	if err := srv.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}
