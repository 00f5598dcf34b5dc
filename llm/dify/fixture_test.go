package dify_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/chatboxsdk/chatbox/llm"
	"github.com/chatboxsdk/chatbox/llm/dify"
	"github.com/chatboxsdk/chatbox/llm/internal/fixture"
)

const testKey = "app-test0123456789secretkey"

// sse answers every request with the events of a testdata file.
func sse(t *testing.T, file string, stallAfter int) *fixture.Server {
	events := fixture.Events(t, "testdata/"+file)
	var srv *fixture.Server
	srv = fixture.New(t, func(w http.ResponseWriter, r *http.Request) { srv.SSE(w, r, events, stallAfter) })
	return srv
}

// jsonError answers every request with a testdata JSON error body.
func jsonError(t *testing.T, status int, file string, header ...string) *fixture.Server {
	body := fixture.File(t, "testdata/"+file)
	return fixture.New(t, func(w http.ResponseWriter, _ *http.Request) { fixture.JSON(w, status, body, header...) })
}

func newProvider(t *testing.T, srv *fixture.Server, opts ...dify.Option) *dify.Provider {
	t.Helper()
	base := []dify.Option{dify.WithBaseURL(srv.URL + "/v1"), dify.WithAPIKey(testKey)}
	p, err := dify.New(append(base, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func request() llm.Request {
	return llm.Request{Messages: []llm.Message{{Role: llm.RoleUser, Text: "Hello"}}, User: "u1", ConversationID: "c1"}
}

// readAll reads s to its end and returns its events and the error that
// ended it (io.EOF after a finish).
func readAll(t *testing.T, s llm.Stream) ([]llm.Event, error) {
	t.Helper()
	var evs []llm.Event
	for range 10_000 {
		ev, err := s.Recv()
		if err != nil {
			return evs, err
		}
		evs = append(evs, ev)
	}
	t.Fatal("endless stream")
	return nil, nil
}

func text(evs []llm.Event) (string, int) {
	var s string
	n := 0
	for _, ev := range evs {
		if ev.Kind == llm.EventDelta {
			s += ev.Text
			n++
		}
	}
	return s, n
}

func kindOf(t *testing.T, err error, want llm.ErrorKind) *llm.Error {
	t.Helper()
	var e *llm.Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v holds no *llm.Error", err)
	}
	if e.Kind != want {
		t.Fatalf("kind %q, want %q (%v)", e.Kind, want, err)
	}
	if e.Provider != dify.Name {
		t.Fatalf("provider %q, want %q", e.Provider, dify.Name)
	}
	return e
}

func stream(t *testing.T, p llm.Provider, ctx context.Context, req llm.Request) llm.Stream {
	t.Helper()
	s, err := p.Stream(ctx, req)
	if err != nil {
		t.Fatalf("Stream: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

var _ = io.EOF
var _ = time.Second
