package main

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/labstack/echo/v4"
	"go.uber.org/goleak"

	"github.com/chatboxsdk/chatbox/examples/routers/internal/demo"
	"github.com/chatboxsdk/chatbox/examples/routers/internal/recipetest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestEchoRecipeChatsThroughTheRouter(t *testing.T) {
	sessions := demo.NewSessions()
	h, chat, err := newRouter(recipetest.Provider(), sessions)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = chat.Close() })
	recipetest.Run(t, h, sessions)
}

// The comment in newRouter says the chat Server behind echo.WrapHandler in
// a group without StripPrefix answers 404; this keeps it true for the Echo
// version in go.mod.
func TestEchoGroupWithoutStripPrefixIsNotFound(t *testing.T) {
	_, chat, err := newRouter(recipetest.Provider(), demo.NewSessions())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = chat.Close() })
	e := echo.New()
	e.Group("/chat").Any("/*", echo.WrapHandler(chat))
	w := httptest.NewRecorder()
	e.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/chat/health/live", nil))
	if w.Code != http.StatusNotFound {
		t.Fatalf("GET /chat/health/live without StripPrefix: %d; the recipe's warning is out of date", w.Code)
	}
}
