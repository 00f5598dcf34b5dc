package main

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/gin-gonic/gin"
	"go.uber.org/goleak"

	"github.com/chatboxsdk/chatbox/examples/routers/internal/demo"
	"github.com/chatboxsdk/chatbox/examples/routers/internal/recipetest"
)

func TestMain(m *testing.M) {
	gin.SetMode(gin.TestMode)
	goleak.VerifyTestMain(m)
}

func TestGinRecipeChatsThroughTheRouter(t *testing.T) {
	sessions := demo.NewSessions()
	h, chat, err := newRouter(recipetest.Provider(), sessions)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = chat.Close() })
	recipetest.Run(t, h, sessions)
}

// The comment in newRouter says the chat Server behind gin.WrapH without
// StripPrefix answers 404; this keeps it true for the gin version in go.mod.
func TestGinWrapHWithoutStripPrefixIsNotFound(t *testing.T) {
	_, chat, err := newRouter(recipetest.Provider(), demo.NewSessions())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = chat.Close() })
	g := gin.New()
	g.Any("/chat/*path", gin.WrapH(chat))
	w := httptest.NewRecorder()
	g.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/chat/health/live", nil))
	if w.Code != http.StatusNotFound {
		t.Fatalf("GET /chat/health/live without StripPrefix: %d; the recipe's warning is out of date", w.Code)
	}
}
