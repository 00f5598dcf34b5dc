// Command openai serves a chat answered by an OpenAI model, or by any
// server that speaks the OpenAI Chat Completions API (Ollama, vLLM, the
// llama.cpp server), with the in-memory store. It is configured from the
// environment:
//
//	OPENAI_API_KEY   the API key (not needed by local servers)
//	OPENAI_BASE_URL  the API's base URL; default https://api.openai.com/v1
//	OPENAI_MODEL     the model; default gpt-4o-mini
//
// With OpenAI:
//
//	OPENAI_API_KEY=sk-... go run ./examples/openai
//
// With Ollama (after `ollama pull llama3.2`):
//
//	OPENAI_BASE_URL=http://localhost:11434/v1 OPENAI_MODEL=llama3.2 go run ./examples/openai
//
// vLLM (`vllm serve MODEL`) listens on http://localhost:8000/v1 and the
// llama.cpp server on http://localhost:8080/v1 (run this program with
// -addr 127.0.0.1:8081 then). Open the printed address in a browser.
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
	"github.com/chatboxsdk/chatbox/llm"
	"github.com/chatboxsdk/chatbox/llm/openai"
	"github.com/chatboxsdk/chatbox/widget"
)

// demoToken is printed for the demo; a real host verifies its own tokens.
const demoToken = "demo-user-token"

// defaultModel is used when OPENAI_MODEL is not set.
const defaultModel = "gpt-4o-mini"

func main() {
	addr := flag.String("addr", "127.0.0.1:8080", "address to listen on")
	flag.Parse()
	if err := run(*addr); err != nil {
		log.Fatal(err)
	}
}

// provider builds the model from the environment that getenv reads.
func provider(getenv func(string) string) (llm.Provider, string, error) {
	key, base, model := getenv("OPENAI_API_KEY"), getenv("OPENAI_BASE_URL"), getenv("OPENAI_MODEL")
	if model == "" {
		model = defaultModel
	}
	if key == "" && base == "" {
		return nil, "", errors.New("set OPENAI_API_KEY, or OPENAI_BASE_URL for a local server such as Ollama")
	}
	opts := []openai.Option{openai.WithModel(model)}
	if key != "" {
		opts = append(opts, openai.WithAPIKey(key))
	}
	if base != "" {
		opts = append(opts, openai.WithBaseURL(base))
	}
	p, err := openai.New(opts...)
	if err != nil {
		return nil, "", err
	}
	// Retry rate limits and overloads that come before the first token.
	return llm.WithRetry(p, llm.RetryPolicy{}), model, nil
}

// newHandler builds the chat Server and the chat page around it:
//
//	/           the widget's chat page (and its scripts)
//	/chat/      the chat Server (WebSocket at /chat/ws)
//	/token      the page's token endpoint; a real host mints a short-lived
//	            token here for the user signed in with its own cookie
func newHandler(logger *slog.Logger, getenv func(string) string) (*chatbox.Server, http.Handler, error) {
	p, model, err := provider(getenv)
	if err != nil {
		return nil, nil, err
	}
	authn, err := auth.NewStaticTokens(map[string]auth.Identity{
		demoToken: {UserID: "demo", Name: "Demo User"},
	})
	if err != nil {
		return nil, nil, err
	}
	chat, err := chatbox.New(
		chatbox.WithModel(chatbox.Model{ID: model, Provider: p}),
		chatbox.WithAuthenticator(authn),
		chatbox.WithSystemPrompt("You are a helpful assistant. Answer briefly."),
		chatbox.WithMaxTokens(1024),
		chatbox.WithLogger(logger),
	)
	if err != nil {
		return nil, nil, err
	}
	page, err := widget.Handler(widget.Config{SocketURL: "/chat/ws", TokenURL: "/token", Title: "chatbox with " + model})
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
	mux.Handle("/", page)
	return chat, mux, nil
}

func run(addr string) error {
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	chat, mux, err := newHandler(logger, os.Getenv)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		_ = chat.Close()
		return fmt.Errorf("listen on %s (try -addr 127.0.0.1:0): %w", addr, err)
	}
	// No WriteTimeout: it would cut long-lived sockets. The Server bounds
	// its own writes.
	hs := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	fmt.Printf("chatbox with an OpenAI-compatible model\n  open   http://%s/\n  socket ws://%s/chat/ws (subprotocol chatbox.v1)\n  token  %s\n",
		ln.Addr(), ln.Addr(), demoToken)

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
