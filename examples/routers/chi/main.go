// Command chi serves chatbox with the chi router (github.com/go-chi/chi/v5):
// the socket, health and the operator API, and the chat page, all under
// /chat/, signed in by the host's own session cookie.
//
//	cd examples/routers && go run ./chi
//
// then open http://127.0.0.1:8080/signin?user=ana.
package main

import (
	"flag"
	"log"
	"net/http"

	"github.com/go-chi/chi/v5"

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
// the chi router that serves it.
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

	r := chi.NewRouter()
	r.Get("/signin", sessions.SignIn)
	// The gotcha: r.Mount("/chat", chat) alone answers 404 to everything.
	// chi strips the mount prefix only from its own routing state, which
	// only a chi router reads; any other handler sees the full URL path
	// (/chat/ws), and the chat Server routes on /ws. Strip the prefix.
	r.Mount("/chat", http.StripPrefix("/chat", demo.ChatAndPage(chat, page)))
	return r, chat, nil
}
