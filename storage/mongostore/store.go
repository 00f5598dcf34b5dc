package mongostore

import (
	"context"
	"errors"
	"fmt"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/chatboxsdk/chatbox/storage"
)

// Store is a storage.Store on MongoDB. It is safe for concurrent use and
// holds no state besides its configuration and collection handles.
type Store struct {
	cfg       config
	client    *mongo.Client
	ownClient bool
	convs     *mongo.Collection
	msgs      *mongo.Collection
	audit     *mongo.Collection
	// The usage collections; see usage.go.
	usageRows    *mongo.Collection
	usageReplies *mongo.Collection
	usageUsers   *mongo.Collection
	// The blob collections; see blobs.go.
	blobs     *mongo.Collection
	chunks    *mongo.Collection
	retention bool
}

var (
	_ storage.Store      = (*Store)(nil)
	_ storage.UsageStore = (*Store)(nil)
	_ storage.BlobStore  = (*Store)(nil)
)

// New returns a Store on client, which the caller owns: Close does not
// disconnect it. New creates the collections' indexes (idempotently) under
// ctx and the retry policy, and reports every invalid option at once.
func New(ctx context.Context, client *mongo.Client, opts ...Option) (*Store, error) {
	cfg, err := buildConfig(opts)
	if client == nil {
		err = errors.Join(err, errors.New("mongostore: nil client"))
	}
	if err != nil {
		return nil, err
	}
	db := client.Database(cfg.database)
	s := &Store{
		cfg:    cfg,
		client: client,
		convs:  db.Collection(cfg.conversations),
		msgs:   db.Collection(cfg.messages),
		audit:  db.Collection(cfg.audit),

		usageRows:    db.Collection(cfg.usagePrefix + "_rows"),
		usageReplies: db.Collection(cfg.usagePrefix + "_replies"),
		usageUsers:   db.Collection(cfg.usagePrefix + "_users"),

		blobs:  db.Collection(cfg.blobs),
		chunks: db.Collection(cfg.blobChunks),
	}
	if err := s.ensureIndexes(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

// Open connects to the MongoDB server at uri and returns a Store that owns
// the client: Close disconnects it. It checks the server is reachable
// before returning.
func Open(ctx context.Context, uri string, opts ...Option) (*Store, error) {
	client, err := mongo.Connect(options.Client().ApplyURI(uri))
	if err != nil {
		return nil, fmt.Errorf("mongostore: connect: %w", err)
	}
	s, err := New(ctx, client, opts...)
	if err != nil {
		return nil, errors.Join(err, client.Disconnect(context.WithoutCancel(ctx)))
	}
	s.ownClient = true
	return s, nil
}

// Close disconnects the client if Open created it; with a client passed to
// New it does nothing. Close honours ctx's deadline.
func (s *Store) Close(ctx context.Context) error {
	if !s.ownClient {
		return nil
	}
	if err := s.client.Disconnect(ctx); err != nil && !errors.Is(err, mongo.ErrClientDisconnected) {
		return fmt.Errorf("mongostore: disconnect: %w", err)
	}
	return nil
}

// RetentionEnforced reports whether WithRetentionTTL is in effect: false
// without the option, or when the server refused TTL indexes.
func (s *Store) RetentionEnforced() bool { return s.retention }

// ensureIndexes creates the indexes the queries need. Listings sort by
// (key, _id) in either direction, which one index per key serves both
// ways. Existing indexes are left as they are.
func (s *Store) ensureIndexes(ctx context.Context) error {
	msgIdx := []index{
		{"conversation_created_id", bson.D{{Key: fConversationID, Value: 1}, {Key: fCreatedAt, Value: 1}, {Key: fMsgID, Value: 1}}},
		// Aggregate: messages by creation range, and response times.
		{"created_response", bson.D{{Key: fCreatedAt, Value: 1}, {Key: fResponseMS, Value: 1}}},
	}
	convIdx := []index{
		newestFirst("created", fCreatedAt),
		newestFirst("user_created", fCreatedAt, fUserID),
		newestFirst("status_created", fCreatedAt, fStatus),
		newestFirst("mode_created", fCreatedAt, fMode),
		newestFirst("updated", fUpdatedAt),
		newestFirst("messages", fMessageCount),
		newestFirst("tokens", fTotalTokens),
	}
	auditIdx := []index{
		newestFirst("at", fAt),
		newestFirst("conversation_at", fAt, fConversationID),
		newestFirst("actor_at", fAt, fActor),
	}
	// The usage listing, newest day first then user then model, alone and
	// for one user (also a user's rows of a period) or one model. Replies
	// and user documents are read by _id only.
	usageIdx := []index{
		{"day_user_model", bson.D{{Key: fDay, Value: -1}, {Key: fUserID, Value: 1}, {Key: fModel, Value: 1}}},
		{"user_day_model", bson.D{{Key: fUserID, Value: 1}, {Key: fDay, Value: -1}, {Key: fModel, Value: 1}}},
		{"model_day_user", bson.D{{Key: fModel, Value: 1}, {Key: fDay, Value: -1}, {Key: fUserID, Value: 1}}},
	}
	// Blob listings by (created_at, conversation_id, id): alone (a bound
	// on created_at), after a user, after a conversation. Chunks are read
	// by _id only.
	blobIdx := []index{
		{"created_conversation_id", bson.D{{Key: fCreatedAt, Value: 1}, {Key: fConversationID, Value: 1}, {Key: fMsgID, Value: 1}}},
		{"user_created_conversation_id", bson.D{{Key: fUserID, Value: 1}, {Key: fCreatedAt, Value: 1}, {Key: fConversationID, Value: 1}, {Key: fMsgID, Value: 1}}},
		{"conversation_created_id", bson.D{{Key: fConversationID, Value: 1}, {Key: fCreatedAt, Value: 1}, {Key: fMsgID, Value: 1}}},
	}
	err := s.do(ctx, "create indexes", func(ctx context.Context) error {
		if err := createMissing(ctx, s.blobs, blobIdx); err != nil {
			return err
		}
		if err := createMissing(ctx, s.msgs, msgIdx); err != nil {
			return err
		}
		if err := createMissing(ctx, s.convs, convIdx); err != nil {
			return err
		}
		if err := createMissing(ctx, s.usageRows, usageIdx); err != nil {
			return err
		}
		return createMissing(ctx, s.audit, auditIdx)
	})
	if err != nil {
		return err
	}
	if s.cfg.retentionTTL == 0 {
		return nil
	}
	secs := int32(min(s.cfg.retentionTTL.Seconds(), float64(1<<31-1)))
	err = s.do(ctx, "create TTL indexes", func(ctx context.Context) error {
		if _, err := s.msgs.Indexes().CreateOne(ctx, mongo.IndexModel{
			Keys:    bson.D{{Key: "created_at", Value: 1}},
			Options: options.Index().SetName("ttl_created").SetExpireAfterSeconds(secs),
		}); err != nil {
			return err
		}
		_, err := s.convs.Indexes().CreateOne(ctx, mongo.IndexModel{
			Keys:    bson.D{{Key: "updated_at", Value: 1}},
			Options: options.Index().SetName("ttl_updated").SetExpireAfterSeconds(secs),
		})
		return err
	})
	var se mongo.ServerError
	switch {
	case err == nil:
		s.retention = true
	case errors.As(err, &se):
		// The server answered but refused: it has no TTL indexes.
		s.cfg.logger.WarnContext(ctx, "mongostore: the server refused TTL indexes; data will not expire", "error", err)
	default:
		return err
	}
	return nil
}

// index is a named index.
type index struct {
	name string
	keys bson.D
}

// newestFirst is the index of a listing by (key, _id), descending, after
// equality on the prefix fields.
func newestFirst(name, key string, prefix ...string) index {
	keys := bson.D{}
	for _, p := range prefix {
		keys = append(keys, bson.E{Key: p, Value: 1})
	}
	return index{name, append(keys, bson.E{Key: key, Value: -1}, bson.E{Key: fID, Value: -1})}
}

// createMissing creates the indexes coll lacks, by name. Asking for
// existing indexes is a no-op on MongoDB, but FerretDB 1.x drops the
// connection when asked to create an index that exists, so a second New on
// one database would fail there.
func createMissing(ctx context.Context, coll *mongo.Collection, indexes []index) error {
	specs, err := coll.Indexes().ListSpecifications(ctx)
	if err != nil {
		return err
	}
	have := make(map[string]bool, len(specs))
	for _, spec := range specs {
		have[spec.Name] = true
	}
	var missing []mongo.IndexModel
	for _, ix := range indexes {
		if !have[ix.name] {
			missing = append(missing, mongo.IndexModel{Keys: ix.keys, Options: options.Index().SetName(ix.name)})
		}
	}
	if len(missing) == 0 {
		return nil
	}
	_, err = coll.Indexes().CreateMany(ctx, missing)
	return err
}
