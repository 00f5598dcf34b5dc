package dify_test

import (
	"context"
	"net/http"
	"testing"

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

func readAll(t *testing.T, s llm.Stream) ([]llm.Event, error) { return fixture.ReadAll(t, s) }

func text(evs []llm.Event) (string, int) { return fixture.Text(evs) }

func kindOf(t *testing.T, err error, want llm.ErrorKind) *llm.Error {
	return fixture.Kind(t, err, want, dify.Name)
}

func stream(t *testing.T, p llm.Provider, ctx context.Context, req llm.Request) llm.Stream {
	return fixture.Stream(t, p, ctx, req)
}
