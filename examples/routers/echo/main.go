// Command echo serves chatbox with the Echo router
// (github.com/labstack/echo/v4): the socket, health and the operator API,
// and the chat page, all under /chat/, signed in by the host's own session
// cookie.
//
//	cd examples/routers && go run ./echo
//
// then open http://127.0.0.1:8080/signin?user=ana.
package main

import (
	"flag"
	"log"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/chatboxsdk/chatbox"
	"github.com/chatboxsdk/chatbox/examples/routers/internal/demo"
	"github.com/chatboxsdk/chatbox/llm"
	"github.com/chatboxsdk/chatbox/llm/scripted"
	"github.com/chatboxsdk/chatbox/widget"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8080", "address to listen on")
	flag.Parse()
	sessions := demo.NewSessions()
	h, chat, err := newRouter(scripted.New(scripted.WithResponder(scripted.Demo())), sessions)
	if err != nil {
		log.Fatal(err)
	}
	if err := demo.Run(*addr, h, chat); err != nil {
		log.Fatal(err)
	}
}

// newRouter builds the chat Server, signed in by the host's sessions, and
// the Echo instance that serves it.
func newRouter(model llm.Provider, sessions *demo.Sessions) (http.Handler, *chatbox.Server, error) {
	chat, err := chatbox.New(
		chatbox.WithLLM(model),
		// The host's cookie says who is signed in: the page needs no token
		// endpoint. The origin check (same host by default) is then what
		// keeps other sites' pages from using the cookie.
		chatbox.WithRequestAuthenticator(sessions),
	)
	if err != nil {
		return nil, nil, err
	}
	page, err := widget.Handler(widget.Config{SocketURL: "/chat/ws", CookieSignIn: true})
	if err != nil {
		_ = chat.Close()
		return nil, nil, err
	}

	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.GET("/signin", echo.WrapHandler(http.HandlerFunc(sessions.SignIn)))
	// The gotcha: a group's prefix is for matching only. echo.WrapHandler
	// hands the handler the full URL path (/chat/ws), so strip the prefix
	// inside it, or the chat Server answers 404; and the group needs a
	// wildcard route ("/*", any method) to reach the socket, health, the
	// operator API and the page. Echo's response passes the socket's
	// Hijack through; a middleware that wraps it must do so too.
	g := e.Group("/chat")
	g.Any("/*", echo.WrapHandler(http.StripPrefix("/chat", demo.ChatAndPage(chat, page))))
	return e, chat, nil
}
