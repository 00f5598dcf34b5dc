package main

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/go-chi/chi/v5"
	"go.uber.org/goleak"

	"github.com/chatboxsdk/chatbox/examples/routers/internal/demo"
	"github.com/chatboxsdk/chatbox/examples/routers/internal/recipetest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestChiRecipeChatsThroughTheRouter(t *testing.T) {
	sessions := demo.NewSessions()
	h, chat, err := newRouter(recipetest.Provider(), sessions)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = chat.Close() })
	recipetest.Run(t, h, sessions)
}

// The comment in newRouter says a chat Server mounted without StripPrefix
// answers 404; this keeps it true for the chi version in go.mod.
func TestChiMountWithoutStripPrefixIsNotFound(t *testing.T) {
	sessions := demo.NewSessions()
	_, chat, err := newRouter(recipetest.Provider(), sessions)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = chat.Close() })
	r := chi.NewRouter()
	r.Mount("/chat", chat)
	w := httptest.NewRecorder()
	r.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/chat/health/live", nil))
	if w.Code != http.StatusNotFound {
		t.Fatalf("GET /chat/health/live on a chat Server mounted without StripPrefix: %d; the recipe's warning is out of date", w.Code)
	}
}
