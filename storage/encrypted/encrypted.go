// Package encrypted is a storage.Store wrapper that encrypts, before they
// reach the wrapped Store, every message's Text, the Text, Signature,
// Arguments and FileName of every part of a message, every
// conversation's Title and every Metadata value, with AES-256-GCM; and
// the bytes and Name of every blob (see Blobs below).
//
// Each value gets a random nonce and is stored as a compact envelope,
// "v1:<key id>:<base64>", so keys rotate without downtime: New takes the
// active key, used for every write, and older keys still accepted for
// reading. The associated data binds each value to its record (the kind of
// field, the conversation id, and the message id or metadata key; for a
// part, also its index in the message), so a ciphertext copied to another
// record, another part or another field fails to decrypt. Empty values
// are sealed too, so a value blanked in the wrapped Store is an error, not
// an empty string.
//
// A value that cannot be decrypted is an error wrapping ErrDecrypt; the
// ciphertext is never returned in its place. Ids, roles, statuses, times,
// models, usage, modes, operator ids and statistics stay in clear text:
// the wrapped Store needs them to index, order, filter and validate. So
// do the other fields of a part: its kind, call id, tool name, error flag
// and code, approval state, expiry and approver, file id and media type.
// Audit entries pass through unencrypted, Detail included: they record
// who did what and when, not what was said.
//
// The Store is also a storage.UsageStore when the wrapped Store is one:
// usage records, rows, sums and reservations pass through unencrypted,
// since they hold counts, ids, model names and times only. Over a Store
// that keeps no usage, the usage methods return an error wrapping
// errors.ErrUnsupported; SupportsUsage tells in advance.
//
// # Blobs
//
// The Store is also a storage.BlobStore when the wrapped Store is one, and
// NewBlobStore wraps a storage.BlobStore alone (a storage/fsblob
// directory, say). A blob's Name is sealed like a title; its ids, user,
// MediaType, times and Size stay in clear (Size is the plaintext's: the
// wrapper computes it from the stored size, so listings read no bytes).
// Its bytes are stored as a header naming the key, with a random salt,
// followed by chunks of 64 KiB of plaintext, each sealed with AES-256-GCM
// under a random nonce, so a blob of any size is encrypted and decrypted
// with two chunks in memory. The associated data of a chunk binds it to
// the blob's conversation and id, the header, its index and whether it is
// the last: a truncated blob, dropped, reordered or repeated chunks,
// chunks of another blob or of an earlier put of the same id, a blob
// moved to another id, and bytes appended all fail with an error wrapping
// ErrDecrypt, after the plaintext of the chunks before the fault. A blob
// of n bytes takes 62 + n + 28·(⌊n/65536⌋+1) bytes in the wrapped store.
// The format is described at the top of blobs.go. Over a Store that
// keeps no blobs, the blob methods return an error wrapping
// errors.ErrUnsupported; SupportsBlobs tells in advance.
//
// # Rotation
//
// Start New with the new key active and the old one in older;
// new writes use the new key, old values stay readable. Values written
// under the old key keep it until they are rewritten, so keep the old key
// until every record written with it has expired or been rewritten. A
// blob keeps the key it was put with for its life.
package encrypted

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/chatboxsdk/chatbox/storage"
)

// Store encrypts and decrypts around an inner storage.Store. It is safe
// for concurrent use when the inner Store is.
type Store struct {
	inner storage.Store
	keys  *keyring
	// blobs encrypts the blobs of inner; nil when inner is not a
	// storage.BlobStore.
	blobs *BlobStore
}

var _ storage.Store = (*Store)(nil)

// New returns a Store writing with active and reading with active and
// every key of older. Every key must be exactly KeySize random bytes with
// a distinct id; New refuses placeholders (repeated patterns, printable
// text) and reports every problem at once.
func New(inner storage.Store, active Key, older ...Key) (*Store, error) {
	var errs []error
	if inner == nil {
		errs = append(errs, errors.New("nil inner Store"))
	}
	keys, err := newKeyring(active, older)
	if err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("encrypted: %w", err)
	}
	s := &Store{inner: inner, keys: keys}
	if b, ok := inner.(storage.BlobStore); ok {
		s.blobs = &BlobStore{inner: b, keys: keys}
	}
	return s, nil
}

// ValidateKeys reports every problem New would find in the keys, so a
// host can check its configuration before opening the inner Store.
func ValidateKeys(active Key, older ...Key) error {
	if _, err := newKeyring(active, older); err != nil {
		return fmt.Errorf("encrypted: %w", err)
	}
	return nil
}

func (s *Store) sealConversation(c storage.Conversation) storage.Conversation {
	c.Title = s.keys.seal(c.Title, fieldTitle, c.ID)
	if len(c.Metadata) > 0 {
		md := make(map[string]string, len(c.Metadata))
		for k, v := range c.Metadata {
			md[k] = s.keys.seal(v, fieldMetadataValue, c.ID, k)
		}
		c.Metadata = md
	}
	return c
}

func (s *Store) openConversation(c storage.Conversation) (storage.Conversation, error) {
	title, err := s.keys.open(c.Title, fieldTitle, c.ID)
	if err != nil {
		return storage.Conversation{}, fmt.Errorf("encrypted: conversation %q: %w", c.ID, err)
	}
	c.Title = title
	if len(c.Metadata) > 0 {
		md := make(map[string]string, len(c.Metadata))
		for k, v := range c.Metadata {
			if md[k], err = s.keys.open(v, fieldMetadataValue, c.ID, k); err != nil {
				return storage.Conversation{}, fmt.Errorf("encrypted: conversation %q, metadata %q: %w", c.ID, k, err)
			}
		}
		c.Metadata = md
	}
	return c, nil
}

// sealMessage returns m with its text and the sealed fields of its parts
// encrypted, in a Parts slice of its own: the caller's is left alone.
func (s *Store) sealMessage(m storage.Message) storage.Message {
	m.Text = s.keys.seal(m.Text, fieldMessageText, m.ConversationID, m.ID)
	if len(m.Parts) == 0 {
		m.Parts = nil
		return m
	}
	parts := make([]storage.Part, len(m.Parts))
	for i, p := range m.Parts {
		for _, f := range sealedPartFields(&p) {
			*f.value = s.keys.seal(*f.value, f.field, m.ConversationID, m.ID, strconv.Itoa(i))
		}
		parts[i] = p
	}
	m.Parts = parts
	return m
}

func (s *Store) openMessage(m storage.Message) (storage.Message, error) {
	text, err := s.keys.open(m.Text, fieldMessageText, m.ConversationID, m.ID)
	if err != nil {
		return storage.Message{}, fmt.Errorf("encrypted: message %q of conversation %q: %w", m.ID, m.ConversationID, err)
	}
	m.Text = text
	if len(m.Parts) == 0 {
		m.Parts = nil
		return m, nil
	}
	parts := make([]storage.Part, len(m.Parts))
	for i, p := range m.Parts {
		for _, f := range sealedPartFields(&p) {
			if *f.value, err = s.keys.open(*f.value, f.field, m.ConversationID, m.ID, strconv.Itoa(i)); err != nil {
				return storage.Message{}, fmt.Errorf("encrypted: message %q of conversation %q, part %d: %w", m.ID, m.ConversationID, i, err)
			}
		}
		parts[i] = p
	}
	m.Parts = parts
	return m, nil
}

// partField is one sealed field of a part and the name its associated
// data carries.
type partField struct {
	field field
	value *string
}

// sealedPartFields returns the fields of p the Store seals.
func sealedPartFields(p *storage.Part) [4]partField {
	return [4]partField{
		{fieldPartText, &p.Text},
		{fieldPartSignature, &p.Signature},
		{fieldPartArguments, &p.Arguments},
		{fieldPartFileName, &p.FileName},
	}
}

// CreateConversation implements storage.Store.
func (s *Store) CreateConversation(ctx context.Context, c storage.Conversation) error {
	return s.inner.CreateConversation(ctx, s.sealConversation(c))
}

// GetConversation implements storage.Store.
func (s *Store) GetConversation(ctx context.Context, id string) (storage.Conversation, error) {
	c, err := s.inner.GetConversation(ctx, id)
	if err != nil {
		return storage.Conversation{}, err
	}
	return s.openConversation(c)
}

// ListConversations implements storage.Store. A page with a value that
// cannot be decrypted is an error.
func (s *Store) ListConversations(ctx context.Context, q storage.ConversationQuery) (storage.ConversationPage, error) {
	page, err := s.inner.ListConversations(ctx, q)
	if err != nil {
		return storage.ConversationPage{}, err
	}
	out := storage.ConversationPage{NextCursor: page.NextCursor, Total: page.Total,
		Conversations: make([]storage.Conversation, len(page.Conversations))}
	for i, c := range page.Conversations {
		if out.Conversations[i], err = s.openConversation(c); err != nil {
			return storage.ConversationPage{}, err
		}
	}
	return out, nil
}

// EndConversation implements storage.Store.
func (s *Store) EndConversation(ctx context.Context, id string, at time.Time) error {
	return s.inner.EndConversation(ctx, id, at)
}

// AppendMessage implements storage.Store.
func (s *Store) AppendMessage(ctx context.Context, m storage.Message) (storage.Message, bool, error) {
	stored, created, err := s.inner.AppendMessage(ctx, s.sealMessage(m))
	if err != nil {
		return storage.Message{}, false, err
	}
	if stored, err = s.openMessage(stored); err != nil {
		return storage.Message{}, false, err
	}
	return stored, created, nil
}

// UpdateMessage implements storage.Store.
func (s *Store) UpdateMessage(ctx context.Context, m storage.Message) error {
	return s.inner.UpdateMessage(ctx, s.sealMessage(m))
}

// GetMessage implements storage.Store.
func (s *Store) GetMessage(ctx context.Context, conversationID, id string) (storage.Message, error) {
	m, err := s.inner.GetMessage(ctx, conversationID, id)
	if err != nil {
		return storage.Message{}, err
	}
	return s.openMessage(m)
}

// ListMessages implements storage.Store. A page with a value that cannot
// be decrypted is an error.
func (s *Store) ListMessages(ctx context.Context, q storage.MessageQuery) (storage.MessagePage, error) {
	page, err := s.inner.ListMessages(ctx, q)
	if err != nil {
		return storage.MessagePage{}, err
	}
	out := storage.MessagePage{NextCursor: page.NextCursor, Messages: make([]storage.Message, len(page.Messages))}
	for i, m := range page.Messages {
		if out.Messages[i], err = s.openMessage(m); err != nil {
			return storage.MessagePage{}, err
		}
	}
	return out, nil
}

// ChangeMode implements storage.Store. When the change does not apply, the
// stored conversation comes back decrypted with the inner Store's error.
func (s *Store) ChangeMode(ctx context.Context, c storage.ModeChange) (storage.Conversation, bool, error) {
	conv, changed, err := s.inner.ChangeMode(ctx, c)
	if conv.ID == "" {
		return storage.Conversation{}, changed, err
	}
	opened, oerr := s.openConversation(conv)
	if oerr != nil {
		return storage.Conversation{}, changed, errors.Join(err, oerr)
	}
	return opened, changed, err
}

// AppendAudit implements storage.Store; entries are stored as they are.
func (s *Store) AppendAudit(ctx context.Context, e storage.AuditEntry) error {
	return s.inner.AppendAudit(ctx, e)
}

// ListAudit implements storage.Store.
func (s *Store) ListAudit(ctx context.Context, q storage.AuditQuery) (storage.AuditPage, error) {
	return s.inner.ListAudit(ctx, q)
}

// Aggregate implements storage.Store.
func (s *Store) Aggregate(ctx context.Context, q storage.AggregateQuery) (storage.Aggregate, error) {
	return s.inner.Aggregate(ctx, q)
}

var _ storage.UsageStore = (*Store)(nil)

// usage returns the inner Store as a storage.UsageStore, or an error
// wrapping errors.ErrUnsupported when it is not one.
func (s *Store) usage(op string) (storage.UsageStore, error) {
	u, ok := s.inner.(storage.UsageStore)
	if !ok {
		return nil, fmt.Errorf("encrypted: %s: the wrapped %T keeps no usage (it does not implement storage.UsageStore): %w",
			op, s.inner, errors.ErrUnsupported)
	}
	return u, nil
}

// SupportsUsage reports whether the wrapped Store is a
// storage.UsageStore, and so whether the usage methods of s work.
func (s *Store) SupportsUsage() bool {
	_, ok := s.inner.(storage.UsageStore)
	return ok
}

// RecordUsage implements storage.UsageStore by passing r to the wrapped
// Store unchanged: usage figures, user ids and model names are not
// secret, and the wrapped Store needs them to sum, filter and order. A
// wrapped Store that is not a storage.UsageStore gives an error wrapping
// errors.ErrUnsupported, as do the other usage methods.
func (s *Store) RecordUsage(ctx context.Context, r storage.UsageRecord) error {
	u, err := s.usage("record usage")
	if err != nil {
		return err
	}
	return u.RecordUsage(ctx, r)
}

// ListUsage implements storage.UsageStore; see RecordUsage.
func (s *Store) ListUsage(ctx context.Context, q storage.UsageQuery) (storage.UsagePage, error) {
	u, err := s.usage("list usage")
	if err != nil {
		return storage.UsagePage{}, err
	}
	return u.ListUsage(ctx, q)
}

// SumUsage implements storage.UsageStore; see RecordUsage.
func (s *Store) SumUsage(ctx context.Context, userID string, from, before time.Time) (storage.UsageTotals, error) {
	u, err := s.usage("sum usage")
	if err != nil {
		return storage.UsageTotals{}, err
	}
	return u.SumUsage(ctx, userID, from, before)
}

// ReserveUsage implements storage.UsageStore; see RecordUsage.
func (s *Store) ReserveUsage(ctx context.Context, r storage.Reservation) (bool, error) {
	u, err := s.usage("reserve usage")
	if err != nil {
		return false, err
	}
	return u.ReserveUsage(ctx, r)
}

// ReleaseReservation implements storage.UsageStore; see RecordUsage.
func (s *Store) ReleaseReservation(ctx context.Context, userID, id string) error {
	u, err := s.usage("release reservation")
	if err != nil {
		return err
	}
	return u.ReleaseReservation(ctx, userID, id)
}

var _ storage.BlobStore = (*Store)(nil)

// blobStore returns the BlobStore over the inner Store, or an error
// wrapping errors.ErrUnsupported when the inner Store keeps no blobs.
func (s *Store) blobStore(op string) (*BlobStore, error) {
	if s.blobs == nil {
		return nil, fmt.Errorf("encrypted: %s: the wrapped %T keeps no blobs (it does not implement storage.BlobStore): %w",
			op, s.inner, errors.ErrUnsupported)
	}
	return s.blobs, nil
}

// SupportsBlobs reports whether the wrapped Store is a
// storage.BlobStore, and so whether the blob methods of s work.
func (s *Store) SupportsBlobs() bool { return s.blobs != nil }

// PutBlob implements storage.BlobStore as BlobStore.PutBlob does, on the
// wrapped Store. A wrapped Store that is not a storage.BlobStore gives an
// error wrapping errors.ErrUnsupported, as do the other blob methods.
func (s *Store) PutBlob(ctx context.Context, b storage.Blob, r io.Reader, maxBytes int64) (storage.Blob, error) {
	bs, err := s.blobStore("put blob")
	if err != nil {
		return storage.Blob{}, err
	}
	return bs.PutBlob(ctx, b, r, maxBytes)
}

// OpenBlob implements storage.BlobStore; see PutBlob.
func (s *Store) OpenBlob(ctx context.Context, conversationID, id string) (storage.Blob, io.ReadCloser, error) {
	bs, err := s.blobStore("open blob")
	if err != nil {
		return storage.Blob{}, nil, err
	}
	return bs.OpenBlob(ctx, conversationID, id)
}

// MarkBlobSent implements storage.BlobStore; see PutBlob.
func (s *Store) MarkBlobSent(ctx context.Context, conversationID, id string, at time.Time) error {
	bs, err := s.blobStore("mark blob sent")
	if err != nil {
		return err
	}
	return bs.MarkBlobSent(ctx, conversationID, id, at)
}

// DeleteBlob implements storage.BlobStore; see PutBlob.
func (s *Store) DeleteBlob(ctx context.Context, conversationID, id string) error {
	bs, err := s.blobStore("delete blob")
	if err != nil {
		return err
	}
	return bs.DeleteBlob(ctx, conversationID, id)
}

// ListBlobs implements storage.BlobStore; see PutBlob.
func (s *Store) ListBlobs(ctx context.Context, q storage.BlobQuery) (storage.BlobPage, error) {
	bs, err := s.blobStore("list blobs")
	if err != nil {
		return storage.BlobPage{}, err
	}
	return bs.ListBlobs(ctx, q)
}
