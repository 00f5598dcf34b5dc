package chatbox_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/chatboxsdk/chatbox"
	"github.com/chatboxsdk/chatbox/auth"
	"github.com/chatboxsdk/chatbox/chatboxtest"
	"github.com/chatboxsdk/chatbox/client"
	"github.com/chatboxsdk/chatbox/llm"
	"github.com/chatboxsdk/chatbox/llm/scripted"
	"github.com/chatboxsdk/chatbox/notify"
	"github.com/chatboxsdk/chatbox/protocol"
	"github.com/chatboxsdk/chatbox/ratelimit"
	"github.com/chatboxsdk/chatbox/storage"
)

// waitFrame reads c's frames until one satisfies match and returns it;
// the frames read before it are returned too.
func waitFrame(t *testing.T, ctx context.Context, c *client.Client, what string, match func(protocol.ServerFrame) bool) (protocol.ServerFrame, []protocol.ServerFrame) {
	t.Helper()
	var before []protocol.ServerFrame
	for {
		f, err := c.Next(ctx)
		if err != nil {
			t.Fatalf("waiting for %s: %v (after %d frames)", what, err, len(before))
		}
		if match(f) {
			return f, before
		}
		before = append(before, f)
	}
}

func isMode(conv, mode string) func(protocol.ServerFrame) bool {
	return func(f protocol.ServerFrame) bool {
		return f.Type == protocol.TypeModeChanged && f.ConversationID == conv && f.Mode == mode
	}
}

func isMessage(conv string, role storage.Role, text string) func(protocol.ServerFrame) bool {
	return func(f protocol.ServerFrame) bool {
		return f.Type == protocol.TypeMessage && f.ConversationID == conv && f.Message != nil &&
			f.Message.Role == string(role) && f.Message.Text == text
	}
}

func isReplyEnd(conv string) func(protocol.ServerFrame) bool {
	return func(f protocol.ServerFrame) bool { return f.Type == protocol.TypeReplyEnd && f.ConversationID == conv }
}

// adminGet calls the operator API with a bearer token and decodes the JSON
// answer into out (when the status is 200).
func adminGet(t *testing.T, h *chatboxtest.Harness, path, token string, out any) *http.Response {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, h.AdminURL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusOK && out != nil {
		if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
	}
	return resp
}

// TestOperatorTakesOverWritesAndHandsBack is the whole operator story over
// real sockets: help request, needs-help listing, takeover stopping the
// running reply with handoff, operator messages on every device of the
// user, no model reply while held, release, and a model reply whose
// history holds the operator's turn.
func TestOperatorTakesOverWritesAndHandsBack(t *testing.T) {
	p := scripted.New(scripted.WithResponder(func(req llm.Request) scripted.Reply {
		r := chatboxtest.Echo()(req)
		if last := req.Messages[len(req.Messages)-1].Text; last == "tell me a long story" {
			r.StallAfter = 2 // runs until something stops it
		}
		return r
	}))
	h := chatboxtest.New(t, chatboxtest.Config{Provider: p, Options: generousRates()})
	ctx := testCtx(t)
	phone, laptop := h.Dial(t, "alice"), h.Dial(t, "alice")
	conv := openNew(t, phone)
	if _, err := laptop.Open(ctx, conv); err != nil {
		t.Fatal(err)
	}

	// The user chats with the model, then asks for a person.
	if _, err := phone.Send(ctx, conv, "m1", "hello"); err != nil {
		t.Fatal(err)
	}
	if r, _, err := phone.ReadReply(ctx, conv, nil); err != nil || r.Text != "echo: hello" {
		t.Fatalf("first reply = %+v, %v", r, err)
	}
	if err := phone.Help(ctx, conv); err != nil {
		t.Fatal(err)
	}
	waitFrame(t, ctx, phone, "mode waiting", isMode(conv, protocol.ModeWaiting))

	// The operator finds it among the conversations needing help.
	var listed struct {
		Conversations []struct {
			ID, UserID, Mode string
		} `json:"conversations"`
		Total int64 `json:"total"`
	}
	olivia := chatboxtest.Token("olivia")
	if resp := adminGet(t, h, "conversations?needs_help=true", olivia, &listed); resp.StatusCode != http.StatusOK {
		t.Fatalf("needs-help listing: HTTP %d", resp.StatusCode)
	}
	if listed.Total != 1 || len(listed.Conversations) != 1 || listed.Conversations[0].ID != conv {
		t.Fatalf("needs-help listing = %+v, want only %s", listed, conv)
	}

	// A long reply is running when the operator takes over.
	if _, err := phone.Send(ctx, conv, "m2", "tell me a long story"); err != nil {
		t.Fatal(err)
	}
	waitFrame(t, ctx, phone, "the long reply's first delta", func(f protocol.ServerFrame) bool { return f.Type == protocol.TypeReplyDelta })
	op := h.Dial(t, "olivia")
	watched, err := op.Watch(ctx, conv)
	if err != nil {
		t.Fatal(err)
	}
	if watched.Conversation == nil || watched.Conversation.UserID != "alice" || watched.Conversation.Mode != protocol.ModeWaiting {
		t.Fatalf("watch: conversation = %+v", watched.Conversation)
	}
	if err := op.Takeover(ctx, conv); err != nil {
		t.Fatal(err)
	}
	// The reply's end and the mode event may come in either order.
	end, before := waitFrame(t, ctx, phone, "the long reply's end", isReplyEnd(conv))
	if end.FinishReason != protocol.FinishHandoff {
		t.Fatalf("running reply ended with %q, want handoff", end.FinishReason)
	}
	i := slices.IndexFunc(before, isMode(conv, protocol.ModeOperator))
	var joined protocol.ServerFrame
	if i >= 0 {
		joined = before[i]
	} else {
		joined, _ = waitFrame(t, ctx, phone, "operator joined", isMode(conv, protocol.ModeOperator))
	}
	if joined.Operator == nil || joined.Operator.Name != "Olivia" {
		t.Fatalf("joined event = %+v", joined)
	}
	// A page opened now learns who answers from the conversation itself.
	reopened, err := laptop.Open(ctx, conv)
	if err != nil {
		t.Fatal(err)
	}
	if c := reopened.Conversation; c == nil || c.Mode != protocol.ModeOperator || c.Operator == nil || c.Operator.Name != "Olivia" {
		t.Fatalf("opened during the takeover: conversation %+v, want mode operator with Olivia", c)
	}
	started := p.Started()

	// The operator writes: both of the user's devices get it.
	if _, err := op.Send(ctx, conv, "op1", "Hi, I'm Olivia. How can I help?"); err != nil {
		t.Fatal(err)
	}
	for _, dev := range []*client.Client{phone, laptop} {
		waitFrame(t, ctx, dev, "the operator's message", isMessage(conv, storage.RoleOperator, "Hi, I'm Olivia. How can I help?"))
	}

	// The user answers: stored and delivered to the operator, no reply.
	if _, err := phone.Send(ctx, conv, "m3", "my order never came"); err != nil {
		t.Fatal(err)
	}
	waitFrame(t, ctx, op, "the user's message", isMessage(conv, storage.RoleUser, "my order never came"))

	// A second operator cannot take it or write in it.
	oscar := h.Dial(t, "oscar")
	if _, err := oscar.Watch(ctx, conv); err != nil {
		t.Fatal(err)
	}
	if err := oscar.Takeover(ctx, conv); client.Code(err) != protocol.CodeConflict {
		t.Fatalf("second takeover: %v, want conflict", err)
	}
	if _, err := oscar.Send(ctx, conv, "op2", "me too"); client.Code(err) != protocol.CodeConflict {
		t.Fatalf("send by an operator not holding it: %v, want conflict", err)
	}
	if err := oscar.Release(ctx, conv); client.Code(err) != protocol.CodeConflict {
		t.Fatalf("release by an operator not holding it: %v, want conflict", err)
	}

	// Hand back: the model answers the next message with the whole history.
	if err := op.Release(ctx, conv); err != nil {
		t.Fatal(err)
	}
	_, between := waitFrame(t, ctx, phone, "operator left", isMode(conv, protocol.ModeAI))
	for _, f := range between {
		if f.Type == protocol.TypeReplyStart {
			t.Fatalf("a reply started while the operator held the conversation: %+v", f)
		}
	}
	if _, err := phone.Send(ctx, conv, "m4", "thanks, bye"); err != nil {
		t.Fatalf("send after release: %v (busy would mean a reply ran while held)", err)
	}
	r, _, err := phone.ReadReply(ctx, conv, nil)
	if err != nil || r.FinishReason != "stop" || r.Text != "echo: thanks, bye" {
		t.Fatalf("reply after release = %+v, %v", r, err)
	}
	if got := p.Started(); got != started+1 {
		t.Fatalf("provider started %d times after the takeover, want exactly 1 (after the release)", got-started)
	}
	reqs := p.Requests()
	history := reqs[len(reqs)-1].Messages
	wantTail := []llm.Message{
		{Role: llm.RoleOperator, Text: "Hi, I'm Olivia. How can I help?"},
		{Role: llm.RoleUser, Text: "my order never came"},
		{Role: llm.RoleUser, Text: "thanks, bye"},
	}
	if len(history) < len(wantTail) || !reflect.DeepEqual(history[len(history)-len(wantTail):], wantTail) {
		t.Fatalf("history sent to the model ends with %+v, want %+v", history, wantTail)
	}

	// The stored transcript and the audit log tell the same story.
	stored, err := h.Store.GetConversation(ctx, conv)
	if err != nil || stored.Mode != storage.ModeAI || !stored.Stats.OperatorAssisted {
		t.Fatalf("stored conversation = %+v, %v", stored, err)
	}
	audit, err := h.Store.ListAudit(ctx, storage.AuditQuery{ConversationID: conv})
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, e := range slices.Backward(audit.Entries) {
		actions = append(actions, e.Actor+":"+string(e.Action))
	}
	if want := []string{"alice:help_request", "olivia:takeover", "olivia:release"}; !slices.Equal(actions, want) {
		t.Fatalf("audit log = %v, want %v", actions, want)
	}
}

// TestExactlyOneOfManyOperatorsTakesOver races many operators, each on its
// own socket, for one conversation.
func TestExactlyOneOfManyOperatorsTakesOver(t *testing.T) {
	const operators = 24
	tokens := map[string]auth.Identity{chatboxtest.Token("alice"): {UserID: "alice"}}
	for i := range operators {
		id := fmt.Sprintf("op%02d", i)
		tokens[chatboxtest.Token(id)] = auth.Identity{UserID: id, Roles: []string{"support"}}
	}
	authn, err := auth.NewStaticTokens(tokens)
	if err != nil {
		t.Fatal(err)
	}
	h := chatboxtest.New(t, chatboxtest.Config{Options: []chatbox.Option{
		chatbox.WithAuthenticator(authn), chatbox.WithOperatorRoles("support"),
		chatbox.WithMaxSocketsPerUser(100),
	}})
	ctx := testCtx(t)
	conv := openNew(t, h.Dial(t, "alice"))
	socks := make([]*client.Client, operators)
	for i := range socks {
		socks[i] = h.Dial(t, fmt.Sprintf("op%02d", i))
		if _, err := socks[i].Watch(ctx, conv); err != nil {
			t.Fatal(err)
		}
	}
	errs := make([]error, operators)
	var wg sync.WaitGroup
	ready := make(chan struct{})
	for i, c := range socks {
		wg.Go(func() {
			<-ready
			errs[i] = c.Takeover(ctx, conv)
		})
	}
	close(ready)
	wg.Wait()
	winner := -1
	for i, err := range errs {
		switch {
		case err == nil && winner >= 0:
			t.Fatalf("both op%02d and op%02d took over", winner, i)
		case err == nil:
			winner = i
		case client.Code(err) != protocol.CodeConflict:
			t.Fatalf("op%02d: %v, want conflict", i, err)
		}
	}
	if winner < 0 {
		t.Fatal("nobody took over")
	}
	stored, err := h.Store.GetConversation(ctx, conv)
	if err != nil || stored.Mode != storage.ModeOperator || stored.Operator != fmt.Sprintf("op%02d", winner) {
		t.Fatalf("stored = %+v, %v; want held by op%02d", stored, err, winner)
	}
}

func TestOperatorFramesNeedTheOperatorRole(t *testing.T) {
	h := chatboxtest.New(t, chatboxtest.Config{})
	ctx := testCtx(t)
	alice, bob := h.Dial(t, "alice"), h.Dial(t, "bob")
	conv := openNew(t, alice)
	if _, err := bob.Watch(ctx, conv); client.Code(err) != protocol.CodeForbidden {
		t.Fatalf("watch by a user: %v, want forbidden", err)
	}
	for _, f := range []string{protocol.TypeTakeover, protocol.TypeRelease} {
		if _, err := alice.Request(ctx, protocol.ClientFrame{Type: f, ConversationID: conv}); client.Code(err) != protocol.CodeForbidden {
			t.Fatalf("%s by the owner: %v, want forbidden", f, err)
		}
	}
	// Another user's conversation still looks missing to bob.
	if _, err := bob.Open(ctx, conv); client.Code(err) != protocol.CodeNotFound {
		t.Fatalf("open of another user's conversation: %v, want not_found", err)
	}
	// Help needs the conversation open by its owner.
	if err := bob.Help(ctx, conv); client.Code(err) != protocol.CodeNotOpen {
		t.Fatalf("help by another user: %v, want not_open", err)
	}
}

func TestHelpRequestsAreLimitedPerUser(t *testing.T) {
	h := chatboxtest.New(t, chatboxtest.Config{Options: append(generousRates(),
		chatbox.WithHelpRate(ratelimit.Per(2, time.Hour, 2)))})
	ctx := testCtx(t)
	alice := h.Dial(t, "alice")
	// Two conversations: the limit is per user, not per conversation.
	convs := []string{openNew(t, alice), openNew(t, alice), openNew(t, alice)}
	for _, conv := range convs[:2] {
		if err := alice.Help(ctx, conv); err != nil {
			t.Fatal(err)
		}
	}
	err := alice.Help(ctx, convs[2])
	var se *client.ServerError
	if client.Code(err) != protocol.CodeRateLimited || !errors.As(err, &se) || se.Body.RetryAfterMS <= 0 {
		t.Fatalf("third help request: %v, want rate_limited with retry_after_ms", err)
	}
	c, err := h.Store.GetConversation(ctx, convs[2])
	if err != nil || c.Mode != storage.ModeAI {
		t.Fatalf("refused help request changed the mode: %+v, %v", c, err)
	}
}

// TestHelpRequestsReachTheNotifierWithoutHoldingTheSocket: a notifier that
// hangs does not delay the user's requests.
func TestHelpRequestsReachTheNotifierWithoutHoldingTheSocket(t *testing.T) {
	got := make(chan notify.HelpRequest, 2)
	unblock := make(chan struct{})
	n := notify.NotifierFunc(func(ctx context.Context, r notify.HelpRequest) error {
		got <- r
		select { // hangs until the test or Shutdown lets it go
		case <-unblock:
		case <-ctx.Done():
		}
		return nil
	})
	h := chatboxtest.New(t, chatboxtest.Config{Options: []chatbox.Option{chatbox.WithNotifier(n)}})
	ctx := testCtx(t)
	alice := h.Dial(t, "alice")
	first, second := openNew(t, alice), openNew(t, alice)
	if err := alice.Help(ctx, first); err != nil {
		t.Fatal(err)
	}
	select {
	case r := <-got:
		if r.ConversationID != first || r.UserID != "alice" || r.UserName != "Alice" || r.At.IsZero() {
			t.Fatalf("notified %+v", r)
		}
	case <-ctx.Done():
		t.Fatal("the notifier was not called")
	}
	// The notifier is stuck on the first request; the socket is not.
	if err := alice.Help(ctx, second); err != nil {
		t.Fatal(err)
	}
	if _, err := alice.Send(ctx, second, "m1", "still there?"); err != nil {
		t.Fatal(err)
	}
	close(unblock)
	select {
	case r := <-got:
		if r.ConversationID != second {
			t.Fatalf("second notification for %s, want %s", r.ConversationID, second)
		}
	case <-ctx.Done():
		t.Fatal("the second request was not delivered")
	}
}

// TestWebhookNotifierThroughTheServer: the signed webhook reaches a local
// receiver that keeps failing; the server retries it in the background,
// gives up after its attempts, and the user's socket is never held up.
func TestWebhookNotifierThroughTheServer(t *testing.T) {
	secret := []byte("k7P2x9QvL4mN8rT1wY6zB3cF5hJ0dG2s")
	attempts := make(chan error, 8)
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err == nil {
			err = notify.VerifySignature(secret, r.Header.Get(notify.SignatureHeader), body, time.Now(), time.Minute)
		}
		attempts <- err
		w.WriteHeader(http.StatusInternalServerError)
	}))
	defer receiver.Close()
	hook, err := notify.NewWebhook(notify.WebhookConfig{
		URL: receiver.URL, Secret: secret, MaxAttempts: 3,
		BackoffInterval: time.Millisecond, MaxBackoffInterval: time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer hook.Close()
	h := chatboxtest.New(t, chatboxtest.Config{Options: []chatbox.Option{chatbox.WithNotifier(hook)}})
	ctx := testCtx(t)
	alice := h.Dial(t, "alice")
	conv := openNew(t, alice)
	if err := alice.Help(ctx, conv); err != nil {
		t.Fatal(err)
	}
	if _, err := alice.Send(ctx, conv, "m1", "anyone?"); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		select {
		case err := <-attempts:
			if err != nil {
				t.Fatalf("attempt %d: signature does not verify: %v", i+1, err)
			}
		case <-ctx.Done():
			t.Fatalf("only %d attempts reached the receiver, want 3", i)
		}
	}
	// Shutdown waits for the notifier's queue, so no fourth attempt can
	// be on its way once it returns.
	if err := h.Server.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	select {
	case <-attempts:
		t.Fatal("a fourth attempt was made; MaxAttempts is 3")
	default:
	}
}
