package chatbox_test

import (
	"testing"
	"time"

	"github.com/chatboxsdk/chatbox"
	"github.com/chatboxsdk/chatbox/client"
	"github.com/chatboxsdk/chatbox/llm/scripted"
	"github.com/chatboxsdk/chatbox/ratelimit"
	"github.com/chatboxsdk/chatbox/storage"
)

func storageQuery(conv string) storage.MessageQuery {
	return storage.MessageQuery{ConversationID: conv, Limit: storage.MaxPageSize}
}

func openNew(t *testing.T, c *client.Client) string {
	t.Helper()
	opened, err := c.OpenNew(testCtx(t), client.OpenOptions{Title: "test"})
	if err != nil {
		t.Fatal(err)
	}
	return opened.ConversationID
}

func systemPrompt(p string) []chatbox.Option { return []chatbox.Option{chatbox.WithSystemPrompt(p)} }

func generousRates() []chatbox.Option {
	return []chatbox.Option{
		chatbox.WithMessageRate(ratelimit.Limit{Rate: 1e6, Burst: 1e6}),
		chatbox.WithConversationRate(ratelimit.Limit{Rate: 1e6, Burst: 1e6}),
		chatbox.WithReadRate(ratelimit.Limit{Rate: 1e6, Burst: 1e6}),
	}
}

func messageRate(perMinute, burst int) []chatbox.Option {
	return []chatbox.Option{chatbox.WithMessageRate(ratelimit.Per(perMinute, time.Minute, burst))}
}

func nilSafeProvider() *scripted.Provider { return scripted.New() }
