package mongostore_test

import (
	"context"
	"log"
	"os"
	"time"

	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/chatboxsdk/chatbox/storage/encrypted"
	"github.com/chatboxsdk/chatbox/storage/mongostore"
)

// The host owns the client; the store only uses it. (Not run: it needs a
// server. The package's tests run the same calls against FerretDB.)
func Example() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	client, err := mongo.Connect(options.Client().ApplyURI(os.Getenv("CHATBOX_MONGODB_URI")))
	if err != nil {
		log.Fatal(err)
	}
	defer client.Disconnect(context.Background())

	ms, err := mongostore.New(ctx, client,
		mongostore.WithDatabase("chat"),
		mongostore.WithOperationTimeout(2*time.Second),
		mongostore.WithMaxAttempts(5),
	)
	if err != nil {
		log.Fatal(err)
	}
	key, err := encrypted.ParseKey("k1", os.Getenv("CHATBOX_ENCRYPTION_KEY"))
	if err != nil {
		log.Fatal(err)
	}
	store, err := encrypted.New(ms, key)
	if err != nil {
		log.Fatal(err)
	}
	_ = store // chatbox.New(chatbox.WithStore(store), ...)
}
