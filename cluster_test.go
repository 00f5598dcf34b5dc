package chatbox_test

import (
	"slices"
	"testing"

	"github.com/chatboxsdk/chatbox"
	"github.com/chatboxsdk/chatbox/chatboxtest"
	"github.com/chatboxsdk/chatbox/client"
	"github.com/chatboxsdk/chatbox/llm"
	"github.com/chatboxsdk/chatbox/llm/scripted"
	"github.com/chatboxsdk/chatbox/protocol"
	"github.com/chatboxsdk/chatbox/ratelimit"
	"github.com/chatboxsdk/chatbox/storage"
)

// Three instances share one Redis and one store; each test dials them
// through the cluster's round-robin dialer or, where the instance matters,
// on a chosen one (0 is A, 1 is B, 2 is C).

func TestClusterTabsOnTwoInstancesGetOneReplyWithTheSameNumbers(t *testing.T) {
	p := newGatedProvider()
	cl := newCluster(t, clusterConfig{Provider: p, Options: generousRates()})
	ctx := testCtx(t)
	tabA, tabB := cl.dialOn(t, 0, "alice"), cl.dialOn(t, 1, "alice")
	conv := openNew(t, tabA)
	if _, err := tabB.Open(ctx, conv); err != nil {
		t.Fatal(err)
	}
	if _, err := tabA.Send(ctx, conv, "m1", "hello"); err != nil {
		t.Fatal(err)
	}
	s := p.started(t, ctx, 1)
	s.send("one ", "two ", "three")
	s.finish()
	ra, _, errA := tabA.ReadReply(ctx, conv, nil)
	rb, _, errB := tabB.ReadReply(ctx, conv, nil)
	if errA != nil || errB != nil {
		t.Fatalf("reading the reply: tab on A %v, tab on B %v", errA, errB)
	}
	for _, r := range []client.Reply{ra, rb} {
		if r.Text != "one two three" || r.FinishReason != string(llm.FinishStop) {
			t.Errorf("a tab got %v, want \"one two three\" ending stop", r)
		}
	}
	if !slices.Equal(ra.Seqs, rb.Seqs) || !contiguous(ra.Seqs) {
		t.Errorf("sequence numbers: tab on A %v, tab on B %v; want the same contiguous numbers", ra.Seqs, rb.Seqs)
	}
	if ra.ID != rb.ID {
		t.Errorf("reply ids differ: %s on A, %s on B", ra.ID, rb.ID)
	}
	if n := p.calls(); n != 1 {
		t.Errorf("the model was called %d times for one message, want 1", n)
	}
	if m := storedReply(t, cl, conv); m.Text != "one two three" || m.FinishReason != string(llm.FinishStop) {
		t.Errorf("stored reply %q (%s)", m.Text, m.FinishReason)
	}
}

func TestClusterResumeOnAnotherInstanceHasNoGapNoDuplicate(t *testing.T) {
	p := newGatedProvider()
	cl := newCluster(t, clusterConfig{Provider: p, Options: generousRates()})
	ctx := testCtx(t)
	first := cl.dialOn(t, 0, "alice")
	watcher := cl.dialOn(t, 2, "alice") // tells the test what was published
	conv := openNew(t, first)
	if _, err := watcher.Open(ctx, conv); err != nil {
		t.Fatal(err)
	}
	if _, err := first.Send(ctx, conv, "m1", "tell me"); err != nil {
		t.Fatal(err)
	}
	s := p.started(t, ctx, 1)
	s.send("alpha ", "beta ")
	seen := ""
	waitFrame(t, ctx, first, "two deltas", func(f protocol.ServerFrame) bool {
		if f.Type == protocol.TypeReplyDelta {
			seen += f.Text
		}
		return seen == "alpha beta "
	})
	last := first.LastSeq(conv)
	first.CloseNow() // the tab loses its connection mid-reply

	// While the tab is away the reply goes on; the watcher on C sees it.
	s.send("gamma ", "delta ")
	away := ""
	waitFrame(t, ctx, watcher, "the deltas sent while the tab is away", func(f protocol.ServerFrame) bool {
		if f.Type == protocol.TypeReplyDelta {
			away += f.Text
		}
		return away == "alpha beta gamma delta "
	})

	again := cl.dialOn(t, 1, "alice") // the load balancer sends it to B
	if _, err := again.Resume(ctx, conv, last); err != nil {
		t.Fatalf("resume on another instance after %d: %v", last, err)
	}
	// The rest of the reply arrives live, after the replayed events.
	s.send("epsilon")
	s.finish()
	r, _, err := again.ReadReply(ctx, conv, &client.Reply{Text: seen})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Seqs) == 0 || r.Seqs[0] != last+1 || !contiguous(r.Seqs) {
		t.Errorf("resumed after %d, got events %v: want %d onwards, one by one", last, r.Seqs, last+1)
	}
	stored := storedReply(t, cl, conv)
	if r.Text != stored.Text || r.Text != "alpha beta gamma delta epsilon" || r.FinishReason != stored.FinishReason {
		t.Errorf("reassembled %q (%s), stored %q (%s)", r.Text, r.FinishReason, stored.Text, stored.FinishReason)
	}
}

func TestClusterStopThroughAnotherInstanceCancelsTheProviderCall(t *testing.T) {
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
	s := p.started(t, ctx, 1)
	s.send("once ", "upon")
	seen := ""
	waitFrame(t, ctx, onB, "two deltas on B", func(f protocol.ServerFrame) bool {
		if f.Type == protocol.TypeReplyDelta {
			seen += f.Text
		}
		return seen == "once upon"
	})
	if err := onB.Stop(ctx, conv); err != nil {
		t.Fatalf("stop through B: %v", err)
	}
	p.waitCancelled(t, ctx, 1) // the provider call on A observes it
	for name, c := range map[string]*client.Client{"A": onA, "B": onB} {
		end, _ := waitFrame(t, ctx, c, "the reply's end on "+name, isReplyEnd(conv))
		if end.FinishReason != string(llm.FinishAbort) {
			t.Errorf("the reply ended %q on %s, want abort", end.FinishReason, name)
		}
	}
	if m := storedReply(t, cl, conv); m.Text != "once upon" || m.FinishReason != string(llm.FinishAbort) || m.Status != storage.MessageComplete {
		t.Errorf("stored reply %q %s/%s, want the partial text ending abort", m.Text, m.Status, m.FinishReason)
	}
}

func TestClusterTakeoverOnAnotherInstanceEndsTheReplyWithHandoff(t *testing.T) {
	p := newGatedProvider()
	cl := newCluster(t, clusterConfig{Provider: p, Options: generousRates()})
	ctx := testCtx(t)
	user := cl.dialOn(t, 0, "alice")
	conv := openNew(t, user)
	if _, err := user.Send(ctx, conv, "m1", "I need a person"); err != nil {
		t.Fatal(err)
	}
	s := p.started(t, ctx, 1)
	s.send("let me ")
	waitFrame(t, ctx, user, "the first delta", func(f protocol.ServerFrame) bool { return f.Type == protocol.TypeReplyDelta })

	op := cl.dialOn(t, 2, "olivia")
	if _, err := op.Watch(ctx, conv); err != nil {
		t.Fatal(err)
	}
	if err := op.Takeover(ctx, conv); err != nil {
		t.Fatalf("takeover on C of a reply running on A: %v", err)
	}
	end, _ := waitFrame(t, ctx, user, "the reply's end", isReplyEnd(conv))
	if end.FinishReason != protocol.FinishHandoff {
		t.Fatalf("the reply on A ended %q after a takeover on C, want handoff", end.FinishReason)
	}
	if m := storedReply(t, cl, conv); m.FinishReason != protocol.FinishHandoff {
		t.Errorf("stored reply ends %q, want handoff", m.FinishReason)
	}

	// The next message, through B, reaches the operator and not the model.
	onB := cl.dialOn(t, 1, "alice")
	if _, err := onB.Open(ctx, conv); err != nil {
		t.Fatal(err)
	}
	if _, err := onB.Send(ctx, conv, "m2", "are you there?"); err != nil {
		t.Fatal(err)
	}
	waitFrame(t, ctx, op, "the user's message", isMessage(conv, storage.RoleUser, "are you there?"))
	// Hand back: had a reply started for m2, it would show up before the
	// mode changes, and the next message would be refused as busy.
	if err := op.Release(ctx, conv); err != nil {
		t.Fatal(err)
	}
	_, between := waitFrame(t, ctx, onB, "the operator leaving", isMode(conv, protocol.ModeAI))
	for _, f := range between {
		if f.Type == protocol.TypeReplyStart {
			t.Errorf("a reply started while the operator held the conversation: %+v", f)
		}
	}
	if _, err := onB.Send(ctx, conv, "m3", "thanks"); err != nil {
		t.Fatalf("send after the release: %v (busy would mean a reply ran while held)", err)
	}
	p.started(t, ctx, 2).finish()
	if r, _, err := onB.ReadReply(ctx, conv, nil); err != nil || r.FinishReason != string(llm.FinishStop) {
		t.Fatalf("reply after the release: %v, %v", r, err)
	}
	if n := p.calls(); n != 2 {
		t.Errorf("the model was called %d times, want 2 (before the takeover and after the release)", n)
	}
}

func TestClusterMessageRateIsOneBudgetAcrossInstances(t *testing.T) {
	const budget = 4
	p := scripted.New(scripted.WithResponder(chatboxtest.Echo()))
	cl := newCluster(t, clusterConfig{Provider: p, Options: append(messageRate(1, budget), // 1 a minute after the burst
		chatbox.WithConversationRate(ratelimit.Limit{Rate: 1e6, Burst: 1e6}))})
	ctx := testCtx(t)
	var tabs []*client.Client
	for range len(cl.nodes) {
		c, _ := cl.dial(t, "bob")
		tabs = append(tabs, c)
	}
	accepted, limited := 0, 0
	for i := range 3 * budget {
		c := tabs[i%len(tabs)] // A, B, C, A, ...
		conv := openNew(t, c)
		_, err := c.Send(ctx, conv, "m1", "hi")
		switch {
		case err == nil:
			accepted++
			if r, _, err := c.ReadReply(ctx, conv, nil); err != nil || r.FinishReason != string(llm.FinishStop) {
				t.Fatalf("reply: %v, %v", r, err)
			}
		case client.Code(err) == protocol.CodeRateLimited:
			limited++
		default:
			t.Fatalf("message %d on instance %d: %v", i, i%len(tabs), err)
		}
	}
	if accepted != budget || limited != 2*budget {
		t.Errorf("%d messages through %d instances: %d accepted, %d rate limited; want %d and %d (one budget, not one per instance)",
			3*budget, len(cl.nodes), accepted, limited, budget, 2*budget)
	}
	if n := p.Started(); n != accepted {
		t.Errorf("the model was called %d times for %d accepted messages", n, accepted)
	}
}
