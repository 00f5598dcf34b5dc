package redis

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/redis/rueidis"

	"github.com/chatboxsdk/chatbox/broker"
)

// Defaults applied to zero fields of Config.
const (
	DefaultKeyPrefix              = "chatbox:broker:"
	DefaultMaxReplayEvents        = 2048
	DefaultMaxReplayBytes         = 1 << 20
	DefaultReplayTTL              = 10 * time.Minute
	DefaultNumberingTTL           = 24 * time.Hour
	DefaultMaxCachedConversations = 100_000
	DefaultSubscribeTimeout       = 5 * time.Second
	DefaultReconnectInterval      = 100 * time.Millisecond
	DefaultConnectionName         = "chatbox-broker"
)

// Config configures a Broker. Exactly one of Client and Addr is set. A zero
// field means its default; a negative one is an error.
type Config struct {
	// Client is a client the host owns; Close does not close it. The
	// broker is tested against a standalone Redis.
	Client rueidis.Client
	// Addr is the address (host:port) of a Redis 7 for which New creates a
	// client that Close closes.
	Addr string
	// KeyPrefix starts every key and channel name. Default
	// DefaultKeyPrefix.
	KeyPrefix string
	// MaxReplayEvents is the most events a conversation's replay window
	// holds, and the most live events a subscription holds while it catches
	// up. Default DefaultMaxReplayEvents (2048).
	MaxReplayEvents int
	// MaxReplayBytes is the most event data a replay window holds; an event
	// larger than this is delivered but not held. Default
	// DefaultMaxReplayBytes (1 MiB).
	MaxReplayBytes int
	// ReplayTTL: a replay window expires this long after the last publish.
	// Default DefaultReplayTTL (10 minutes).
	ReplayTTL time.Duration
	// NumberingTTL: a conversation's numbering expires this long after its
	// last use; it is then restarted in a new epoch. At least ReplayTTL.
	// Default DefaultNumberingTTL (24 hours).
	NumberingTTL time.Duration
	// MaxCachedConversations caps the conversations whose last number this
	// instance caches for publishing. Default
	// DefaultMaxCachedConversations (100,000).
	MaxCachedConversations int
	// SubscribeTimeout bounds how long Subscribe waits for the pub/sub
	// connection to confirm the conversation's channel, within ctx.
	// Default DefaultSubscribeTimeout (5 seconds).
	SubscribeTimeout time.Duration
	// ReconnectInterval is the pause between attempts to restore the
	// pub/sub connection. Default DefaultReconnectInterval (100 ms).
	ReconnectInterval time.Duration
	// ConnectionName names the pub/sub connection (CLIENT SETNAME), so it
	// can be told apart in CLIENT LIST. Default DefaultConnectionName.
	ConnectionName string
}

func (cfg Config) withDefaults() (Config, error) {
	var errs []error
	if (cfg.Client == nil) == (cfg.Addr == "") {
		errs = append(errs, errors.New("broker/redis: exactly one of Client and Addr must be set"))
	}
	for _, f := range []struct {
		name string
		v    int64
	}{
		{"MaxReplayEvents", int64(cfg.MaxReplayEvents)},
		{"MaxReplayBytes", int64(cfg.MaxReplayBytes)},
		{"ReplayTTL", int64(cfg.ReplayTTL)},
		{"NumberingTTL", int64(cfg.NumberingTTL)},
		{"MaxCachedConversations", int64(cfg.MaxCachedConversations)},
		{"SubscribeTimeout", int64(cfg.SubscribeTimeout)},
		{"ReconnectInterval", int64(cfg.ReconnectInterval)},
	} {
		if f.v < 0 {
			errs = append(errs, fmt.Errorf("broker/redis: %s must not be negative, got %d", f.name, f.v))
		}
	}
	def := func(p *int, d int) {
		if *p == 0 {
			*p = d
		}
	}
	defDur := func(p *time.Duration, d time.Duration) {
		if *p == 0 {
			*p = d
		}
	}
	def(&cfg.MaxReplayEvents, DefaultMaxReplayEvents)
	def(&cfg.MaxReplayBytes, DefaultMaxReplayBytes)
	def(&cfg.MaxCachedConversations, DefaultMaxCachedConversations)
	defDur(&cfg.ReplayTTL, DefaultReplayTTL)
	defDur(&cfg.NumberingTTL, DefaultNumberingTTL)
	defDur(&cfg.SubscribeTimeout, DefaultSubscribeTimeout)
	defDur(&cfg.ReconnectInterval, DefaultReconnectInterval)
	if cfg.KeyPrefix == "" {
		cfg.KeyPrefix = DefaultKeyPrefix
	}
	if cfg.ConnectionName == "" {
		cfg.ConnectionName = DefaultConnectionName
	}
	if cfg.NumberingTTL < cfg.ReplayTTL && cfg.NumberingTTL > 0 && cfg.ReplayTTL > 0 {
		errs = append(errs, fmt.Errorf("broker/redis: NumberingTTL %v is shorter than ReplayTTL %v", cfg.NumberingTTL, cfg.ReplayTTL))
	}
	return cfg, errors.Join(errs...)
}

// Broker is the Redis broker.Broker. Create it with New.
type Broker struct {
	cfg    Config // immutable after New
	client rueidis.Client
	owned  bool // client was created by New

	ctx    context.Context // cancelled by Close
	cancel context.CancelFunc
	wg     sync.WaitGroup
	kick   chan struct{} // wakes the connection owner to reconcile channels
	wake   chan struct{} // wakes the catch-up worker

	mu      sync.Mutex
	closed  bool
	chans   map[string]*channel  // by channel name
	pubs    map[string]*pubState // by conversation
	catchUp []*subscription      // subscriptions waiting to catch up
	dirty   map[string]struct{}  // channels the connection owner must reconcile
}

var _ broker.Broker = (*Broker)(nil)

// New returns a Broker configured by cfg, or the joined list of cfg's
// problems. With Addr it connects first and fails if Redis cannot be
// reached. It starts the pub/sub connection in the background.
func New(cfg Config) (*Broker, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	b := &Broker{
		cfg:    cfg,
		client: cfg.Client,
		kick:   make(chan struct{}, 1),
		wake:   make(chan struct{}, 1),
		chans:  make(map[string]*channel),
		pubs:   make(map[string]*pubState),
		dirty:  make(map[string]struct{}),
	}
	if b.client == nil {
		b.client, err = rueidis.NewClient(rueidis.ClientOption{InitAddress: []string{cfg.Addr}, DisableCache: true})
		if err != nil {
			return nil, fmt.Errorf("broker/redis: connect to %s: %w", cfg.Addr, err)
		}
		b.owned = true
	}
	b.ctx, b.cancel = context.WithCancel(context.Background())
	b.wg.Add(2)
	go b.runConnection()
	go b.runCatchUp()
	return b, nil
}

// Close stops the pub/sub connection and ends every subscription without a
// notice: once it returns no deliver function is called again. It closes the
// client New created, not one passed in Config.Client. Later calls return
// broker.ErrClosed; Close itself is idempotent and returns nil.
func (b *Broker) Close() error {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return nil
	}
	b.closed = true
	var subs []*subscription
	for _, ch := range b.chans {
		subs = append(subs, ch.subs...)
	}
	b.chans = map[string]*channel{}
	b.dirty = map[string]struct{}{}
	b.catchUp = nil
	b.mu.Unlock()
	b.cancel()
	b.wg.Wait()
	for _, s := range subs {
		s.mu.Lock()
		s.ended = true
		s.mu.Unlock()
	}
	if b.owned {
		b.client.Close()
	}
	return nil
}

func (b *Broker) checkOpen(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return broker.ErrClosed
	}
	return nil
}

// keys returns the numbering hash, the window list and the channel of a
// conversation.
func (b *Broker) keys(conversationID string) (meta, list, channel string) {
	tag := b.cfg.KeyPrefix + "{" + conversationID + "}"
	return tag + ":n", tag + ":w", tag + ":c"
}

func signal(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}
