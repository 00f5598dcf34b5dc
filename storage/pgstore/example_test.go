package pgstore_test

import (
	"context"
	"log"
	"os"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/chatboxsdk/chatbox/storage/encrypted"
	"github.com/chatboxsdk/chatbox/storage/pgstore"
)

// The host owns the pool; the store only uses it. Migrations run as a
// release step here; WithAutoMigrate(true) would run them in New instead.
// (Not run: it needs a server. The package's tests make the same calls
// against a private cluster.)
func Example() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	pool, err := pgxpool.New(ctx, os.Getenv("CHATBOX_POSTGRES_URL"))
	if err != nil {
		log.Fatal(err)
	}
	defer pool.Close()

	// Release step: safe to run from several processes at once.
	if err := pgstore.Migrate(ctx, pool, pgstore.WithSchema("chat")); err != nil {
		log.Fatal(err)
	}
	ps, err := pgstore.New(ctx, pool,
		pgstore.WithSchema("chat"),
		pgstore.WithOperationTimeout(2*time.Second),
		pgstore.WithMaxAttempts(5),
	)
	if err != nil {
		log.Fatal(err) // errors.Is(err, pgstore.ErrMigrationNeeded) before the release step ran
	}
	key, err := encrypted.ParseKey("k1", os.Getenv("CHATBOX_ENCRYPTION_KEY"))
	if err != nil {
		log.Fatal(err)
	}
	store, err := encrypted.New(ps, key)
	if err != nil {
		log.Fatal(err)
	}
	_ = store // chatbox.New(chatbox.WithStore(store), ...)
}
