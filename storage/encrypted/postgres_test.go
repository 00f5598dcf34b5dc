package encrypted_test

import (
	"context"
	"crypto/rand"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/chatboxsdk/chatbox/storage"
	"github.com/chatboxsdk/chatbox/storage/pgstore"
	"github.com/chatboxsdk/chatbox/storage/storagetest"
)

// postgresPool returns a pool on the test server, closed when t ends.
// Without a server the test fails under CI and is skipped elsewhere.
func postgresPool(t *testing.T) *pgxpool.Pool {
	t.Helper()
	url := os.Getenv("CHATBOX_TEST_POSTGRES_URL")
	if url == "" {
		msg := "CHATBOX_TEST_POSTGRES_URL is not set: run the tests through scripts/postgres.sh (see the Makefile's test target)"
		if os.Getenv("CI") != "" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	p, err := pgxpool.New(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	return p
}

// newPostgresStore returns a store on a schema of its own in p, dropped
// when t ends, and the schema's name.
func newPostgresStore(t *testing.T, p *pgxpool.Pool) (*pgstore.Store, string) {
	t.Helper()
	schema := "chatbox_enc_" + strings.ToLower(rand.Text()[:12])
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := p.Exec(ctx, "DROP SCHEMA IF EXISTS "+schema+" CASCADE"); err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
	})
	inner, err := pgstore.New(t.Context(), p, pgstore.WithSchema(schema), pgstore.WithAutoMigrate(true))
	if err != nil {
		t.Fatal(err)
	}
	return inner, schema
}

func TestConformanceOverPostgres(t *testing.T) {
	key := newKey(t, "k1")
	p := postgresPool(t)
	storagetest.Run(t, func(t *testing.T) storage.Store {
		inner, _ := newPostgresStore(t, p)
		return wrap(t, inner, key)
	}, storagetest.LargeListing(1_000)) // the full 10,000 run over memory and in pgstore's own suite
}

func TestRawRowsHoldNoPlaintext(t *testing.T) {
	p := postgresPool(t)
	inner, schema := newPostgresStore(t, p)
	s := wrap(t, inner, newKey(t, "k1"))
	// checkRaw reads every row as stored: no plaintext anywhere, an
	// envelope in each, and the message's parts with their clear fields.
	checkRaw := func(when string) {
		t.Helper()
		rows := 0
		for _, table := range []string{"conversations", "messages"} {
			// Every column of every row, as text, so no field escapes the check.
			r, err := p.Query(t.Context(), "SELECT t::text FROM "+schema+"."+table+" t")
			if err != nil {
				t.Fatal(err)
			}
			for r.Next() {
				var raw string
				if err := r.Scan(&raw); err != nil {
					t.Fatal(err)
				}
				rows++
				if strings.Contains(raw, "secret") {
					t.Errorf("%s: raw %s row holds plaintext: %s", when, table, raw)
				}
				if !strings.Contains(raw, "v1:k1:") {
					t.Errorf("%s: raw %s row holds no envelope: %s", when, table, raw)
				}
				if table == "messages" && (!strings.Contains(raw, "call-1") || !strings.Contains(raw, "application/pdf")) {
					t.Errorf("%s: raw message holds no parts: %s", when, raw)
				}
			}
			if err := r.Err(); err != nil {
				t.Fatal(err)
			}
		}
		if rows != 2 {
			t.Fatalf("%s: read %d raw rows, want 2 (one conversation, one message)", when, rows)
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
	m, err := s.GetMessage(t.Context(), "c1", "m1")
	if err != nil || m.Text != "secret update" || !reflect.DeepEqual(m.Parts, secretParts("update")) {
		t.Errorf("GetMessage = %q, %+v, %v", m.Text, m.Parts, err)
	}
	c, err := s.GetConversation(t.Context(), "c1")
	if err != nil || c.Title != "secret title c1" || c.Metadata["plan"] != "secret plan c1" {
		t.Errorf("GetConversation = %+v, %v", c, err)
	}
}

// TestBlobConformanceOverPostgres runs the blob suite through the wrapper
// over pgstore, with its bounded-memory check.
func TestBlobConformanceOverPostgres(t *testing.T) {
	key := newKey(t, "k1")
	p := postgresPool(t)
	storagetest.RunBlobs(t, func(t *testing.T) storage.BlobStore {
		inner, _ := newPostgresStore(t, p)
		return wrap(t, inner, key)
	}, storagetest.BoundedMemory())
}

// TestRawBlobRowsHoldNoPlaintext reads a blob's row and chunks as stored:
// a sealed name, the other fields in clear, no plaintext in the bytes.
func TestRawBlobRowsHoldNoPlaintext(t *testing.T) {
	p := postgresPool(t)
	inner, schema := newPostgresStore(t, p)
	s := wrap(t, inner, newKey(t, "k1"))
	data := secretBytes(600 << 10)
	mustPutBlob(t, s, blobOf("c1", "f"), data)
	var row string
	if err := p.QueryRow(t.Context(), "SELECT b::text FROM "+schema+".blobs b").Scan(&row); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(row, "secret") || !strings.Contains(row, "v1:k1:") || !strings.Contains(row, "application/pdf") {
		t.Errorf("raw blob row: %s; want a sealed name and the media type in clear", row)
	}
	rows, err := p.Query(t.Context(), "SELECT data FROM "+schema+".blob_chunks ORDER BY n")
	if err != nil {
		t.Fatal(err)
	}
	var stored []byte
	for rows.Next() {
		var chunk []byte
		if err := rows.Scan(&chunk); err != nil {
			t.Fatal(err)
		}
		stored = append(stored, chunk...)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if len(stored) != headerSize+len(data)+28*(len(data)/chunkSize+1) || strings.Contains(string(stored), "secret") {
		t.Errorf("raw chunks: %d bytes, plaintext found: %v", len(stored), strings.Contains(string(stored), "secret"))
	}
	if read, err := readThrough(t, s, "c1", "f"); err != nil || string(read) != string(data) {
		t.Errorf("read back %d bytes, %v", len(read), err)
	}
}
