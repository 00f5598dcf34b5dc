package llmtest

import (
	"context"
	"errors"
	"io"
	"testing"

	"github.com/chatboxsdk/chatbox/llm"
)

func testFailBeforeStream(t *testing.T, newProvider Factory) {
	p := newProvider(t, FailBeforeStream)
	ctx, cancel := context.WithTimeout(t.Context(), patience)
	defer cancel()
	r, err := startStream(p, ctx, cancel, patience)
	if err != nil {
		t.Fatal(err)
	}
	fail := r.err
	if fail == nil {
		t.Cleanup(func() { r.s.Close() })
		got, err := recv(r.s, patience, cancel)
		if err != nil {
			t.Fatal(err)
		}
		if got.err == nil {
			t.Fatalf("first Recv returned %s, want the rate-limit error", describe(got.ev))
		}
		fail = got.err
		stays(t, r.s, cancel)
	}
	checkKind(t, fail, llm.KindRateLimited)
}

func testFailMidStream(t *testing.T, newProvider Factory) {
	p := newProvider(t, FailMidStream)
	ctx, cancel := context.WithTimeout(t.Context(), patience)
	defer cancel()
	s := mustStream(t, p, ctx, cancel)
	tr, err := readAll(s, cancel)
	if err != nil {
		t.Fatal(err)
	}
	deltas := 0
	for _, ev := range tr.events {
		switch ev.Kind {
		case llm.EventDelta:
			deltas++
		case llm.EventUsage:
		default:
			t.Fatalf("got %s before the error", describe(ev))
		}
	}
	if deltas == 0 {
		t.Fatal("no delta before the error; the scenario needs at least one")
	}
	if tr.end == io.EOF {
		t.Fatal("stream ended with io.EOF, want the overload error")
	}
	checkKind(t, tr.end, llm.KindOverloaded)
	stays(t, s, cancel)
}

// checkKind checks that err holds an *llm.Error of kind want that names
// its provider.
func checkKind(t *testing.T, err error, want llm.ErrorKind) {
	t.Helper()
	var e *llm.Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v (%T) holds no *llm.Error", err, err)
	}
	if e.Kind != want {
		t.Fatalf("error kind %q, want %q (error: %v)", e.Kind, want, err)
	}
	if e.Provider == "" {
		t.Errorf("*llm.Error.Provider is empty; it must name the provider (error: %v)", err)
	}
}

// stays checks that a stream that returned an error is done: Recv returns
// an error again, not an event.
func stays(t *testing.T, s llm.Stream, abort func()) {
	t.Helper()
	r, err := recv(s, promptly, abort)
	if err != nil {
		t.Fatal(err)
	}
	if r.err == nil {
		t.Fatalf("Recv after an error returned %s; after an error the stream is done", describe(r.ev))
	}
}
