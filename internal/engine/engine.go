// Package engine runs chatbox's live side on one instance: sockets, the live
// conversations they attach to, and the replies being generated.
//
// # How a message flows
//
// A user's send passes these types and files, in this order:
//
//  1. read (socket.go): the socket's read loop reads one WebSocket message,
//     decodes it (protocol.Decode) and queues it on the socket's inbox
//     (inbox.go); the loop goes straight back to reading, so pongs are
//     read while the store is slow.
//  2. dispatch (dispatch.go): the inbox's worker takes the frames one at a
//     time, in order, and calls the handler of the frame type; a handler
//     checks what belongs to the socket (attached? budget? role?) and acts
//     on the conversation, the one owner of its live state
//     (conversation.go).
//  3. accept and store (send.go): the send claims the conversation (one
//     reply at a time here, and across instances through the reply's lease,
//     lease.go), takes a place among the user's running replies
//     (places.go), reads the store once for the mode, and stores the
//     message (idempotently, by the client's id) before it is acknowledged.
//  4. publish (conversation.go): events go through the broker, which
//     numbers them; the conversation's one broker subscription (its feed)
//     delivers them to every socket attached on this instance, as the same
//     encoded bytes. A socket attaches with open, watch or resume
//     (attach.go), catching up from the broker's replay window.
//  5. generate (generation.go): the reply is a job of the Engine, not of a
//     socket, run by one of the Engine's reply workers (workers.go). It
//     stores the reply row, loads the history and streams from the model's
//     provider, with its fallbacks (modelset.go, stream.go).
//  6. stream (pump.go): text goes through the reply's pump, which coalesces
//     what arrives while a delta is being published; each socket's writer
//     (outbox.go, writer.go), started when there is something to send,
//     sends what is queued for it as one WebSocket message.
//  7. finish (generation.go): the reply's row is completed with its finish
//     reason, the conversation and its lease are released, and reply.end is
//     published.
//
// A reply runs in steps (steps.go): when the model asks for tool calls,
// they are stored, run at most MaxParallelTools at a time (toolrun.go) and
// their results given back to the model. A call that needs approval pauses
// the reply (approval.go): stored as awaiting_approval, resumed by the
// answer or the expiry on whatever instance gets it. A user with a budget
// has the reply's most reserved before it starts and its usage recorded
// when it ends (budget.go).
//
// Stop, takeover and end reach a reply running on another instance, and
// typing reaches every socket but its sender, as control events on the
// conversation's feed (control.go, lifecycle.go, operator.go).
package engine

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/coder/websocket"

	"github.com/chatboxsdk/chatbox/auth"
	"github.com/chatboxsdk/chatbox/internal/access"
	"github.com/chatboxsdk/chatbox/internal/conf"
	"github.com/chatboxsdk/chatbox/internal/registry"
	"github.com/chatboxsdk/chatbox/protocol"
)

// closeGrace is how long sockets may take to receive their close frame once
// Shutdown's deadline has passed.
const closeGrace = 100 * time.Millisecond

// maxOpenPerSocket caps the conversations one socket may have open at once.
const maxOpenPerSocket = 32

// Engine serves sockets and runs replies.
type Engine struct {
	cfg      *conf.Config
	models   *modelSet
	log      *slog.Logger
	verifier access.Verifier
	limits   protocol.DecodeLimits
	convs    *registry.Registry[*conversation]

	base       context.Context // parent of every socket and reply
	cancelBase context.CancelFunc
	genCtx     context.Context // cancelled (with errShutdown) when Shutdown's deadline wins
	cancelGen  context.CancelCauseFunc

	mu           sync.Mutex
	sockets      map[*socket]struct{}
	shuttingDown bool
	// Per-user counts of sockets and running replies; entries are deleted
	// at zero, so the maps hold only users with live activity.
	userSockets map[string]int
	userGens    map[string]int
	// leased holds the leases this engine renews, each with what to do if
	// it is lost (lease.go).
	leased      map[leaseRef]func()
	addrSockets map[string]int // per client address, when capped
	// expiries holds a timer per reply waiting for approvals here.
	expiries map[string]*time.Timer

	sockWG    sync.WaitGroup
	genWG     sync.WaitGroup
	replies   *workers  // run the reply jobs counted by genWG
	pumpBufs  sync.Pool // of *pumpBuffers, reused from reply to reply
	janitorWG sync.WaitGroup
	readBufs  sync.Pool // of *bytes.Buffer, lent to read inbound frames (readBuf)

	// strayWG counts tools still running after their call timed out
	// (they ignore their context); Shutdown waits for them within its
	// deadline.
	strayWG      sync.WaitGroup
	straysClosed bool // Shutdown waits for strayWG: no more are counted (e.mu)
}

// New builds an Engine from a validated, completed configuration and starts
// its janitor, which evicts idle conversations.
func New(cfg *conf.Config) (*Engine, error) {
	if cfg.Store == nil || cfg.Broker == nil || cfg.Limiter == nil || cfg.Authenticator == nil || cfg.Logger == nil || cfg.Now == nil {
		return nil, errors.New("engine: store, broker, limiter, authenticator, logger and clock are required")
	}
	models := newModelSet(cfg.Models, cfg.DefaultModel, cfg.Metrics)
	if !models.has(cfg.DefaultModel) {
		return nil, errors.New("engine: the default model must be one of the models")
	}
	reg, err := registry.NewRegistry[*conversation](registry.Config{
		IdleTTL: cfg.SessionTTL, MaxEntries: cfg.MaxSessions, Now: cfg.Now,
	})
	if err != nil {
		return nil, err
	}
	e := &Engine{
		cfg: cfg, models: models, log: cfg.Logger, convs: reg, sockets: make(map[*socket]struct{}),
		verifier: access.Verifier{Authenticator: cfg.Authenticator, Timeout: cfg.StoreTimeout, Now: cfg.Now, Logger: cfg.Logger},
		limits: protocol.DecodeLimits{
			MaxTextBytes: cfg.MaxTextBytes, MaxMetadataKeys: cfg.MaxMetadataEntries, MaxMetadataValueBytes: cfg.MaxMetadataValueBytes,
		},
		userSockets: make(map[string]int), userGens: make(map[string]int), leased: make(map[leaseRef]func()), addrSockets: make(map[string]int),
		expiries: make(map[string]*time.Timer), replies: newWorkers(),
	}
	e.base, e.cancelBase = context.WithCancel(context.Background())
	e.genCtx, e.cancelGen = context.WithCancelCause(e.base)
	e.janitorWG.Add(1)
	go func() {
		defer e.janitorWG.Done()
		interval := cfg.SessionTTL / 4
		if interval <= 0 || interval > time.Minute {
			interval = time.Minute
		}
		reg.Run(e.base, interval)
	}()
	if cfg.Blobs != nil {
		e.janitorWG.Add(1)
		go func() {
			defer e.janitorWG.Done()
			e.sweepUnsentFiles()
		}()
	}
	if l := e.leases(); l != nil {
		e.janitorWG.Add(2)
		go func() {
			defer e.janitorWG.Done()
			e.sweepLapsedReplies(l)
		}()
		go func() {
			defer e.janitorWG.Done()
			e.renewLeases(l)
		}()
	}
	return e, nil
}

// LiveConversations returns how many conversations have live state in
// memory.
func (e *Engine) LiveConversations() int { return e.convs.Len() }

// ActiveConversations returns how many conversations a socket or a running
// reply is attached to right now.
func (e *Engine) ActiveConversations() int { return e.convs.InUse() }

// ShuttingDown reports whether Shutdown has begun.
func (e *Engine) ShuttingDown() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.shuttingDown
}

// AcquireAddress counts one more socket for a client address, unless the
// address already has MaxSocketsPerAddress open (0: unlimited). The
// returned release gives it back; it may be called more than once.
func (e *Engine) AcquireAddress(addr string) (release func(), ok bool) {
	limit := e.cfg.MaxSocketsPerAddress
	if limit <= 0 {
		return func() {}, true
	}
	if !e.acquireCount(e.addrSockets, addr, limit) {
		return nil, false
	}
	return sync.OnceFunc(func() { e.releaseCount(e.addrSockets, addr) }), true
}

// Serve takes over one accepted socket and returns at once; the socket runs
// in a goroutine of the Engine (awaited by Shutdown) until it closes.
// identity is the identity proven at upgrade, or nil when the client must
// authenticate with its first frame. done, when not nil, is called once the
// socket has ended (it releases the socket's address, AcquireAddress).
//
// Returning lets the HTTP handler's goroutine, whose stack grew through the
// upgrade, end: an idle socket then costs one small goroutine.
func (e *Engine) Serve(conn *websocket.Conn, identity *auth.Identity, done func()) {
	if done == nil {
		done = func() {}
	}
	s := newSocket(e, conn)
	if !e.track(s) {
		_ = conn.Close(websocket.StatusCode(protocol.CloseGoingAway), "server shutting down")
		done()
		return
	}
	e.cfg.Metrics.SocketOpened()
	go func() {
		defer e.untrack(s)
		defer done() // first: the address is free before Shutdown can return
		s.run(identity)
	}()
}

func (e *Engine) track(s *socket) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.shuttingDown {
		return false
	}
	e.sockets[s] = struct{}{}
	e.sockWG.Add(1)
	return true
}

func (e *Engine) untrack(s *socket) {
	e.mu.Lock()
	delete(e.sockets, s)
	e.mu.Unlock()
	e.sockWG.Done()
}

// Shutdown stops the engine: running replies may finish while ctx allows;
// those still running when it expires are cancelled and stored as
// interrupted; then every socket is closed with 1001 in parallel and the
// background work stops. It returns ctx.Err() if the deadline won. It is
// safe to call more than once.
func (e *Engine) Shutdown(ctx context.Context) error {
	e.mu.Lock()
	e.shuttingDown = true
	e.mu.Unlock()
	e.stopExpiries()

	gensDone := make(chan struct{})
	go func() { e.genWG.Wait(); close(gensDone) }()
	var deadlineErr error
	select {
	case <-gensDone:
	case <-ctx.Done():
		deadlineErr = ctx.Err()
		e.cancelGen(errShutdown)
		<-gensDone // replies persist their partial text with their own short timeout
	}

	e.mu.Lock()
	socks := make([]*socket, 0, len(e.sockets))
	for s := range e.sockets {
		socks = append(socks, s)
	}
	e.mu.Unlock()
	for _, s := range socks {
		s.out.close(protocol.CloseGoingAway, "server shutting down")
	}
	socksDone := make(chan struct{})
	go func() { e.sockWG.Wait(); close(socksDone) }()
	// Past the deadline, sockets still get a brief grace to receive their
	// close frame (a write of a few bytes) before they are dropped.
	graceCtx := ctx
	if ctx.Err() != nil {
		var cancel context.CancelFunc
		graceCtx, cancel = context.WithTimeout(context.Background(), closeGrace)
		defer cancel()
	}
	select {
	case <-socksDone:
	case <-graceCtx.Done():
		if deadlineErr == nil {
			deadlineErr = ctx.Err()
		}
		// Cancel the sockets' contexts too: a frame waiting on host code
		// returns as soon as that code honours its context.
		e.cancelBase()
		for _, s := range socks {
			s.abort()
		}
		<-socksDone
	}
	e.cancelGen(errShutdown)
	e.cancelBase()
	e.janitorWG.Wait()
	e.replies.stop() // every reply job has ended (genWG)
	e.mu.Lock()
	e.straysClosed = true
	e.mu.Unlock()
	if !waitGroup(ctx, &e.strayWG) && deadlineErr == nil {
		deadlineErr = ctx.Err() // a tool that ignores its context still runs
	}
	return deadlineErr
}

// waitGroup waits for wg until ctx ends; it reports whether wg finished.
func waitGroup(ctx context.Context, wg *sync.WaitGroup) bool {
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
		return true
	case <-ctx.Done():
		return false
	}
}

// acquireCount counts one more for user in m unless the user is at limit
// (0: unlimited).
func (e *Engine) acquireCount(m map[string]int, user string, limit int) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	if limit > 0 && m[user] >= limit {
		return false
	}
	m[user]++
	return true
}

func (e *Engine) releaseCount(m map[string]int, user string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if m[user] <= 1 {
		delete(m, user)
		return
	}
	m[user]--
}

// persistCtx bounds a store write that must happen even when ctx was
// cancelled (the end of a stopped reply, an audit entry).
func (e *Engine) persistCtx(ctx context.Context) (context.Context, context.CancelFunc) {
	return withDeadline(context.WithoutCancel(ctx), e.cfg.StoreTimeout)
}
