// Command postgres serves the quickstart chat with conversations kept in
// PostgreSQL and encrypted at rest with AES-256-GCM.
//
// Generate a key once and keep it secret (32 random bytes, base64):
//
//	openssl rand -base64 32
//
// then run:
//
//	CHATBOX_POSTGRES_URL=postgres://user:password@127.0.0.1:5432/app \
//	CHATBOX_ENCRYPTION_KEY=<the key> \
//	go run ./examples/postgres
//
// The program applies the store's schema migrations at startup
// (pgstore.WithAutoMigrate); a deployment that migrates as a separate step
// calls pgstore.Migrate from its release job instead.
//
// Environment:
//
//	CHATBOX_POSTGRES_URL             required: a connection URL or string
//	CHATBOX_POSTGRES_SCHEMA          default "chatbox": the schema of the tables
//	CHATBOX_ENCRYPTION_KEY           required: the active key, base64
//	CHATBOX_ENCRYPTION_KEY_ID        default "k1"; stored with every value
//	CHATBOX_ENCRYPTION_OLD_KEY       optional: the previous key, still read
//	CHATBOX_ENCRYPTION_OLD_KEY_ID    its id (required with the old key)
//
// To rotate: move the current key and id to the OLD variables, set a new
// key with a new id, restart.
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
	"github.com/chatboxsdk/chatbox/storage"
	"github.com/chatboxsdk/chatbox/storage/encrypted"
	"github.com/chatboxsdk/chatbox/storage/pgstore"
	"github.com/chatboxsdk/chatbox/widget"
)

// demoToken is printed for the demo; a real host verifies its own tokens.
const demoToken = "demo-user-token"

func main() {
	addr := flag.String("addr", "127.0.0.1:8080", "address to listen on")
	flag.Parse()
	if err := run(*addr); err != nil {
		log.Fatal(err)
	}
}

// openStore opens the PostgreSQL store described by getenv, migrating its
// schema, and wraps it in encryption. Close the returned *pgstore.Store
// when done.
func openStore(ctx context.Context, getenv func(string) string) (storage.Store, *pgstore.Store, error) {
	url := getenv("CHATBOX_POSTGRES_URL")
	if url == "" {
		return nil, nil, errors.New("CHATBOX_POSTGRES_URL is not set")
	}
	active, err := keyFromEnv(getenv, "CHATBOX_ENCRYPTION_KEY", "CHATBOX_ENCRYPTION_KEY_ID", "k1")
	if err != nil {
		return nil, nil, err
	}
	var older []encrypted.Key
	if getenv("CHATBOX_ENCRYPTION_OLD_KEY") != "" {
		old, err := keyFromEnv(getenv, "CHATBOX_ENCRYPTION_OLD_KEY", "CHATBOX_ENCRYPTION_OLD_KEY_ID", "")
		if err != nil {
			return nil, nil, err
		}
		older = append(older, old)
	}
	// Refuse bad keys before connecting to anything.
	if err := encrypted.ValidateKeys(active, older...); err != nil {
		return nil, nil, err
	}
	opts := []pgstore.Option{pgstore.WithAutoMigrate(true)}
	if schema := getenv("CHATBOX_POSTGRES_SCHEMA"); schema != "" {
		opts = append(opts, pgstore.WithSchema(schema))
	}
	ps, err := pgstore.Open(ctx, url, opts...)
	if err != nil {
		return nil, nil, err
	}
	st, err := encrypted.New(ps, active, older...)
	if err != nil {
		ps.Close()
		return nil, nil, err
	}
	return st, ps, nil
}

func keyFromEnv(getenv func(string) string, keyVar, idVar, defaultID string) (encrypted.Key, error) {
	encoded := getenv(keyVar)
	if encoded == "" {
		return encrypted.Key{}, fmt.Errorf("%s is not set (generate one with: openssl rand -base64 32)", keyVar)
	}
	id := getenv(idVar)
	if id == "" {
		id = defaultID
	}
	if id == "" {
		return encrypted.Key{}, fmt.Errorf("%s is not set", idVar)
	}
	return encrypted.ParseKey(id, encoded)
}

// newHandler builds the chat Server on st and the chat page around it:
//
//	/           the widget's chat page
//	/chat/      the chat Server (WebSocket at /chat/ws)
//	/token      the page's token endpoint; a real host mints a short-lived
//	            token here for its signed-in user
func newHandler(st storage.Store, logger *slog.Logger) (*chatbox.Server, http.Handler, error) {
	authn, err := auth.NewStaticTokens(map[string]auth.Identity{
		demoToken: {UserID: "demo", Name: "Demo User"},
	})
	if err != nil {
		return nil, nil, err
	}
	chat, err := chatbox.New(
		chatbox.WithStore(st),
		chatbox.WithLLM(scripted.New(scripted.WithResponder(scripted.Demo()))),
		chatbox.WithAuthenticator(authn),
		chatbox.WithSystemPrompt("You are a helpful assistant."),
		chatbox.WithLogger(logger),
	)
	if err != nil {
		return nil, nil, err
	}
	page, err := widget.Handler(widget.Config{SocketURL: "/chat/ws", TokenURL: "/token", Title: "chatbox with PostgreSQL"})
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

func run(addr string) error {
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	openCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	st, ps, err := openStore(openCtx, os.Getenv)
	cancel()
	if err != nil {
		return err
	}
	defer ps.Close()

	chat, mux, err := newHandler(st, logger)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen on %s (try -addr 127.0.0.1:0): %w", addr, err)
	}
	hs := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	fmt.Printf("chatbox with PostgreSQL\n  open   http://%s/\n  token  %s\n", ln.Addr(), demoToken)

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
