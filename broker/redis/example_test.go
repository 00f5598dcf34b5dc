package redis_test

import (
	"context"
	"errors"
	"fmt"
	"log"

	"github.com/chatboxsdk/chatbox/broker"
	redisbroker "github.com/chatboxsdk/chatbox/broker/redis"
)

// Every instance creates its broker on the same Redis; a conversation's
// numbers, replay and fan-out are then shared (pass it with
// chatbox.WithBroker). A subscription that cannot be kept gap-free ends with
// a notice telling the subscriber to reload from the store.
func Example() {
	b, err := redisbroker.New(redisbroker.Config{Addr: "127.0.0.1:6379"})
	if err != nil {
		log.Fatal(err)
	}
	defer b.Close()

	ctx := context.Background()
	last, err := b.LastSeq(ctx, "conversation-1")
	if err != nil {
		log.Fatal(err)
	}
	sub, err := b.Subscribe(ctx, "conversation-1", last, func(ev broker.Event) {
		if errors.Is(ev.Err, broker.ErrReplayUnavailable) {
			fmt.Println("missed events: reload the conversation and subscribe again")
			return
		}
		fmt.Printf("event %d: %s\n", ev.Seq, ev.Data)
	})
	if err != nil {
		log.Fatal(err)
	}
	defer sub.Close()

	if _, err := b.Publish(ctx, "conversation-1", func(seq int64) ([]byte, error) {
		return fmt.Appendf(nil, `{"type":"delta","seq":%d}`, seq), nil
	}); err != nil {
		log.Fatal(err)
	}
}
