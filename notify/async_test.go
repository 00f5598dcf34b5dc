package notify_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chatboxsdk/chatbox/notify"
)

// recorder is a Notifier that records what it is given. Before each call it
// runs before, if set.
type recorder struct {
	before func(r notify.HelpRequest) error
	mu     sync.Mutex
	got    []string
}

func (rc *recorder) Notify(_ context.Context, r notify.HelpRequest) error {
	if rc.before != nil {
		if err := rc.before(r); err != nil {
			return err
		}
	}
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.got = append(rc.got, r.ConversationID)
	return nil
}

func (rc *recorder) conversations() []string {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]string(nil), rc.got...)
}

func TestAsyncNeverBlocksCallerWhenReceiverHangs(t *testing.T) {
	release := make(chan struct{})
	rc := newReceiver(t, func(_ int, _ http.ResponseWriter, r *http.Request) {
		select { // hang until the sender gives up or the test ends
		case <-r.Context().Done():
		case <-release:
		}
	})
	defer close(release)
	w := newWebhook(t, rc, notify.WebhookConfig{AttemptTimeout: time.Minute, TotalTimeout: time.Minute})
	a := notify.NewAsync(w, 2, nil)

	const calls = 20
	results := make(chan error, calls)
	go func() {
		for i := range calls {
			r := sampleRequest()
			r.ConversationID = fmt.Sprint("conv-", i)
			results <- a.Notify(context.Background(), r)
		}
		close(results)
	}()
	accepted, full := 0, 0
	deadline := time.After(2 * time.Second)
	for done := false; !done; {
		select {
		case err, ok := <-results:
			switch {
			case !ok:
				done = true
			case err == nil:
				accepted++
			case errors.Is(err, notify.ErrQueueFull):
				full++
			default:
				t.Fatalf("Notify: %v", err)
			}
		case <-deadline:
			t.Fatalf("callers blocked: %d of %d calls returned within 2s", accepted+full, calls)
		}
	}
	// One request is stuck at the receiver, two wait in the queue.
	if accepted > 3 || accepted < 2 || full != calls-accepted {
		t.Errorf("accepted %d, queue full %d; want 2 or 3 accepted and the rest refused", accepted, full)
	}

	// Close gives up on the hanging delivery when its context ends.
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	if err := a.Close(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Close = %v, want context.DeadlineExceeded", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Close took %s after its deadline", d)
	}
	if err := a.Notify(context.Background(), sampleRequest()); !errors.Is(err, notify.ErrClosed) {
		t.Errorf("Notify after Close = %v, want ErrClosed", err)
	}
}

func TestAsyncCloseDeliversWhatIsQueuedInOrder(t *testing.T) {
	gate := make(chan struct{})
	rec := &recorder{before: func(notify.HelpRequest) error { <-gate; return nil }}
	a := notify.NewAsync(rec, 10, nil)
	want := []string{"c0", "c1", "c2", "c3", "c4"}
	for _, id := range want {
		if err := a.Notify(context.Background(), notify.HelpRequest{ConversationID: id}); err != nil {
			t.Fatal(err)
		}
	}
	closed := make(chan error, 1)
	go func() { closed <- a.Close(context.Background()) }()
	close(gate)
	if err := <-closed; err != nil {
		t.Fatalf("Close = %v", err)
	}
	if got := rec.conversations(); strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("delivered %v, want %v", got, want)
	}
}

func TestAsyncEveryAcceptedRequestIsDeliveredDespiteConcurrentClose(t *testing.T) {
	rec := &recorder{}
	a := notify.NewAsync(rec, 8, nil)
	var wg sync.WaitGroup
	var mu sync.Mutex
	accepted := 0
	someAccepted := make(chan struct{})
	var once sync.Once
	for g := range 16 {
		wg.Go(func() {
			for i := range 50 {
				err := a.Notify(context.Background(), notify.HelpRequest{ConversationID: fmt.Sprint(g, "-", i)})
				switch {
				case err == nil:
					mu.Lock()
					accepted++
					mu.Unlock()
					once.Do(func() { close(someAccepted) })
				case errors.Is(err, notify.ErrQueueFull), errors.Is(err, notify.ErrClosed):
				default:
					t.Errorf("Notify: %v", err)
				}
			}
		})
	}
	closeErr := make(chan error, 2)
	<-someAccepted
	for range 2 { // Close is safe to call concurrently
		go func() { closeErr <- a.Close(context.Background()) }()
	}
	wg.Wait()
	for range 2 {
		if err := <-closeErr; err != nil {
			t.Fatalf("Close = %v", err)
		}
	}
	if got := len(rec.conversations()); got != accepted || accepted == 0 {
		t.Errorf("delivered %d, accepted %d; want equal and non-zero", got, accepted)
	}
}

func TestAsyncLogsFailuresAndSurvivesPanics(t *testing.T) {
	var buf bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&buf, nil))
	rec := &recorder{before: func(r notify.HelpRequest) error {
		switch r.ConversationID {
		case "boom":
			panic("notifier bug")
		case "fail":
			return errors.New("receiver unreachable")
		}
		return nil
	}}
	a := notify.NewAsync(rec, 4, logger)
	for _, id := range []string{"boom", "fail", "ok"} {
		if err := a.Notify(context.Background(), notify.HelpRequest{ConversationID: id}); err != nil {
			t.Fatal(err)
		}
	}
	if err := a.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := rec.conversations(); len(got) != 1 || got[0] != "ok" {
		t.Errorf("delivered %v, want [ok]: the worker must outlive a panic", got)
	}
	log := buf.String()
	for _, want := range []string{"notifier panicked", "notifier bug", "conversation_id=boom", "receiver unreachable", "conversation_id=fail"} {
		if !strings.Contains(log, want) {
			t.Errorf("log lacks %q:\n%s", want, log)
		}
	}
}

func TestAsyncAroundNilNotifierFailsWithoutPanicking(t *testing.T) {
	a := notify.NewAsync(nil, 0, nil)
	if err := a.Notify(context.Background(), sampleRequest()); err == nil {
		t.Error("Notify on an Async around nil returned nil")
	}
	if err := a.Close(context.Background()); err != nil {
		t.Errorf("Close = %v", err)
	}
}
