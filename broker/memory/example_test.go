package memory_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/chatboxsdk/chatbox/broker"
	"github.com/chatboxsdk/chatbox/broker/memory"
)

// A subscriber attached at LastSeq receives every event published after it,
// and the ephemeral signals sent while it is attached.
func Example() {
	b, err := memory.New(memory.Config{})
	if err != nil {
		panic(err)
	}
	defer b.Close()
	ctx := context.Background()

	// Numbers start from a time-based base; the example prints them
	// relative to it.
	base, _ := b.LastSeq(ctx, "conversation-1")
	sub, err := b.Subscribe(ctx, "conversation-1", base, func(ev broker.Event) {
		// Must not block: a real subscriber enqueues the bytes for its socket.
		if ev.Seq == 0 {
			fmt.Printf("signal: %s\n", ev.Data)
			return
		}
		fmt.Printf("event base+%d: %s\n", ev.Seq-base, ev.Data)
	})
	if err != nil {
		panic(err)
	}
	defer sub.Close()

	for _, text := range []string{"hello", "world"} {
		_, err := b.Publish(ctx, "conversation-1", func(seq int64) ([]byte, error) {
			// Encoded once, with its number; every subscriber gets these bytes.
			return fmt.Appendf(nil, "%q", text), nil
		})
		if err != nil {
			panic(err)
		}
	}
	_ = b.Signal(ctx, "conversation-1", []byte("typing"))
	// Output:
	// event base+1: "hello"
	// event base+2: "world"
	// signal: typing
}

// A reconnecting client resumes from the last number it saw and receives
// exactly what it missed; a number outside the replay window means it must
// reload the conversation instead.
func Example_resume() {
	b, err := memory.New(memory.Config{MaxReplayEvents: 3})
	if err != nil {
		panic(err)
	}
	defer b.Close()
	ctx := context.Background()

	var seqs []int64
	for i := range 5 {
		seq, _ := b.Publish(ctx, "conversation-1", func(int64) ([]byte, error) {
			return fmt.Appendf(nil, "message %d", i+1), nil
		})
		seqs = append(seqs, seq)
	}

	// Last seen: message 3. Messages 4 and 5 are replayed before Subscribe
	// returns, then live events follow.
	sub, err := b.Subscribe(ctx, "conversation-1", seqs[2], func(ev broker.Event) {
		fmt.Printf("replayed %s\n", ev.Data)
	})
	if err != nil {
		panic(err)
	}
	sub.Close()

	// Last seen: message 1. The window holds only the 3 newest events.
	_, err = b.Subscribe(ctx, "conversation-1", seqs[0], func(broker.Event) {})
	if errors.Is(err, broker.ErrReplayUnavailable) {
		fmt.Println("reload from the store")
	}
	// Output:
	// replayed message 4
	// replayed message 5
	// reload from the store
}
