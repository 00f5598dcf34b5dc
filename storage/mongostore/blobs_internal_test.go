package mongostore

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/chatboxsdk/chatbox/storage"
)

// TestHalfDoneBlobsAreInvisibleAndSwept fakes what a process that died
// in the middle of a put or of a delete leaves (a document "writing" or
// "deleting" and some chunks): the blob cannot be opened, listed or
// marked; a new put of its id is a conflict until SweepBlobs, given a
// time after the document's, removes the document and its chunks, and
// leaves stored blobs and recent puts alone.
func TestHalfDoneBlobsAreInvisibleAndSwept(t *testing.T) {
	st := usageTestStore(t)
	ctx := t.Context()
	old := time.Now().Add(-2 * time.Hour)
	half := func(id, state string, since time.Time) blobDoc {
		d := blobDoc{Key: messageKey("c", id), ConversationID: "c", ID: id, UserID: "u", MediaType: "text/plain",
			CreatedAt: date(old), State: state, Upload: newUpload(), Since: date(since), Size: 2 * blobChunkSize}
		if _, err := st.blobs.InsertOne(ctx, d); err != nil {
			t.Fatal(err)
		}
		for n := range 2 {
			if _, err := st.chunks.InsertOne(ctx, chunkDoc{ID: chunkID(d.Upload, n), Data: []byte("chunk")}); err != nil {
				t.Fatal(err)
			}
		}
		return d
	}
	half("writing", blobWriting, old)
	half("deleting", blobDeleting, old)
	recent := half("recent", blobWriting, time.Now())
	data := []byte("kept bytes")
	if _, err := st.PutBlob(ctx, storage.Blob{ID: "kept", ConversationID: "c", UserID: "u", MediaType: "text/plain", CreatedAt: old},
		bytes.NewReader(data), 100); err != nil {
		t.Fatal(err)
	}

	for _, id := range []string{"writing", "deleting", "recent"} {
		if _, _, err := st.OpenBlob(ctx, "c", id); !errors.Is(err, storage.ErrNotFound) {
			t.Errorf("OpenBlob of a %s blob: %v, want storage.ErrNotFound", id, err)
		}
		if err := st.MarkBlobSent(ctx, "c", id, old); !errors.Is(err, storage.ErrNotFound) {
			t.Errorf("MarkBlobSent of a %s blob: %v, want storage.ErrNotFound", id, err)
		}
	}
	page, err := st.ListBlobs(ctx, storage.BlobQuery{ConversationID: "c"})
	if err != nil || len(page.Blobs) != 1 || page.Blobs[0].ID != "kept" {
		t.Fatalf("ListBlobs = %+v, %v; want the stored blob only", page.Blobs, err)
	}
	if _, err := st.PutBlob(ctx, storage.Blob{ID: "writing", ConversationID: "c", UserID: "u", MediaType: "text/plain", CreatedAt: old},
		bytes.NewReader(data), 100); !errors.Is(err, storage.ErrConflict) {
		t.Errorf("PutBlob over a half-done put: %v, want storage.ErrConflict", err)
	}

	n, err := st.SweepBlobs(ctx, time.Now().Add(-time.Hour))
	if err != nil || n != 2 {
		t.Fatalf("SweepBlobs = %d, %v; want the 2 old half-done blobs", n, err)
	}
	docs, err := st.blobs.CountDocuments(ctx, bson.D{})
	if err != nil || docs != 2 {
		t.Errorf("%d blob documents after the sweep, %v; want the stored and the recent one", docs, err)
	}
	chunks, err := st.chunks.CountDocuments(ctx, bson.D{})
	if err != nil || chunks != 3 {
		t.Errorf("%d chunks after the sweep, %v; want the recent put's 2 and the stored blob's 1", chunks, err)
	}
	var left blobDoc
	if err := st.blobs.FindOne(ctx, bson.D{{Key: fID, Value: recent.Key}}).Decode(&left); err != nil || left.State != blobWriting {
		t.Errorf("the recent put after the sweep: %+v, %v", left, err)
	}
	// The id is free again, and the stored blob reads.
	if _, err := st.PutBlob(ctx, storage.Blob{ID: "writing", ConversationID: "c", UserID: "u", MediaType: "text/plain", CreatedAt: old},
		bytes.NewReader(data), 100); err != nil {
		t.Errorf("PutBlob of a swept id: %v", err)
	}
	_, rc, err := st.OpenBlob(ctx, "c", "kept")
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	if got, err := io.ReadAll(rc); err != nil || !bytes.Equal(got, data) {
		t.Errorf("the stored blob after the sweep: %q, %v", got, err)
	}
}

// TestSweptPutFails: a put whose document a sweep removed while it read
// its bytes fails, and leaves nothing.
func TestSweptPutFails(t *testing.T) {
	st := usageTestStore(t)
	ctx := t.Context()
	b := storage.Blob{ID: "slow", ConversationID: "c", UserID: "u", MediaType: "text/plain", CreatedAt: time.Now()}
	r := &sweepingReader{data: bytes.Repeat([]byte("x"), 3*blobChunkSize), sweep: func() {
		// The put began "long ago": a sweep with a bound after it takes it.
		if _, err := st.blobs.UpdateOne(ctx, bson.D{{Key: fID, Value: messageKey("c", "slow")}},
			bson.D{{Key: "$set", Value: bson.D{{Key: fSince, Value: date(time.Now().Add(-2 * time.Hour))}}}}); err != nil {
			t.Error(err)
		}
		if n, err := st.SweepBlobs(ctx, time.Now().Add(-time.Hour)); err != nil || n != 1 {
			t.Errorf("SweepBlobs during the put = %d, %v", n, err)
		}
	}}
	if _, err := st.PutBlob(ctx, b, r, 10*blobChunkSize); err == nil || !strings.Contains(err.Error(), "swept") {
		t.Fatalf("PutBlob swept away: %v, want an error saying so", err)
	}
	if n, err := st.blobs.CountDocuments(ctx, bson.D{}); err != nil || n != 0 {
		t.Errorf("%d blob documents after a swept put, %v", n, err)
	}
	if n, err := st.chunks.CountDocuments(ctx, bson.D{}); err != nil || n != 0 {
		t.Errorf("%d chunks after a swept put, %v", n, err)
	}
}

// sweepingReader gives data, calling sweep once half of it is read.
type sweepingReader struct {
	data  []byte
	off   int
	sweep func()
}

func (r *sweepingReader) Read(p []byte) (int, error) {
	if r.off >= len(r.data) {
		return 0, io.EOF
	}
	if r.sweep != nil && r.off >= len(r.data)/2 {
		r.sweep()
		r.sweep = nil
	}
	n := copy(p, r.data[r.off:])
	r.off += n
	return n, nil
}
