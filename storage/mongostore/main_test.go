package mongostore_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
	"go.uber.org/goleak"

	"github.com/chatboxsdk/chatbox/storage/mongostore"
)

// uriEnv names the variable holding the URI of the test server; the test
// script starts FerretDB and sets it.
const uriEnv = "CHATBOX_TEST_MONGODB_URI"

var shared struct {
	once   sync.Once
	client *mongo.Client
	err    error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if c := shared.client; c != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		if err := c.Disconnect(ctx); err != nil {
			fmt.Fprintln(os.Stderr, "disconnect:", err)
		}
		cancel()
	}
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintln(os.Stderr, "goleak:", err)
			code = 1
		}
	}
	os.Exit(code)
}

// requireURI returns the test server's URI. Without one the test fails
// under CI and is skipped elsewhere.
func requireURI(t testing.TB) string {
	t.Helper()
	uri := os.Getenv(uriEnv)
	if uri == "" {
		msg := uriEnv + " is not set: run the tests through scripts/ferretdb.sh (see the Makefile's test target)"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return uri
}

// client returns the client shared by the package's tests.
func client(t testing.TB) *mongo.Client {
	t.Helper()
	uri := requireURI(t)
	shared.once.Do(func() {
		shared.client, shared.err = mongo.Connect(options.Client().ApplyURI(uri).SetTimeout(time.Minute))
	})
	if shared.err != nil {
		t.Fatalf("connect to %s: %v", uri, shared.err)
	}
	return shared.client
}

// newStore returns a Store on a database of its own, dropped when t ends.
func newStore(t testing.TB, opts ...mongostore.Option) (*mongostore.Store, *mongo.Database) {
	t.Helper()
	c := client(t)
	name := "chatbox_test_" + strings.ToLower(rand.Text()[:12])
	st, err := mongostore.New(context.Background(), c, append([]mongostore.Option{mongostore.WithDatabase(name)}, opts...)...)
	if err != nil {
		t.Fatalf("mongostore.New: %v", err)
	}
	db := c.Database(name)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := db.Drop(ctx); err != nil {
			t.Errorf("drop %s: %v", name, err)
		}
	})
	return st, db
}
