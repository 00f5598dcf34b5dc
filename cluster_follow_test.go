package chatbox_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/chatboxsdk/chatbox/client"
	"github.com/chatboxsdk/chatbox/protocol"
	"github.com/chatboxsdk/chatbox/storage"
)

// follower is one tab of a user that follows a conversation the way the
// browser client does: it checks that every numbered event is the one after
// the last it saw (no gap, no duplicate), and when its socket closes it
// reconnects through the round-robin dialer and resumes from the last
// number, or opens the conversation again on replay_unavailable.
type follower struct {
	t          *testing.T
	cl         *cluster
	user, conv string
	c          *client.Client
	last       int64 // the last number seen, or the resume point
	replyID    string
	text       strings.Builder // the current reply's text as this tab shows it
	reconnects int
	reopened   int // replay_unavailable answers
}

func newFollower(t *testing.T, cl *cluster, c *client.Client, user, conv string) *follower {
	return &follower{t: t, cl: cl, c: c, user: user, conv: conv, last: c.LastSeq(conv)}
}

// reply follows the conversation until the end of a reply and returns its
// finish reason; the text is in f.text.
func (f *follower) reply(ctx context.Context) string {
	f.t.Helper()
	for {
		fr, err := f.c.Next(ctx)
		if err != nil {
			if ctx.Err() != nil {
				f.t.Fatalf("%s: waiting for the reply's end: %v (text so far %q)", f.user, err, f.text.String())
			}
			if done, finish := f.reconnect(ctx); done {
				return finish
			}
			continue
		}
		if finish, ended := f.handle(fr); ended {
			return finish
		}
	}
}

// until follows the conversation until cond holds (without reconnecting).
func (f *follower) until(ctx context.Context, what string, cond func() bool) {
	f.t.Helper()
	for !cond() {
		fr, err := f.c.Next(ctx)
		if err != nil {
			f.t.Fatalf("%s: waiting for %s: %v", f.user, what, err)
		}
		f.handle(fr)
	}
}

// handle checks one frame's number and applies it; ended reports a
// reply.end.
func (f *follower) handle(fr protocol.ServerFrame) (finish string, ended bool) {
	f.t.Helper()
	if fr.ConversationID != f.conv || fr.Seq == 0 {
		return "", false
	}
	switch {
	case fr.Seq <= f.last:
		f.t.Errorf("%s: duplicate event %d %s (last seen %d)", f.user, fr.Seq, fr.Type, f.last)
		return "", false
	case fr.Seq != f.last+1:
		f.t.Errorf("%s: gap: event %d %s follows %d", f.user, fr.Seq, fr.Type, f.last)
	}
	f.last = fr.Seq
	switch fr.Type {
	case protocol.TypeReplyStart:
		f.replyID = fr.ReplyID
		f.text.Reset()
	case protocol.TypeReplyDelta:
		f.text.WriteString(fr.Text)
	case protocol.TypeReplyEnd:
		return fr.FinishReason, true
	}
	return "", false
}

// reconnect dials another instance and resumes; on replay_unavailable it
// opens the conversation again and takes the reply from the page (done
// when the reply is already finished there).
func (f *follower) reconnect(ctx context.Context) (done bool, finish string) {
	f.t.Helper()
	_ = f.c.Close()
	f.reconnects++
	if f.reconnects > 5 {
		f.t.Fatalf("%s: reconnected %d times", f.user, f.reconnects)
	}
	f.c, _ = f.cl.dial(f.t, f.user)
	_, err := retryable(ctx, func() (protocol.ServerFrame, error) { return f.c.Resume(ctx, f.conv, f.last) })
	if err == nil {
		return false, "" // the missed events are queued
	}
	if client.Code(err) != protocol.CodeReplayUnavailable {
		f.t.Fatalf("%s: resume after %d: %v; want the missed events, replay_unavailable or a retryable error%s", f.user, f.last, err, internalHint(err))
	}
	f.reopened++
	opened, err := retryable(ctx, func() (protocol.ServerFrame, error) { return f.c.Open(ctx, f.conv) })
	if err != nil {
		f.t.Fatalf("%s: open after replay_unavailable: %v; want the page or a retryable error%s", f.user, err, internalHint(err))
	}
	f.last = opened.LastSeq
	if r := opened.Reply; r != nil && r.ReplyID == f.replyID {
		f.text.Reset()
		f.text.WriteString(r.Text)
		return false, ""
	}
	for _, m := range opened.Messages {
		if m.ID == f.replyID && m.Status != "streaming" {
			f.text.Reset()
			f.text.WriteString(m.Text)
			return true, m.FinishReason
		}
	}
	f.t.Fatalf("%s: reopened page has neither the streaming reply %s nor its stored end: %+v", f.user, f.replyID, opened)
	return false, ""
}

// internalHint explains an internal answer: a Redis connection error (Redis
// down, or the first command on a connection a restart broke) reached the
// client as a bug instead of a retryable unavailable.
func internalHint(err error) string {
	var se *client.ServerError
	if !errors.As(err, &se) || se.Body.Code != protocol.CodeInternal {
		return ""
	}
	return " (the server answered internal, not retryable, for a Redis connection error; server log ref " + se.Body.Ref + ")"
}

// retryable calls op again while it fails with a retryable error (a
// dependency coming back), within ctx.
func retryable(ctx context.Context, op func() (protocol.ServerFrame, error)) (protocol.ServerFrame, error) {
	for {
		fr, err := op()
		var se *client.ServerError
		if err == nil || !errors.As(err, &se) || !se.Body.Retryable || ctx.Err() != nil {
			return fr, err
		}
		select {
		case <-time.After(50 * time.Millisecond): // the server asked for a retry
		case <-ctx.Done():
			return fr, err
		}
	}
}

// storedReply returns the conversation's last assistant message.
func storedReply(t *testing.T, cl *cluster, conv string) storage.Message {
	t.Helper()
	page, err := cl.store.ListMessages(context.Background(), storage.MessageQuery{ConversationID: conv, Limit: 100, Order: storage.Descending})
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range page.Messages {
		if m.Role == storage.RoleAssistant {
			return m
		}
	}
	t.Fatalf("no reply stored in %s", conv)
	return storage.Message{}
}

// contiguous reports whether seqs follow each other one by one.
func contiguous(seqs []int64) bool {
	for i := 1; i < len(seqs); i++ {
		if seqs[i] != seqs[i-1]+1 {
			return false
		}
	}
	return len(seqs) > 0
}
