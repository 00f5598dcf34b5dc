package chatbox_test

import (
	"context"
	"crypto/rand"
	"net"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chatboxsdk/chatbox"
	"github.com/chatboxsdk/chatbox/auth"
	redisbroker "github.com/chatboxsdk/chatbox/broker/redis"
	"github.com/chatboxsdk/chatbox/broker/redis/redistest"
	"github.com/chatboxsdk/chatbox/chatboxtest"
	"github.com/chatboxsdk/chatbox/client"
	"github.com/chatboxsdk/chatbox/llm"
	redislimiter "github.com/chatboxsdk/chatbox/ratelimit/redis"
	"github.com/chatboxsdk/chatbox/storage/memory"
)

// clusterConfig adjusts a cluster of Server instances.
type clusterConfig struct {
	// Instances is how many Servers run; default 3.
	Instances int
	// RedisAddr is the Redis they share; default the test run's
	// (CHATBOX_TEST_REDIS_ADDR).
	RedisAddr string
	// Provider answers on every instance.
	Provider llm.Provider
	// Options are passed to every instance after the cluster's own.
	Options []chatbox.Option
}

// cluster is several Server instances sharing one Redis (broker and
// limiter) and one store, each on its own httptest server, as a deployment
// behind a load balancer would run them.
type cluster struct {
	store     *memory.Store
	redisAddr string
	prefix    string // keys of this cluster only, so tests sharing a Redis never meet
	nodes     []*clusterNode
	next      atomic.Uint32 // the round-robin dialer's position
}

// clusterNode is one instance.
type clusterNode struct {
	name    string
	server  *chatbox.Server
	http    *httptest.Server
	url     string // ws:// address of the socket endpoint
	broker  *redisbroker.Broker
	limiter *redislimiter.Limiter
	conns   *trackingListener
}

// newCluster starts the instances; they are closed when the test ends.
func newCluster(t *testing.T, cfg clusterConfig) *cluster {
	t.Helper()
	if cfg.Instances == 0 {
		cfg.Instances = 3
	}
	if cfg.RedisAddr == "" {
		cfg.RedisAddr = redistest.Addr(t)
	}
	cl := &cluster{store: memory.New(), redisAddr: cfg.RedisAddr, prefix: "chatbox-cluster-test:" + rand.Text() + ":"}
	authn := clusterTokens(t)
	for i := range cfg.Instances {
		n := &clusterNode{name: string(rune('A' + i))}
		var err error
		n.broker, err = redisbroker.New(redisbroker.Config{Addr: cfg.RedisAddr, KeyPrefix: cl.prefix + "broker:",
			ReconnectInterval: 20 * time.Millisecond, ConnectionName: "chatbox-cluster-" + n.name})
		if err != nil {
			t.Fatalf("instance %s: broker: %v", n.name, err)
		}
		t.Cleanup(func() { _ = n.broker.Close() })
		n.limiter, err = redislimiter.New(redislimiter.Config{Addr: cfg.RedisAddr, KeyPrefix: cl.prefix + "rl:"})
		if err != nil {
			t.Fatalf("instance %s: limiter: %v", n.name, err)
		}
		t.Cleanup(func() { _ = n.limiter.Close() })
		opts := append([]chatbox.Option{
			chatbox.WithStore(cl.store), chatbox.WithLLM(cfg.Provider), chatbox.WithAuthenticator(authn),
			chatbox.WithBroker(n.broker), chatbox.WithLimiter(n.limiter),
		}, cfg.Options...)
		n.server, err = chatbox.New(opts...)
		if err != nil {
			t.Fatalf("instance %s: %v", n.name, err)
		}
		n.http = httptest.NewUnstartedServer(n.server)
		n.conns = &trackingListener{Listener: n.http.Listener, conns: map[net.Conn]struct{}{}}
		n.http.Listener = n.conns
		n.http.Start()
		n.url = "ws" + strings.TrimPrefix(n.http.URL, "http") + "/ws"
		// Cleanups run last-in first-out: the Server closes before its
		// broker and limiter.
		t.Cleanup(func() {
			_ = n.server.Close()
			n.conns.closeAll()
			n.http.Close()
		})
		cl.nodes = append(cl.nodes, n)
	}
	return cl
}

// clusterTokens knows the harness users and operators (token "token-"+name).
func clusterTokens(t *testing.T) auth.Authenticator {
	t.Helper()
	ids := map[string]auth.Identity{}
	for _, u := range chatboxtest.Users {
		ids[chatboxtest.Token(u)] = auth.Identity{UserID: u}
	}
	for _, u := range chatboxtest.Operators {
		ids[chatboxtest.Token(u)] = auth.Identity{UserID: u, Name: u, Roles: []string{chatbox.DefaultOperatorRole}}
	}
	a, err := auth.NewStaticTokens(ids)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// dial connects user to the next instance, round robin, as a load balancer
// without stickiness would; it returns the client and the instance's index.
func (cl *cluster) dial(t *testing.T, user string) (*client.Client, int) {
	t.Helper()
	i := int(cl.next.Add(1)-1) % len(cl.nodes)
	return cl.dialOn(t, i, user), i
}

// dialOn connects user to instance i; the client is closed when the test
// ends.
func (cl *cluster) dialOn(t *testing.T, i int, user string) *client.Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := client.Dial(ctx, cl.nodes[i].url, client.Options{Token: chatboxtest.Token(user)})
	if err != nil {
		t.Fatalf("dial %s on instance %s: %v", user, cl.nodes[i].name, err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// kill cuts instance i off as a crash would, without Shutdown: its Redis
// connections (broker and limiter) and every connection it accepted are
// closed and it accepts no more; whatever it was running (a reply whose
// provider blocks, say) is left where it was. The Server itself is closed
// when the test ends.
func (cl *cluster) kill(i int) {
	n := cl.nodes[i]
	_ = n.broker.Close()
	_ = n.limiter.Close()
	n.conns.closeAll()
}

// trackingListener remembers the connections it accepted, so a test can
// sever them all: httptest forgets a connection once it is hijacked for a
// WebSocket.
type trackingListener struct {
	net.Listener
	mu     sync.Mutex
	closed bool
	conns  map[net.Conn]struct{}
}

func (l *trackingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		_ = c.Close()
		return nil, net.ErrClosed
	}
	l.conns[c] = struct{}{}
	return c, nil
}

// closeAll closes the listener and every connection it accepted.
func (l *trackingListener) closeAll() {
	l.mu.Lock()
	l.closed = true
	conns := l.conns
	l.conns = map[net.Conn]struct{}{}
	l.mu.Unlock()
	_ = l.Listener.Close()
	for c := range conns {
		_ = c.Close()
	}
}
