package memory_test

import (
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/chatboxsdk/chatbox/broker"
	"github.com/chatboxsdk/chatbox/broker/brokertest"
	"github.com/chatboxsdk/chatbox/broker/memory"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func TestConformance(t *testing.T) {
	brokertest.Run(t, func(t *testing.T) broker.Broker {
		return newBroker(t, memory.Config{})
	})
}

// newBroker returns a broker closed at the end of the test.
func newBroker(t testing.TB, cfg memory.Config) *memory.Broker {
	t.Helper()
	b, err := memory.New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { _ = b.Close() })
	return b
}

// fakeClock is a clock that moves only when told to.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// counter is a DeliverFunc target that records numbers of events.
type counter struct {
	mu   sync.Mutex
	seqs []int64
}

func (c *counter) deliver(ev broker.Event) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.seqs = append(c.seqs, ev.Seq)
}

func (c *counter) got() []int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]int64(nil), c.seqs...)
}

// run returns the numbers from..to (empty, not nil, if to < from).
func run(from, to int64) []int64 {
	s := []int64{}
	for n := from; n <= to; n++ {
		s = append(s, n)
	}
	return s
}

func data(seq int64) ([]byte, error) { return []byte{byte(seq)}, nil }
