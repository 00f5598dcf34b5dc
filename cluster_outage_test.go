package chatbox_test

import (
	"errors"
	"testing"

	"github.com/chatboxsdk/chatbox/broker/redis/redistest"
	"github.com/chatboxsdk/chatbox/chatboxtest"
	"github.com/chatboxsdk/chatbox/client"
	"github.com/chatboxsdk/chatbox/llm"
	"github.com/chatboxsdk/chatbox/llm/scripted"
	"github.com/chatboxsdk/chatbox/protocol"
)

// While Redis is down, an instance that does not have the conversation live
// cannot subscribe to it: the client must be told to retry (a retryable
// error), not that the server has a bug. Once Redis is back, the same
// instance serves the conversation without a restart.
func TestClusterRequestsDuringARedisOutageGetARetryableAnswer(t *testing.T) {
	srv := redistest.Start(t)
	p := scripted.New(scripted.WithResponder(chatboxtest.Echo()))
	cl := newCluster(t, clusterConfig{RedisAddr: srv.Addr, Provider: p, Options: generousRates()})
	ctx := testCtx(t)
	onA := cl.dialOn(t, 0, "alice")
	conv := openNew(t, onA)
	if _, err := onA.Send(ctx, conv, "m1", "hi"); err != nil {
		t.Fatal(err)
	}
	if r, _, err := onA.ReadReply(ctx, conv, nil); err != nil || r.FinishReason != string(llm.FinishStop) {
		t.Fatalf("reply before the outage: %v, %v", r, err)
	}
	last := onA.LastSeq(conv)

	srv.Stop()
	onB := cl.dialOn(t, 1, "alice")
	for _, op := range []struct {
		name string
		do   func() error
	}{
		{"resume", func() error { _, err := onB.Resume(ctx, conv, last); return err }},
		{"open", func() error { _, err := onB.Open(ctx, conv); return err }},
		{"open a new conversation", func() error { _, err := onB.OpenNew(ctx, client.OpenOptions{}); return err }},
	} {
		err := op.do()
		var se *client.ServerError
		if err != nil && (!errors.As(err, &se) || !se.Body.Retryable) {
			t.Errorf("%s on B with Redis down: %v; want success or a retryable error (unavailable)%s", op.name, err, internalHint(err))
		}
	}

	srv.Restart(t)
	if _, err := retryable(ctx, func() (protocol.ServerFrame, error) { return onB.Open(ctx, conv) }); err != nil {
		t.Fatalf("open on B once Redis is back: %v%s", err, internalHint(err))
	}
	if _, err := onB.Send(ctx, conv, "m2", "again"); err != nil {
		t.Fatalf("send on B once Redis is back: %v", err)
	}
	if r, _, err := onB.ReadReply(ctx, conv, nil); err != nil || r.Text != "echo: again" {
		t.Fatalf("reply once Redis is back: %v, %v", r, err)
	}
}
