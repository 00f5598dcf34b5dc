package encrypted_test

import (
	"context"
	"crypto/rand"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/chatboxsdk/chatbox/storage"
	"github.com/chatboxsdk/chatbox/storage/mongostore"
	"github.com/chatboxsdk/chatbox/storage/storagetest"
)

// mongoDB returns a client on the test server and a fresh database name
// dropped when t ends. Without a server the test fails under CI and is
// skipped elsewhere.
func mongoDB(t *testing.T) (*mongo.Client, string) {
	t.Helper()
	uri := os.Getenv("CHATBOX_TEST_MONGODB_URI")
	if uri == "" {
		msg := "CHATBOX_TEST_MONGODB_URI is not set: run the tests through scripts/ferretdb.sh (see the Makefile's test target)"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	client, err := mongo.Connect(options.Client().ApplyURI(uri))
	if err != nil {
		t.Fatal(err)
	}
	name := "chatbox_enc_" + strings.ToLower(rand.Text()[:12])
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := client.Database(name).Drop(ctx); err != nil {
			t.Errorf("drop %s: %v", name, err)
		}
		if err := client.Disconnect(ctx); err != nil {
			t.Errorf("disconnect: %v", err)
		}
	})
	return client, name
}

func TestConformanceOverMongo(t *testing.T) {
	key := newKey(t, "k1")
	storagetest.Run(t, func(t *testing.T) storage.Store {
		client, name := mongoDB(t)
		inner, err := mongostore.New(t.Context(), client, mongostore.WithDatabase(name))
		if err != nil {
			t.Fatal(err)
		}
		return wrap(t, inner, key)
	}, storagetest.LargeListing(1_000), storagetest.PagedMessages(120)) // the full sizes run over memory and pgstore
}

func TestRawDocumentsHoldNoPlaintext(t *testing.T) {
	client, name := mongoDB(t)
	inner, err := mongostore.New(t.Context(), client, mongostore.WithDatabase(name))
	if err != nil {
		t.Fatal(err)
	}
	s := wrap(t, inner, newKey(t, "k1"))
	db := client.Database(name)
	// checkRaw reads every document as stored: no plaintext anywhere, an
	// envelope in each, and the message's parts with their clear fields.
	checkRaw := func(when string) {
		t.Helper()
		docs := 0
		for _, coll := range []string{"conversations", "messages"} {
			cur, err := db.Collection(coll).Find(t.Context(), bson.D{})
			if err != nil {
				t.Fatal(err)
			}
			var raws []bson.Raw
			if err := cur.All(t.Context(), &raws); err != nil {
				t.Fatal(err)
			}
			for _, raw := range raws {
				docs++
				// Search the raw bytes, so no field anywhere escapes the check.
				if strings.Contains(string(raw), "secret") {
					t.Errorf("%s: raw %s document holds plaintext: %s", when, coll, raw)
				}
				if !strings.Contains(string(raw), "v1:k1:") {
					t.Errorf("%s: raw %s document holds no envelope: %s", when, coll, raw)
				}
				if coll == "messages" && (!strings.Contains(string(raw), "call-1") || !strings.Contains(string(raw), "application/pdf")) {
					t.Errorf("%s: raw message holds no parts: %s", when, raw)
				}
			}
		}
		if docs != 2 {
			t.Fatalf("%s: read %d raw documents, want 2 (one conversation, one message)", when, docs)
		}
	}

	seed(t, s, "c1", "m1")
	checkRaw("after the seed")
	upd := storage.Message{ID: "m1", ConversationID: "c1", Text: "secret update", Parts: secretParts("update"),
		Status: storage.MessageComplete, UpdatedAt: t0.Add(time.Minute)}
	if err := s.UpdateMessage(t.Context(), upd); err != nil {
		t.Fatal(err)
	}
	checkRaw("after the update")
	// And the wrapper reads it all back.
	m, err := s.GetMessage(t.Context(), "c1", "m1")
	if err != nil || m.Text != "secret update" || !reflect.DeepEqual(m.Parts, secretParts("update")) {
		t.Errorf("GetMessage = %q, %+v, %v", m.Text, m.Parts, err)
	}
}

// TestBlobConformanceOverMongo runs the blob suite through the wrapper
// over mongostore, with 300 blobs in its large listing and without the
// 50 MiB blob: mongostore's own suite runs that on this test server, and
// the wrapper's streaming is checked over pgstore and fsblob.
func TestBlobConformanceOverMongo(t *testing.T) {
	key := newKey(t, "k1")
	storagetest.RunBlobs(t, func(t *testing.T) storage.BlobStore {
		client, name := mongoDB(t)
		inner, err := mongostore.New(t.Context(), client, mongostore.WithDatabase(name), mongostore.WithOperationTimeout(time.Minute))
		if err != nil {
			t.Fatal(err)
		}
		return wrap(t, inner, key)
	}, storagetest.ManyBlobs(300))
}

// TestRawBlobDocumentsHoldNoPlaintext reads a blob's document and chunks
// as stored: a sealed name, the other fields in clear, no plaintext in
// the bytes.
func TestRawBlobDocumentsHoldNoPlaintext(t *testing.T) {
	client, name := mongoDB(t)
	inner, err := mongostore.New(t.Context(), client, mongostore.WithDatabase(name))
	if err != nil {
		t.Fatal(err)
	}
	s := wrap(t, inner, newKey(t, "k1"))
	mustPutBlob(t, s, blobOf("c1", "f"), secretBytes(600<<10))
	db := client.Database(name)
	for _, coll := range []string{"blobs", "blob_chunks"} {
		cur, err := db.Collection(coll).Find(t.Context(), bson.D{})
		if err != nil {
			t.Fatal(err)
		}
		var raws []bson.Raw
		if err := cur.All(t.Context(), &raws); err != nil {
			t.Fatal(err)
		}
		if len(raws) == 0 {
			t.Errorf("no %s documents", coll)
		}
		for _, raw := range raws {
			if strings.Contains(string(raw), "secret") {
				t.Errorf("a raw %s document holds plaintext", coll)
			}
			if coll == "blobs" && (!strings.Contains(string(raw), "v1:k1:") || !strings.Contains(string(raw), "application/pdf")) {
				t.Errorf("raw blob document: %s; want a sealed name and the media type in clear", raw)
			}
		}
	}
}
