package redis_test

import (
	"crypto/rand"
	"strings"
	"testing"

	"go.uber.org/goleak"

	"github.com/chatboxsdk/chatbox/broker"
	"github.com/chatboxsdk/chatbox/broker/brokertest"
	redisbroker "github.com/chatboxsdk/chatbox/broker/redis"
	"github.com/chatboxsdk/chatbox/broker/redis/redistest"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// newBroker returns a broker on addr, closed at the end of the test, with a
// connection name of its own.
func newBroker(t testing.TB, addr string, cfg redisbroker.Config) *redisbroker.Broker {
	t.Helper()
	cfg.Addr = addr
	if cfg.ConnectionName == "" {
		cfg.ConnectionName = "brokertest-" + rand.Text()[:10]
	}
	if cfg.KeyPrefix == "" {
		cfg.KeyPrefix = "chatbox-test:" + rand.Text()[:8] + ":"
	}
	b, err := redisbroker.New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { _ = b.Close() })
	return b
}

func TestConformance(t *testing.T) {
	addr := redistest.Addr(t)
	prefix := "chatbox-test:" + rand.Text()[:8] + ":"
	names := map[broker.Broker]string{}
	newShared := func(t *testing.T) broker.Broker {
		name := "brokertest-" + rand.Text()[:10]
		b := newBroker(t, addr, redisbroker.Config{KeyPrefix: prefix, ConnectionName: name})
		names[b] = name
		return b
	}
	brokertest.RunWith(t, newShared, brokertest.Options{
		Shared: true,
		Restartable: func(t *testing.T) (func(*testing.T) broker.Broker, func(*testing.T)) {
			srv := redistest.Start(t)
			return func(t *testing.T) broker.Broker {
				return newBroker(t, srv.Addr, redisbroker.Config{})
			}, func(t *testing.T) { srv.Restart(t) }
		},
		DropConnection: func(t *testing.T, b broker.Broker) {
			if n := redistest.KillClients(t, addr, names[b]); n != 1 {
				t.Fatalf("killed %d connections named %s, want its one pub/sub connection", n, names[b])
			}
		},
	})
}

func TestNewReportsEveryProblem(t *testing.T) {
	_, err := redisbroker.New(redisbroker.Config{MaxReplayEvents: -1, ReplayTTL: -1, SubscribeTimeout: -1})
	if err == nil {
		t.Fatal("New accepted an invalid config")
	}
	for _, want := range []string{"exactly one of Client and Addr", "MaxReplayEvents", "ReplayTTL", "SubscribeTimeout"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %s", err, want)
		}
	}
	_, err = redisbroker.New(redisbroker.Config{Addr: "x", ReplayTTL: 2 * 60e9, NumberingTTL: 60e9})
	if err == nil || !strings.Contains(err.Error(), "NumberingTTL") {
		t.Fatalf("New accepted NumberingTTL below ReplayTTL: %v", err)
	}
}
