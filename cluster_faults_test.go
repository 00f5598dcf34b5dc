package chatbox_test

import (
	"testing"
	"time"

	"github.com/chatboxsdk/chatbox"
	"github.com/chatboxsdk/chatbox/broker/redis/redistest"
	"github.com/chatboxsdk/chatbox/client"
	"github.com/chatboxsdk/chatbox/llm"
	"github.com/chatboxsdk/chatbox/protocol"
	"github.com/chatboxsdk/chatbox/storage"
)

func TestClusterOneReplyPerConversationAcrossInstances(t *testing.T) {
	p := newGatedProvider()
	cl := newCluster(t, clusterConfig{Provider: p, Options: generousRates()})
	ctx := testCtx(t)
	onA, onB := cl.dialOn(t, 0, "alice"), cl.dialOn(t, 1, "alice")
	conv := openNew(t, onA)
	if _, err := onB.Open(ctx, conv); err != nil {
		t.Fatal(err)
	}
	if _, err := onA.Send(ctx, conv, "m1", "tell me a long story"); err != nil {
		t.Fatal(err)
	}
	p.started(t, ctx, 1).send("once ")
	waitFrame(t, ctx, onB, "the first delta on B", func(f protocol.ServerFrame) bool { return f.Type == protocol.TypeReplyDelta })
	if _, err := onB.Send(ctx, conv, "m2", "and another"); client.Code(err) != protocol.CodeBusy {
		t.Errorf("a second message through B while the reply runs on A: %v, want busy", err)
	}
	if err := onB.Stop(ctx, conv); err != nil {
		t.Fatal(err)
	}
	if end, _ := waitFrame(t, ctx, onA, "the reply's end", isReplyEnd(conv)); end.FinishReason != string(llm.FinishAbort) {
		t.Fatalf("stopped through B: %q, want abort", end.FinishReason)
	}
	if n := p.calls(); n != 1 {
		t.Errorf("the model was called %d times while one reply ran, want 1", n)
	}
	if _, err := onB.Send(ctx, conv, "m2", "and another"); err != nil {
		t.Fatalf("after the reply ended, B accepts a message: %v", err)
	}
	p.started(t, ctx, 2).finish()
}

func TestClusterReplyOfAKilledInstanceEndsInterruptedWithinTheLease(t *testing.T) {
	const leaseTTL = 600 * time.Millisecond
	p := newGatedProvider()
	cl := newCluster(t, clusterConfig{Provider: p, Options: append(generousRates(), chatbox.WithReplyLeaseTTL(leaseTTL))})
	ctx := testCtx(t)
	onA := cl.dialOn(t, 0, "alice")
	conv := openNew(t, onA)
	others := map[string]*client.Client{"B": cl.dialOn(t, 1, "alice"), "C": cl.dialOn(t, 2, "alice"), "C (operator)": cl.dialOn(t, 2, "olivia")}
	for name, c := range others {
		open := c.Open
		if name == "C (operator)" {
			open = c.Watch
		}
		if _, err := open(ctx, conv); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
	if _, err := onA.Send(ctx, conv, "m1", "tell me a long story"); err != nil {
		t.Fatal(err)
	}
	p.started(t, ctx, 1).send("half ", "way") // then the provider blocks
	for name, c := range others {
		seen := ""
		waitFrame(t, ctx, c, "two deltas on "+name, func(f protocol.ServerFrame) bool {
			if f.Type == protocol.TypeReplyDelta {
				seen += f.Text
			}
			return seen == "half way"
		})
	}

	killed := time.Now()
	cl.kill(0)
	// WithReplyLeaseTTL is the bound (the lease lapses within two thirds
	// of it after the kill, and a sweeper looks every sixth), plus
	// scheduling slack. Far below the 15s default, so the option must
	// have been applied.
	limit := leaseTTL + 400*time.Millisecond
	for name, c := range others {
		end, _ := waitFrame(t, ctx, c, "the reply's end on "+name, isReplyEnd(conv))
		if end.FinishReason != string(llm.FinishInterrupted) {
			t.Errorf("%s: the killed instance's reply ended %q, want interrupted", name, end.FinishReason)
		}
		d := time.Since(killed)
		if d > limit {
			t.Errorf("%s: reply.end %v after the kill, want within %v (lease %v)", name, d, limit, leaseTTL)
		}
		t.Logf("%s: reply.end %v after the kill (lease %v)", name, d.Round(time.Millisecond), leaseTTL)
	}
	m := storedReply(t, cl, conv)
	if m.Status != storage.MessageComplete || m.FinishReason != string(llm.FinishInterrupted) || m.Text != "half way" {
		t.Errorf("stored reply %q %s/%s, want \"half way\" complete/interrupted", m.Text, m.Status, m.FinishReason)
	}
	// B serves the conversation on: the next message gets a reply.
	if _, err := others["B"].Send(ctx, conv, "m2", "still there?"); err != nil {
		t.Fatalf("send through B after A died: %v", err)
	}
	p.started(t, ctx, 2).finish()
}

func TestClusterRedisRestartMidStreamLosesNothingSilently(t *testing.T) {
	srv := redistest.Start(t)
	p := newGatedProvider()
	cl := newCluster(t, clusterConfig{RedisAddr: srv.Addr, Provider: p, Options: generousRates()})
	ctx := testCtx(t)
	c1 := cl.dialOn(t, 0, "alice")
	conv := openNew(t, c1)
	c2 := cl.dialOn(t, 1, "alice")
	if _, err := c2.Open(ctx, conv); err != nil {
		t.Fatal(err)
	}
	tabs := []*follower{newFollower(t, cl, c1, "alice", conv), newFollower(t, cl, c2, "alice", conv)}
	if _, err := c1.Send(ctx, conv, "m1", "tell me"); err != nil {
		t.Fatal(err)
	}
	s := p.started(t, ctx, 1)
	s.send("before ")
	for _, f := range tabs {
		f.until(ctx, "the first delta", func() bool { return f.text.String() == "before " })
	}

	srv.Restart(t) // everything Redis held is gone
	s.send("after ", "restart")
	s.finish()
	finishes := make([]string, len(tabs))
	for i, f := range tabs {
		finishes[i] = f.reply(ctx)
	}
	stored := storedReply(t, cl, conv)
	for i, f := range tabs {
		if f.text.String() != stored.Text || finishes[i] != stored.FinishReason {
			t.Errorf("tab %d shows %q ending %q, stored %q (%s)", i, f.text.String(), finishes[i], stored.Text, stored.FinishReason)
		}
		t.Logf("tab %d: %d reconnects, %d replay_unavailable, reply %q ended %s", i, f.reconnects, f.reopened, f.text.String(), stored.FinishReason)
	}

	// New messages work without restarting any instance.
	if _, err := tabs[0].c.Send(ctx, conv, "m2", "again"); err != nil {
		t.Fatalf("a message after the restart: %v", err)
	}
	s2 := p.started(t, ctx, 2)
	s2.send("fine")
	s2.finish()
	for i, f := range tabs {
		if finish := f.reply(ctx); finish != string(llm.FinishStop) || f.text.String() != "fine" {
			t.Errorf("tab %d: the reply after the restart: %q ended %q, want \"fine\" stop", i, f.text.String(), finish)
		}
	}
}
