package mongostore

import (
	"context"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/chatboxsdk/chatbox/storage"
)

// Statistics fields of a conversation document.
const (
	fMessageCount     = "message_count"
	fOperatorAssisted = "operator_assisted"
	fInputTokens      = "input_tokens"
	fOutputTokens     = "output_tokens"
	fResponseCount    = "response_count"
	fResponseMSTotal  = "response_ms_total"
	fResponseMSMin    = "response_ms_min"
	fResponseMSMax    = "response_ms_max"
)

// Stats are a conversation's aggregates, maintained by the store as
// messages are appended and replies finish.
type Stats struct {
	// MessageCount counts the messages created in the conversation.
	MessageCount int64
	// OperatorAssisted is true once an operator message was appended.
	OperatorAssisted bool
	// Usage sums the token usage of the conversation's messages.
	Usage storage.Usage
	// Responses counts replies that went from streaming to complete; the
	// response times are from a reply's CreatedAt to the UpdatedAt of the
	// update that completed it.
	Responses         int64
	ResponseTimeTotal time.Duration
	ResponseTimeMin   time.Duration
	ResponseTimeMax   time.Duration
}

type statsDoc struct {
	MessageCount     int64 `bson:"message_count"`
	OperatorAssisted bool  `bson:"operator_assisted"`
	InputTokens      int64 `bson:"input_tokens"`
	OutputTokens     int64 `bson:"output_tokens"`
	ResponseCount    int64 `bson:"response_count"`
	ResponseMSTotal  int64 `bson:"response_ms_total"`
	ResponseMSMin    int64 `bson:"response_ms_min"`
	ResponseMSMax    int64 `bson:"response_ms_max"`
}

// ConversationStats returns the aggregates of one conversation, or
// storage.ErrNotFound.
func (s *Store) ConversationStats(ctx context.Context, id string) (Stats, error) {
	if err := ctx.Err(); err != nil {
		return Stats{}, fmt.Errorf("mongostore: conversation stats: %w", err)
	}
	var d statsDoc
	err := s.do(ctx, "conversation stats", func(ctx context.Context) error {
		var raw bson.Raw
		var err error
		if raw, err = s.convs.FindOne(ctx, bson.D{{Key: fID, Value: id}}).Raw(); err != nil {
			if _, ferr := s.findConversation(ctx, id); ferr != nil {
				return ferr
			}
			return err
		}
		return bson.Unmarshal(raw, &d)
	})
	if err != nil {
		return Stats{}, err
	}
	return Stats{
		MessageCount:      d.MessageCount,
		OperatorAssisted:  d.OperatorAssisted,
		Usage:             storage.Usage{InputTokens: d.InputTokens, OutputTokens: d.OutputTokens},
		Responses:         d.ResponseCount,
		ResponseTimeTotal: time.Duration(d.ResponseMSTotal) * time.Millisecond,
		ResponseTimeMin:   time.Duration(d.ResponseMSMin) * time.Millisecond,
		ResponseTimeMax:   time.Duration(d.ResponseMSMax) * time.Millisecond,
	}, nil
}

// replyStats returns the conversation update an UpdateMessage from before
// to m implies, or nil when it changes no figure.
func replyStats(before msgDoc, m storage.Message) bson.D {
	inc := bson.D{}
	if d := m.Usage.InputTokens - before.InputTokens; d != 0 {
		inc = append(inc, bson.E{Key: fInputTokens, Value: d})
	}
	if d := m.Usage.OutputTokens - before.OutputTokens; d != 0 {
		inc = append(inc, bson.E{Key: fOutputTokens, Value: d})
	}
	var update bson.D
	completed := before.Status == string(storage.MessageStreaming) && m.Status == storage.MessageComplete
	if rt := m.UpdatedAt.Sub(before.CreatedAt.Time()).Milliseconds(); completed && !m.UpdatedAt.IsZero() && rt >= 0 {
		inc = append(inc, bson.E{Key: fResponseCount, Value: int64(1)}, bson.E{Key: fResponseMSTotal, Value: rt})
		update = append(update,
			bson.E{Key: "$min", Value: bson.D{{Key: fResponseMSMin, Value: rt}}},
			bson.E{Key: "$max", Value: bson.D{{Key: fResponseMSMax, Value: rt}}})
	}
	if len(inc) > 0 {
		update = append(update, bson.E{Key: "$inc", Value: inc})
	}
	return update
}
