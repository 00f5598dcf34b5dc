// Package router runs chatbox's live side: WebSocket connections, the
// fan-out of conversation events to every socket attached to a
// conversation, and generation jobs.
//
// A Router serves sockets handed to it by the root package after the HTTP
// upgrade. Each socket has a read loop (the caller's goroutine) and a writer
// goroutine; each generation is a job owned by the Router, not by a socket,
// so a disconnect does not stop it. Events travel from their producer to the
// sockets through a broker.Broker, which assigns sequence numbers.
package router

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/coder/websocket"

	"github.com/chatboxsdk/chatbox/auth"
	"github.com/chatboxsdk/chatbox/broker"
	"github.com/chatboxsdk/chatbox/metrics"
	"github.com/chatboxsdk/chatbox/notify"
	"github.com/chatboxsdk/chatbox/protocol"
	"github.com/chatboxsdk/chatbox/ratelimit"
	"github.com/chatboxsdk/chatbox/session"
	"github.com/chatboxsdk/chatbox/storage"
)

const closeSlowConsumer = protocol.CloseSlowConsumer

// closeGrace is how long sockets may take to receive their close frame once
// Shutdown's deadline has passed.
const closeGrace = 100 * time.Millisecond

// maxOpenPerSocket caps the conversations one socket may have open at once.
const maxOpenPerSocket = 32

// Config is everything a Router needs. The root package fills it from
// validated options; Router does not re-validate beyond nil checks.
type Config struct {
	Store         storage.Store
	Broker        broker.Broker
	Limiter       ratelimit.Limiter
	Authenticator auth.Authenticator
	Logger        *slog.Logger

	// Models is the registry, in the order clients see it; DefaultModel
	// must name one of them.
	Models       []Model
	DefaultModel string
	SystemPrompt string
	MaxTokens    int

	MaxFrameBytes      int
	MaxTextBytes       int
	MaxMetadataKeys    int
	MaxMetadataValue   int
	MaxQueueBytes      int
	MaxHistoryMessages int // history sent to the provider
	HistoryPageSize    int // messages in an opened frame

	WriteTimeout      time.Duration
	PingInterval      time.Duration
	HelloTimeout      time.Duration
	GenerationTimeout time.Duration
	// DeltaCoalesceInterval is how long a reply's text may gather before it
	// is published as one delta; 0 coalesces only what arrives while the
	// previous delta is being published.
	DeltaCoalesceInterval time.Duration
	StoreTimeout          time.Duration

	MessageLimit      ratelimit.Limit
	ConversationLimit ratelimit.Limit

	MaxSocketsPerUser     int // 0: unlimited
	MaxGenerationsPerUser int // 0: unlimited

	SessionTTL  time.Duration
	MaxSessions int

	// OperatorRoles are the identity roles that make an operator.
	OperatorRoles []string
	// HelpLimit bounds help requests per user.
	HelpLimit ratelimit.Limit
	// OperatorLimit bounds each operator's watch, takeover, release and
	// end frames.
	OperatorLimit ratelimit.Limit
	// Notifier is told about help requests; nil: nobody is. It must not
	// block (wrap a slow one in notify.Async).
	Notifier notify.Notifier
	// Metrics records what happens; nil records nothing.
	Metrics *metrics.Metrics

	Now func() time.Time
}

// Router serves sockets and runs generations.
type Router struct {
	cfg      Config
	models   *registry
	log      *slog.Logger
	sessions *session.Registry[*conversation]

	base       context.Context // parent of every socket and generation
	cancelBase context.CancelFunc
	genCtx     context.Context // cancelled (with errShutdown) when Shutdown's deadline wins
	cancelGen  context.CancelCauseFunc

	mu           sync.Mutex
	sockets      map[*socket]struct{}
	shuttingDown bool
	// Per-user counts of sockets and running generations; entries are
	// deleted at zero, so the maps hold only users with live activity.
	userSockets map[string]int
	userGens    map[string]int

	sockWG    sync.WaitGroup
	genWG     sync.WaitGroup
	janitorWG sync.WaitGroup
}

var (
	errStopped  = errors.New("stopped by the user")
	errShutdown = errors.New("server shutting down")
	errEnded    = errors.New("conversation ended")
)

// New builds a Router and starts its session janitor.
func New(cfg Config) (*Router, error) {
	if cfg.Store == nil || cfg.Broker == nil || cfg.Limiter == nil || cfg.Authenticator == nil {
		return nil, errors.New("router: store, broker, limiter and authenticator are required")
	}
	models := newRegistry(cfg.Models, cfg.DefaultModel)
	if len(cfg.Models) == 0 || !models.has(cfg.DefaultModel) {
		return nil, errors.New("router: the default model must be one of the models")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	reg, err := session.NewRegistry[*conversation](session.Config{
		IdleTTL:    cfg.SessionTTL,
		MaxEntries: cfg.MaxSessions,
		Now:        cfg.Now,
	})
	if err != nil {
		return nil, fmt.Errorf("router: %w", err)
	}
	r := &Router{
		cfg: cfg, models: models, log: cfg.Logger, sessions: reg, sockets: make(map[*socket]struct{}),
		userSockets: make(map[string]int), userGens: make(map[string]int),
	}
	r.base, r.cancelBase = context.WithCancel(context.Background())
	r.genCtx, r.cancelGen = context.WithCancelCause(r.base)
	r.janitorWG.Add(1)
	go func() {
		defer r.janitorWG.Done()
		interval := cfg.SessionTTL / 4
		if interval <= 0 || interval > time.Minute {
			interval = time.Minute
		}
		reg.Run(r.base, interval)
	}()
	return r, nil
}

// LiveConversations returns how many conversations have live state in
// memory.
func (r *Router) LiveConversations() int { return r.sessions.Len() }

// ActiveConversations returns how many conversations a socket or a running
// reply is attached to right now.
func (r *Router) ActiveConversations() int { return r.sessions.InUse() }

// ShuttingDown reports whether Shutdown has begun.
func (r *Router) ShuttingDown() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.shuttingDown
}

// Serve takes over one accepted socket and returns at once; the socket runs
// in a goroutine of the Router (awaited by Shutdown) until it closes.
// identity is the identity proven at upgrade, or nil when the client must
// authenticate with its first frame.
//
// Returning lets the HTTP handler's goroutine, whose stack grew through the
// upgrade, end: an idle socket then costs one small goroutine.
func (r *Router) Serve(conn *websocket.Conn, identity *auth.Identity) {
	s := newSocket(r, conn)
	if !r.track(s) {
		_ = conn.Close(websocket.StatusCode(protocol.CloseGoingAway), "server shutting down")
		return
	}
	r.cfg.Metrics.SocketOpened()
	go func() {
		defer r.untrack(s)
		s.run(identity)
	}()
}

func (r *Router) track(s *socket) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.shuttingDown {
		return false
	}
	r.sockets[s] = struct{}{}
	r.sockWG.Add(1)
	return true
}

func (r *Router) untrack(s *socket) {
	r.mu.Lock()
	delete(r.sockets, s)
	r.mu.Unlock()
	r.sockWG.Done()
}

// Shutdown stops the router: running generations may finish while ctx
// allows; those still running when it expires are cancelled and stored as
// interrupted; then every socket is closed with 1001 in parallel and the
// background work stops. It returns ctx.Err() if the deadline won. It is
// safe to call more than once.
func (r *Router) Shutdown(ctx context.Context) error {
	r.mu.Lock()
	r.shuttingDown = true
	r.mu.Unlock()

	gensDone := make(chan struct{})
	go func() { r.genWG.Wait(); close(gensDone) }()
	var deadlineErr error
	select {
	case <-gensDone:
	case <-ctx.Done():
		deadlineErr = ctx.Err()
		r.cancelGen(errShutdown)
		<-gensDone // generations persist their partial text with their own short timeout
	}

	r.mu.Lock()
	socks := make([]*socket, 0, len(r.sockets))
	for s := range r.sockets {
		socks = append(socks, s)
	}
	r.mu.Unlock()
	for _, s := range socks {
		s.out.close(protocol.CloseGoingAway, "server shutting down")
	}
	socksDone := make(chan struct{})
	go func() { r.sockWG.Wait(); close(socksDone) }()
	// Past the deadline, sockets still get a brief grace to receive their
	// close frame (a write of a few bytes) before they are dropped.
	graceCtx := ctx
	if ctx.Err() != nil {
		var cancel context.CancelFunc
		graceCtx, cancel = context.WithTimeout(context.Background(), closeGrace)
		defer cancel()
	}
	grace := graceCtx.Done()
	select {
	case <-socksDone:
	case <-grace:
		if deadlineErr == nil {
			deadlineErr = ctx.Err()
		}
		// Cancel the sockets' contexts too: a read loop waiting on host
		// code returns as soon as that code honours its context.
		r.cancelBase()
		for _, s := range socks {
			s.abort()
		}
		<-socksDone
	}
	r.cancelGen(errShutdown)
	r.cancelBase()
	r.janitorWG.Wait()
	return deadlineErr
}

// acquireUser counts one more socket for user, unless the user is at
// MaxSocketsPerUser.
func (r *Router) acquireUser(user string) bool {
	return r.acquireCount(r.userSockets, user, r.cfg.MaxSocketsPerUser)
}

func (r *Router) releaseUser(user string) { r.releaseCount(r.userSockets, user) }

func (r *Router) acquireCount(m map[string]int, user string, limit int) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if limit > 0 && m[user] >= limit {
		return false
	}
	m[user]++
	return true
}

func (r *Router) releaseCount(m map[string]int, user string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if m[user] <= 1 {
		delete(m, user)
		return
	}
	m[user]--
}
