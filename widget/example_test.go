package widget_test

import (
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"

	"github.com/chatboxsdk/chatbox/widget"
)

// The host mounts the chat page next to the chat Server; the page connects
// to the socket and gets its token from the host's own endpoint.
func ExampleHandler() {
	page, err := widget.Handler(widget.Config{SocketURL: "/chat/ws", TokenURL: "/chat-token", Title: "Support"})
	if err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	// mux.Handle("/chat/", http.StripPrefix("/chat", chatServer))
	mux.Handle("/support/", http.StripPrefix("/support", page))
	hs := httptest.NewServer(mux)
	defer hs.Close()

	for _, path := range []string{"/support/", "/support/chatbox.js"} {
		resp, err := http.Get(hs.URL + path)
		if err != nil {
			log.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		fmt.Println(path, resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	// Output:
	// /support/ 200 text/html; charset=utf-8
	// /support/chatbox.js 200 text/javascript; charset=utf-8
}

// The same handler serves the operator console at /operator. It lists
// conversations from the chat Server's operator API (AdminURL) and watches
// them over the socket; operators sign in with a token carrying the
// operator role.
func ExampleHandler_operatorConsole() {
	page, err := widget.Handler(widget.Config{SocketURL: "/chat/ws", AdminURL: "/chat/admin/", Title: "Support"})
	if err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	// mux.Handle("/chat/", http.StripPrefix("/chat", chatServer))
	mux.Handle("/support/", http.StripPrefix("/support", page))
	hs := httptest.NewServer(mux)
	defer hs.Close()

	resp, err := http.Get(hs.URL + "/support/operator")
	if err != nil {
		log.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	fmt.Println(resp.StatusCode, resp.Header.Get("Content-Type"))
	// Output:
	// 200 text/html; charset=utf-8
}
