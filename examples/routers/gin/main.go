// Command gin serves chatbox with the gin router (github.com/gin-gonic/gin):
// the socket, health and the operator API, and the chat page, all under
// /chat/, signed in by the host's own session cookie.
//
//	cd examples/routers && go run ./gin
//
// then open http://127.0.0.1:8080/signin?user=ana.
package main

import (
	"flag"
	"log"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/chatboxsdk/chatbox"
	"github.com/chatboxsdk/chatbox/examples/routers/internal/demo"
	"github.com/chatboxsdk/chatbox/llm"
	"github.com/chatboxsdk/chatbox/llm/scripted"
	"github.com/chatboxsdk/chatbox/widget"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8080", "address to listen on")
	flag.Parse()
	gin.SetMode(gin.ReleaseMode)
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
// the gin engine that serves it.
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

	g := gin.New()
	g.Use(gin.Recovery())
	g.GET("/signin", gin.WrapF(sessions.SignIn))
	// The gotcha: gin has no "mount a handler under a prefix". It matches
	// every route itself, so the chat needs a wildcard route (/chat/*path,
	// which also catches the socket, health and the operator API, whatever
	// their method), and gin.WrapH hands the handler the full URL path
	// (/chat/ws): strip the prefix inside it, or the chat Server answers
	// 404. gin's writer passes the socket's Hijack through; a middleware
	// that wraps the writer must do so too.
	g.Any("/chat/*path", gin.WrapH(http.StripPrefix("/chat", demo.ChatAndPage(chat, page))))
	return g, chat, nil
}
