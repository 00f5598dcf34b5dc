package admin_test

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/chatboxsdk/chatbox/admin"
	"github.com/chatboxsdk/chatbox/storage"
)

// metricsData prepares a data set whose figures over [t0, t0+24h) are:
// 3 conversations (in1, in2, in3), 16 messages, 1180/118 tokens, 11
// responses of 100, 200, ... 1000 and 5000 ms, 1 operator-assisted
// conversation and 2 help requests.
func metricsData(f *fixture) {
	day := 24 * time.Hour
	ms := func(n int) time.Duration { return time.Duration(n) * time.Millisecond }
	user := func(conv, id string, t time.Time) {
		f.msg(storage.Message{ID: id, ConversationID: conv, Role: storage.RoleUser, CreatedAt: t})
	}
	operator := func(conv, id string, t time.Time) {
		f.msg(storage.Message{ID: id, ConversationID: conv, Role: storage.RoleOperator, CreatedAt: t})
	}

	// in1: 6 messages, replies of 100-400 ms, 10/1 tokens each, an operator.
	f.conv(storage.Conversation{ID: "in1", CreatedAt: at(60)})
	user("in1", "q", at(61))
	for i := range 4 {
		f.reply("in1", fmt.Sprint("r", i), at(62+i), ms(100*(i+1)), 10, 1)
	}
	operator("in1", "op", at(70))

	// in2: 5 messages, replies of 500-800 ms, 20/2 tokens each.
	f.conv(storage.Conversation{ID: "in2", CreatedAt: at(120)})
	user("in2", "q", at(120))
	for i := range 4 {
		f.reply("in2", fmt.Sprint("r", i), at(121+i), ms(500+100*i), 20, 2)
	}

	// in3: 3 messages, replies of 900 and 1000 ms, 30/3 tokens each, and a
	// reply still streaming (no response).
	f.conv(storage.Conversation{ID: "in3", CreatedAt: at(180)})
	f.reply("in3", "r0", at(181), ms(900), 30, 3)
	f.reply("in3", "r1", at(182), ms(1000), 30, 3)
	f.msg(storage.Message{ID: "r2", ConversationID: "in3", Role: storage.RoleAssistant,
		Status: storage.MessageStreaming, CreatedAt: at(183)})

	// out1 was created before the range; only its messages created in the
	// range count (2, one a reply of 5000 ms with 1000/100 tokens), and
	// its operator message does not make an operator-assisted conversation
	// of the range.
	f.conv(storage.Conversation{ID: "out1", CreatedAt: at(-60)})
	user("out1", "q", at(-30))
	f.reply("out1", "r0", at(30), ms(5000), 1000, 100)
	operator("out1", "op", at(40))

	// out2 starts where the range ends.
	f.conv(storage.Conversation{ID: "out2", CreatedAt: t0.Add(day)})
	user("out2", "q", t0.Add(day))
	f.reply("out2", "r0", t0.Add(day+time.Minute), ms(50), 7, 7)
	operator("out2", "op", t0.Add(day+2*time.Minute))

	for i, e := range []storage.AuditEntry{
		{At: at(10), Action: storage.AuditHelpRequest, Actor: "u-1", ConversationID: "in1"},
		{At: at(500), Action: storage.AuditHelpRequest, Actor: "u-1", ConversationID: "in2"},
		{At: at(70), Action: storage.AuditTakeover, Actor: "op-1", ConversationID: "in1"},
		{At: at(-1), Action: storage.AuditHelpRequest, Actor: "u-1", ConversationID: "out1"},
		{At: t0.Add(day), Action: storage.AuditHelpRequest, Actor: "u-1", ConversationID: "out2"},
	} {
		e.ID = fmt.Sprint("a", i)
		f.audit(e)
	}
}

func TestMetricsMatchTheData(t *testing.T) {
	f := newFixture(t, func(c *admin.Config) { c.ActiveConversations = func() int { return 7 } })
	metricsData(f)
	day := 24 * time.Hour
	full := admin.Metrics{From: t0, Before: t0.Add(day), Conversations: 3, ActiveNow: 7, Messages: 16,
		InputTokens: 1180, OutputTokens: 118, Responses: 11,
		ResponseMSP50: 600, ResponseMSP90: 1000, ResponseMSP99: 5000, OperatorAssisted: 1, HelpRequests: 2}
	f.clock.Advance(day)

	cases := []struct {
		query string
		want  admin.Metrics
	}{
		{"from=" + rfc(t0) + "&before=" + rfc(t0.Add(day)), full},
		{"", full}, // the last 24 hours
		{"from=" + rfc(t0), full},
		{"before=" + rfc(t0.Add(day)), full},
		{"from=" + rfc(at(100)) + "&before=" + rfc(at(150)), admin.Metrics{From: at(100), Before: at(150),
			Conversations: 1, ActiveNow: 7, Messages: 5, InputTokens: 80, OutputTokens: 8, Responses: 4,
			ResponseMSP50: 600, ResponseMSP90: 800, ResponseMSP99: 800}},
		{"before=" + rfc(at(-60)), admin.Metrics{From: at(-60).Add(-day), Before: at(-60), ActiveNow: 7}},
	}
	for _, tc := range cases {
		t.Run(tc.query, func(t *testing.T) {
			var got admin.Metrics
			f.getOK(t, "/metrics?"+tc.query, &got)
			if !got.From.Equal(tc.want.From) || !got.Before.Equal(tc.want.Before) {
				t.Fatalf("range [%v, %v), want [%v, %v)", got.From, got.Before, tc.want.From, tc.want.Before)
			}
			got.From, got.Before, tc.want.From, tc.want.Before = time.Time{}, time.Time{}, time.Time{}, time.Time{}
			if got != tc.want {
				t.Fatalf("\n got %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

func TestMetricsBadRanges(t *testing.T) {
	f := newFixture(t, nil)
	cases := []struct{ query, field string }{
		{"from=last-week", "from"},
		{"before=2030-13-01T00:00:00Z", "before"},
		{"from=" + rfc(at(10)) + "&before=" + rfc(at(10)), "before"},
		{"from=" + rfc(at(10)) + "&before=" + rfc(at(5)), "before"},
		{"from=" + rfc(at(1)), "from"}, // in the future: the clock is at t0
		{"since=" + rfc(at(-10)), "since"},
	}
	for _, tc := range cases {
		t.Run(tc.query, func(t *testing.T) {
			f.get("/metrics?"+tc.query, opToken).wantError(t, http.StatusBadRequest, "invalid_field", tc.field)
		})
	}
}
