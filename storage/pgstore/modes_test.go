package pgstore_test

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/chatboxsdk/chatbox/storage"
	"github.com/chatboxsdk/chatbox/storage/pgstore"
)

// TestTakeoversThroughSeveralPoolsHaveOneWinner races takeovers of one
// conversation by sixteen operators through two pools, as two server
// instances would: exactly one wins, every other gets storage.ErrConflict
// naming the winner, and the stored holder is the winner.
func TestTakeoversThroughSeveralPoolsHaveOneWinner(t *testing.T) {
	url := requireURL(t)
	schema := newSchemaName()
	dropSchema(t, pool(t), schema)
	var stores []*pgstore.Store
	for range 2 {
		p, err := pgxpool.New(t.Context(), url)
		if err != nil {
			t.Fatal(err)
		}
		defer p.Close()
		st, err := pgstore.New(t.Context(), p, pgstore.WithSchema(schema), pgstore.WithAutoMigrate(true))
		if err != nil {
			t.Fatal(err)
		}
		stores = append(stores, st)
	}
	at := time.Date(2031, 1, 1, 0, 0, 0, 0, time.UTC)
	for round := range 5 {
		id := fmt.Sprintf("c-%d", round)
		if err := stores[0].CreateConversation(t.Context(), storage.Conversation{ID: id, UserID: "u", CreatedAt: at}); err != nil {
			t.Fatal(err)
		}
		var (
			wg      sync.WaitGroup
			wins    atomic.Int32
			winner  atomic.Value
			holders = make(chan string, 16)
		)
		for i := range 16 {
			wg.Go(func() {
				op := fmt.Sprintf("op-%d", i)
				c, changed, err := stores[i%2].ChangeMode(t.Context(), storage.ModeChange{ConversationID: id,
					From: []storage.Mode{storage.ModeAI, storage.ModeWaiting}, To: storage.ModeOperator, Operator: op, At: at})
				switch {
				case err == nil && changed:
					wins.Add(1)
					winner.Store(op)
				case errors.Is(err, storage.ErrConflict):
					holders <- c.Operator
				default:
					t.Errorf("takeover by %s: changed %v, %v", op, changed, err)
				}
			})
		}
		wg.Wait()
		close(holders)
		if wins.Load() != 1 {
			t.Fatalf("round %d: %d takeovers won, want exactly 1", round, wins.Load())
		}
		for h := range holders {
			if h != winner.Load() {
				t.Errorf("round %d: a loser was told %q holds the conversation, the winner is %q", round, h, winner.Load())
			}
		}
		c, err := stores[1].GetConversation(t.Context(), id)
		if err != nil || c.Mode != storage.ModeOperator || c.Operator != winner.Load() {
			t.Errorf("round %d: stored %q held by %q, %v; want the winner %q", round, c.Mode, c.Operator, err, winner.Load())
		}
	}
}
