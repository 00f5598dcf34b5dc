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
	retention bool
}

var _ storage.Store = (*Store)(nil)

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

// ensureIndexes creates the indexes the queries need.
func (s *Store) ensureIndexes(ctx context.Context) error {
	msgIdx := []mongo.IndexModel{{
		Keys:    bson.D{{Key: "conversation_id", Value: 1}, {Key: "created_at", Value: 1}, {Key: "id", Value: 1}},
		Options: options.Index().SetName("conversation_created_id"),
	}}
	convIdx := []mongo.IndexModel{
		{
			Keys:    bson.D{{Key: "created_at", Value: -1}, {Key: "_id", Value: -1}},
			Options: options.Index().SetName("created"),
		},
		{
			Keys:    bson.D{{Key: "user_id", Value: 1}, {Key: "created_at", Value: -1}, {Key: "_id", Value: -1}},
			Options: options.Index().SetName("user_created"),
		},
		{
			Keys:    bson.D{{Key: "status", Value: 1}, {Key: "created_at", Value: -1}, {Key: "_id", Value: -1}},
			Options: options.Index().SetName("status_created"),
		},
	}
	err := s.do(ctx, "create indexes", func(ctx context.Context) error {
		if _, err := s.msgs.Indexes().CreateMany(ctx, msgIdx); err != nil {
			return err
		}
		_, err := s.convs.Indexes().CreateMany(ctx, convIdx)
		return err
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
