package pgstore_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/chatboxsdk/chatbox/storage"
	"github.com/chatboxsdk/chatbox/storage/pgstore"
)

type appendResult struct {
	id      string
	err     error
	elapsed time.Duration
}

// TestServerStoppedMidStreamLosesAndDuplicatesNothing appends a stream of
// messages while the server is stopped twice, cleanly (pg_ctl stop -m
// fast) then as in a crash (-m immediate), and restarted each time. Every
// acknowledged append is stored exactly once, every append made during an
// outage fails with storage.ErrUnavailable within its retry budget, the
// same Store works again once the server is back, and the caller's
// retries of what failed land once each.
func TestServerStoppedMidStreamLosesAndDuplicatesNothing(t *testing.T) {
	srv := newCluster(t)
	srv.start(t)
	p, err := pgxpool.New(t.Context(), srv.url())
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	const (
		opTimeout = 300 * time.Millisecond
		attempts  = 3
		maxWait   = 100 * time.Millisecond
	)
	st, err := pgstore.New(t.Context(), p, pgstore.WithAutoMigrate(true),
		pgstore.WithOperationTimeout(opTimeout), pgstore.WithMaxAttempts(attempts),
		pgstore.WithRetryInterval(10*time.Millisecond, maxWait))
	if err != nil {
		t.Fatal(err)
	}
	patient, err := pgstore.New(t.Context(), p, pgstore.WithMaxAttempts(100), pgstore.WithRetryInterval(10*time.Millisecond, maxWait))
	if err != nil {
		t.Fatal(err)
	}
	// The whole retry budget: every attempt's timeout plus every backoff.
	budget := attempts*opTimeout + (attempts-1)*maxWait
	start := time.Date(2031, 1, 1, 0, 0, 0, 0, time.UTC)
	if err := st.CreateConversation(t.Context(), storage.Conversation{ID: "c1", UserID: "alice", CreatedAt: start}); err != nil {
		t.Fatal(err)
	}
	message := func(i int) storage.Message {
		return storage.Message{ID: fmt.Sprintf("m-%05d", i), ConversationID: "c1", Role: storage.RoleUser,
			Text: "hello", Status: storage.MessageComplete, CreatedAt: start.Add(time.Duration(i) * time.Millisecond)}
	}

	// The writer appends new messages one after another and reports every
	// outcome; the test stops and starts the server while it runs.
	results := make(chan appendResult)
	stopWriter := make(chan struct{})
	writerDone := make(chan struct{})
	go func() {
		defer close(writerDone)
		for i := 0; ; i++ {
			select {
			case <-stopWriter:
				return
			default:
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			began := time.Now()
			_, _, err := st.AppendMessage(ctx, message(i))
			cancel()
			results <- appendResult{message(i).ID, err, time.Since(began)}
		}
	}()
	var ok, failed []appendResult
	collect := func(until func() bool) {
		for !until() {
			r := <-results
			if r.err == nil {
				ok = append(ok, r)
			} else {
				failed = append(failed, r)
			}
		}
	}
	collect(func() bool { return len(ok) >= 40 })
	for _, mode := range []string{"fast", "immediate"} {
		srv.stop(t, mode)
		okBefore, failedBefore := len(ok), len(failed)
		collect(func() bool { return len(failed) >= failedBefore+5 })

		// A call whose context ends before its (here, long) retry budget
		// returns with it.
		ctx, cancel := context.WithTimeout(t.Context(), 150*time.Millisecond)
		began := time.Now()
		_, _, err := patient.AppendMessage(ctx, storage.Message{ID: "deadline", ConversationID: "c1", Role: storage.RoleUser, CreatedAt: start})
		cancel()
		if !errors.Is(err, context.DeadlineExceeded) || !errors.Is(err, storage.ErrUnavailable) {
			t.Errorf("append with a 150ms context while the server is stopped (%s): %v, want context.DeadlineExceeded and storage.ErrUnavailable", mode, err)
		}
		if d := time.Since(began); d > 150*time.Millisecond+200*time.Millisecond {
			t.Errorf("append with a 150ms context returned after %v", d)
		}

		srv.start(t)
		collect(func() bool { return len(ok) >= okBefore+40 })
	}
	close(stopWriter)
	for done := false; !done; {
		select {
		case r := <-results:
			if r.err == nil {
				ok = append(ok, r)
			} else {
				failed = append(failed, r)
			}
		case <-writerDone:
			done = true
		}
	}

	for _, r := range failed {
		if !errors.Is(r.err, storage.ErrUnavailable) {
			t.Errorf("append %s during an outage: %v, want storage.ErrUnavailable", r.id, r.err)
		}
		if r.elapsed > budget+500*time.Millisecond {
			t.Errorf("append %s failed after %v, past its retry budget of %v", r.id, r.elapsed, budget)
		}
	}
	t.Logf("%d appends succeeded, %d failed during the outages (budget %v)", len(ok), len(failed), budget)

	// The caller retries what failed, with the same ids: each lands once.
	for _, r := range failed {
		var i int
		fmt.Sscanf(r.id, "m-%05d", &i)
		if _, _, err := st.AppendMessage(t.Context(), message(i)); err != nil {
			t.Errorf("retrying %s after the restart: %v", r.id, err)
		}
	}
	seen := make(map[string]int)
	q := storage.MessageQuery{ConversationID: "c1", Limit: storage.MaxPageSize}
	for {
		page, err := st.ListMessages(t.Context(), q)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range page.Messages {
			seen[m.ID]++
		}
		if page.NextCursor == "" {
			break
		}
		q.Cursor = page.NextCursor
	}
	for _, r := range append(ok, failed...) {
		if seen[r.id] != 1 {
			t.Errorf("message %s (reported %v) is stored %d times, want once", r.id, r.err, seen[r.id])
		}
	}
	want := len(ok) + len(failed)
	if len(seen) != want {
		t.Errorf("%d messages stored, want %d", len(seen), want)
	}
	// The figures moved with the rows: one count per stored message.
	c, err := st.GetConversation(t.Context(), "c1")
	if err != nil || c.Stats.MessageCount != int64(want) {
		t.Errorf("MessageCount = %d, %v; want %d", c.Stats.MessageCount, err, want)
	}
}
