// Command quickstart serves a working chat with no keys and no database:
// the in-memory store and the scripted demo model, plus the operator
// console where a demo operator takes conversations over.
//
//	go run ./examples/quickstart
//	go run ./examples/quickstart -slow    # replies crawl: try Stop, or reload mid-reply
//
// then open the printed addresses in a browser: the chat page as a user,
// the console (in another window) as the operator, signing in with the
// printed operator token. "Talk to a person" on the chat page puts the
// conversation in the console's needs-help queue. Ask "where is order
// 1234?" to see the model call a tool, and "refund order 1234" to approve
// a call before it runs.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/chatboxsdk/chatbox"
	"github.com/chatboxsdk/chatbox/auth"
	"github.com/chatboxsdk/chatbox/llm/scripted"
	"github.com/chatboxsdk/chatbox/widget"
)

// The demo's tokens, printed at start; a real host verifies its own tokens
// (package auth/jwt) and gives operators a role claim.
const (
	demoToken         = "demo-user-token"
	demoOperatorToken = "demo-operator-token"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8080", "address to listen on")
	slow := flag.Bool("slow", false, "stream the demo's replies slowly (400 ms a word), to try Stop and a reload mid-reply by hand")
	flag.Parse()
	delay := 30 * time.Millisecond
	if *slow {
		delay = slowDelay
	}
	if err := run(*addr, delay); err != nil {
		log.Fatal(err)
	}
}

// newHandler builds the chat Server and the chat page around it:
//
//	/           the widget's chat page (and its scripts)
//	/operator   the widget's operator console
//	/chat/      the chat Server (WebSocket at /chat/ws, operator API under
//	            /chat/admin/)
//	/token      the page's token endpoint; a real host mints a short-lived
//	            token here for the user signed in with its own cookie

// slowDelay is the pause before each word of a reply with -slow.
const slowDelay = 400 * time.Millisecond

// newHandler's delay is the pause before each word of the demo model's
// replies.
func newHandler(logger *slog.Logger, delay time.Duration) (*chatbox.Server, http.Handler, error) {
	authn, err := auth.NewStaticTokens(map[string]auth.Identity{
		demoToken:         {UserID: "demo", Name: "Demo User"},
		demoOperatorToken: {UserID: "olivia", Name: "Olivia", Roles: []string{chatbox.DefaultOperatorRole}},
	})
	if err != nil {
		return nil, nil, err
	}
	demo, err := demoTools()
	if err != nil {
		return nil, nil, err
	}
	chat, err := chatbox.New(
		chatbox.WithLLM(scripted.New(scripted.WithResponder(scripted.DemoWithDelay(delay)))),
		chatbox.WithTools(demo...),
		chatbox.WithAuthenticator(authn),
		chatbox.WithSystemPrompt("You are a helpful assistant."),
		chatbox.WithLogger(logger),
	)
	if err != nil {
		return nil, nil, err
	}
	// The console pastes its token (no OperatorTokenURL): this demo has no
	// sign-in to tell operators from users.
	page, err := widget.Handler(widget.Config{SocketURL: "/chat/ws", TokenURL: "/token", AdminURL: "/chat/admin/", Title: "chatbox quickstart"})
	if err != nil {
		_ = chat.Close()
		return nil, nil, err
	}
	mux := http.NewServeMux()
	mux.Handle("/chat/", http.StripPrefix("/chat", chat))
	mux.HandleFunc("GET /token", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		_ = json.NewEncoder(w).Encode(map[string]string{"token": demoToken})
	})
	mux.Handle("/", page) // GET and HEAD only; 405 otherwise
	return chat, mux, nil
}

func run(addr string, delay time.Duration) error {
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	chat, mux, err := newHandler(logger, delay)
	if err != nil {
		return err
	}

	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen on %s (try -addr 127.0.0.1:0): %w", addr, err)
	}
	// No WriteTimeout: the Server bounds each socket write itself, and a
	// deadline for whole responses would only cut other long responses.
	// ReadHeaderTimeout stops clients that send headers a byte at a time.
	hs := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	fmt.Printf("chatbox quickstart\n"+
		"  chat     http://%[1]s/\n"+
		"  console  http://%[1]s/operator (sign in with the operator token)\n"+
		"  socket   ws://%[1]s/chat/ws (subprotocol chatbox.v1)\n"+
		"  api      http://%[1]s/chat/admin/conversations (Authorization: Bearer <operator token>)\n"+
		"  tokens   user %[2]s, operator %[3]s (Olivia)\n"+
		"  health   http://%[1]s/chat/health\n",
		ln.Addr(), demoToken, demoOperatorToken)

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	serveErr := make(chan error, 1)
	go func() { serveErr <- hs.Serve(ln) }()
	select {
	case err := <-serveErr:
		return err
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := chat.Shutdown(shutdownCtx); err != nil {
		logger.Warn("chat shutdown", "err", err)
	}
	if err := hs.Shutdown(shutdownCtx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
