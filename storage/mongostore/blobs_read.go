package mongostore

import (
	"context"
	"errors"
	"fmt"
	"io"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"

	"github.com/chatboxsdk/chatbox/storage"
)

// OpenBlob implements storage.BlobStore. The reader reads one chunk per
// query, by _id, retried as every call is and under ctx: keep ctx live
// while reading. It reads the chunks of the put it opened, never those of
// a later put of the same id; a blob deleted while read makes the next
// read fail with storage.ErrNotFound.
func (s *Store) OpenBlob(ctx context.Context, conversationID, id string) (storage.Blob, io.ReadCloser, error) {
	doc, ok, err := s.storedBlob(ctx, "open blob", conversationID, id)
	if err != nil {
		return storage.Blob{}, nil, err
	}
	if !ok {
		return storage.Blob{}, nil, blobNotFound(conversationID, id)
	}
	return doc.blob(), &chunkReader{s: s, ctx: ctx, doc: doc}, nil
}

// chunkReader reads a blob's chunks in order, one query each.
type chunkReader struct {
	s      *Store
	ctx    context.Context
	doc    blobDoc
	next   int    // the next chunk
	read   int64  // bytes of the chunks read so far
	buf    []byte // what is left of the current chunk
	err    error  // sticky
	closed bool
}

func (r *chunkReader) Read(p []byte) (int, error) {
	for len(r.buf) == 0 {
		switch {
		case r.closed:
			return 0, errors.New("mongostore: read of a closed blob")
		case r.err != nil:
			return 0, r.err
		case r.read == r.doc.Size:
			return 0, io.EOF
		}
		r.err = r.fetch()
	}
	n := copy(p, r.buf)
	r.buf = r.buf[n:]
	return n, nil
}

// fetch reads the next chunk.
func (r *chunkReader) fetch() error {
	var c chunkDoc
	err := r.s.do(r.ctx, "read blob", func(ctx context.Context) error {
		return r.s.chunks.FindOne(ctx, bson.D{{Key: fID, Value: chunkID(r.doc.Upload, r.next)}}).Decode(&c)
	})
	if errors.Is(err, mongo.ErrNoDocuments) {
		return fmt.Errorf("mongostore: blob %q of conversation %q: deleted while read: %w", r.doc.ID, r.doc.ConversationID, storage.ErrNotFound)
	}
	if err != nil {
		return err
	}
	size := r.doc.Size
	if len(c.Data) == 0 || r.read+int64(len(c.Data)) > size || (len(c.Data) != blobChunkSize && r.read+int64(len(c.Data)) != size) {
		return fmt.Errorf("mongostore: blob %q of conversation %q: chunk %d holds %d bytes, which does not fit its size %d",
			r.doc.ID, r.doc.ConversationID, r.next, len(c.Data), size)
	}
	r.buf = c.Data
	r.next++
	r.read += int64(len(c.Data))
	return nil
}

func (r *chunkReader) Close() error {
	r.closed, r.buf = true, nil
	return nil
}
