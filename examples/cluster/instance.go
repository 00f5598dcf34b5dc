package main

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/chatboxsdk/chatbox"
	"github.com/chatboxsdk/chatbox/auth"
	redisbroker "github.com/chatboxsdk/chatbox/broker/redis"
	"github.com/chatboxsdk/chatbox/llm/scripted"
	redislimiter "github.com/chatboxsdk/chatbox/ratelimit/redis"
	"github.com/chatboxsdk/chatbox/storage"
	"github.com/chatboxsdk/chatbox/widget"
)

// The demo's tokens; a real host verifies its own (chatbox.WithJWT) and
// they are the same on every instance.
const (
	demoToken         = "demo-user-token"
	demoOperatorToken = "demo-operator-token"
)

// instanceConfig is what one instance needs; every instance of a cluster
// gets the same.
type instanceConfig struct {
	Redis  string        // host:port
	Store  storage.Store // shared by every instance
	Logger *slog.Logger
	// KeyPrefix, when set, starts the names of every Redis key and
	// channel (before the broker's and the limiter's own prefixes), so
	// several clusters can share one Redis.
	KeyPrefix string
	// WordDelay is the demo model's pause before each word; 0 means the
	// demo's own.
	WordDelay time.Duration
}

// instance is one chat Server with the Redis clients it shares state
// through, and the host's routes around it.
type instance struct {
	chat    *chatbox.Server
	broker  *redisbroker.Broker
	limiter *redislimiter.Limiter
	// handler serves:
	//
	//	/           the widget's chat page
	//	/operator   the operator console
	//	/chat/      the chat Server (WebSocket at /chat/ws, operator API
	//	            under /chat/admin/, health under /chat/health/)
	//	/token      the page's token endpoint
	handler http.Handler
}

func newInstance(cfg instanceConfig) (*instance, error) {
	in := &instance{}
	var err error
	in.broker, err = redisbroker.New(redisbroker.Config{Addr: cfg.Redis, KeyPrefix: cfg.KeyPrefix + redisbroker.DefaultKeyPrefix})
	if err != nil {
		return nil, err
	}
	// When Redis cannot answer, the limiter reports it and the Server
	// allows the event (see SECURITY.md); RefuseWhenUnavailable would deny.
	in.limiter, err = redislimiter.New(redislimiter.Config{Addr: cfg.Redis, KeyPrefix: cfg.KeyPrefix + redislimiter.DefaultKeyPrefix})
	if err != nil {
		_ = in.broker.Close()
		return nil, err
	}
	authn, err := auth.NewStaticTokens(map[string]auth.Identity{
		demoToken:         {UserID: "demo", Name: "Demo User"},
		demoOperatorToken: {UserID: "olivia", Name: "Olivia", Roles: []string{chatbox.DefaultOperatorRole}},
	})
	demo := scripted.Demo()
	if cfg.WordDelay > 0 {
		demo = scripted.DemoWithDelay(cfg.WordDelay)
	}
	if err == nil {
		in.chat, err = chatbox.New(
			chatbox.WithStore(cfg.Store),
			chatbox.WithBroker(in.broker),
			chatbox.WithLimiter(in.limiter),
			chatbox.WithLLM(scripted.New(scripted.WithResponder(demo))),
			chatbox.WithAuthenticator(authn),
			chatbox.WithSystemPrompt("You are a helpful assistant."),
			chatbox.WithLogger(cfg.Logger),
		)
	}
	if err != nil {
		return nil, errors.Join(err, in.broker.Close(), in.limiter.Close())
	}
	page, err := widget.Handler(widget.Config{SocketURL: "/chat/ws", TokenURL: "/token", AdminURL: "/chat/admin/", Title: "chatbox cluster"})
	if err != nil {
		return nil, errors.Join(err, in.close(context.Background()))
	}
	mux := http.NewServeMux()
	mux.Handle("/chat/", http.StripPrefix("/chat", in.chat))
	mux.HandleFunc("GET /token", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		_ = json.NewEncoder(w).Encode(map[string]string{"token": demoToken})
	})
	mux.Handle("/", page)
	in.handler = mux
	return in, nil
}

// close shuts the chat Server down within ctx, then closes the Redis
// clients (the Server closes only what it created itself).
func (in *instance) close(ctx context.Context) error {
	err := in.chat.Shutdown(ctx)
	return errors.Join(err, in.broker.Close(), in.limiter.Close())
}
