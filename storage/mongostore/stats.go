package mongostore

import (
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
	fCachedTokens     = "cached_input_tokens"
	fReasoningTokens  = "reasoning_tokens"
	fTotalTokens      = "total_tokens"
	fResponseCount    = "response_count"
	fResponseMSTotal  = "response_ms_total"
	fResponseMSMin    = "response_ms_min"
	fResponseMSMax    = "response_ms_max"
)

// statsDoc holds a conversation document's statistics. MessageCount and
// TotalTokens (input plus output, the key of storage.SortByTokens) are
// inserted as zero so listings can sort and page by them; the others
// appear with their first update ($min needs the minimum absent until the
// first response).
type statsDoc struct {
	MessageCount     int64 `bson:"message_count"`
	TotalTokens      int64 `bson:"total_tokens"`
	OperatorAssisted bool  `bson:"operator_assisted,omitempty"`
	InputTokens      int64 `bson:"input_tokens,omitempty"`
	OutputTokens     int64 `bson:"output_tokens,omitempty"`
	CachedTokens     int64 `bson:"cached_input_tokens,omitempty"`
	ReasonTokens     int64 `bson:"reasoning_tokens,omitempty"`
	ResponseCount    int64 `bson:"response_count,omitempty"`
	ResponseMSTotal  int64 `bson:"response_ms_total,omitempty"`
	ResponseMSMin    int64 `bson:"response_ms_min,omitempty"`
	ResponseMSMax    int64 `bson:"response_ms_max,omitempty"`
}

func (d statsDoc) stats() storage.ConversationStats {
	return storage.ConversationStats{
		MessageCount:     d.MessageCount,
		OperatorAssisted: d.OperatorAssisted,
		Usage: storage.Usage{InputTokens: d.InputTokens, OutputTokens: d.OutputTokens,
			CachedInputTokens: d.CachedTokens, ReasoningTokens: d.ReasonTokens},
		Responses:         d.ResponseCount,
		ResponseTimeTotal: time.Duration(d.ResponseMSTotal) * time.Millisecond,
		ResponseTimeMin:   time.Duration(d.ResponseMSMin) * time.Millisecond,
		ResponseTimeMax:   time.Duration(d.ResponseMSMax) * time.Millisecond,
	}
}

// usageInc appends to inc the increments of a change of usage by d, one
// per field that moved, and of total_tokens by its input and output.
func usageInc(inc bson.D, d storage.Usage) bson.D {
	for _, f := range []struct {
		name string
		n    int64
	}{
		{fInputTokens, d.InputTokens},
		{fOutputTokens, d.OutputTokens},
		{fCachedTokens, d.CachedInputTokens},
		{fReasoningTokens, d.ReasoningTokens},
		{fTotalTokens, d.InputTokens + d.OutputTokens},
	} {
		if f.n != 0 {
			inc = append(inc, bson.E{Key: f.name, Value: f.n})
		}
	}
	return inc
}

// usageDiff returns now minus old, field by field.
func usageDiff(now, old storage.Usage) storage.Usage {
	return storage.Usage{
		InputTokens:       now.InputTokens - old.InputTokens,
		OutputTokens:      now.OutputTokens - old.OutputTokens,
		CachedInputTokens: now.CachedInputTokens - old.CachedInputTokens,
		ReasoningTokens:   now.ReasoningTokens - old.ReasoningTokens,
	}
}

// unfinished reports whether a message stored with status st has yet to
// complete: streaming, or paused awaiting approval.
func unfinished(st string) bool {
	return st == string(storage.MessageStreaming) || st == string(storage.MessageAwaitingApproval)
}

// responseTime returns the response time, in whole milliseconds, of an
// update from before to m, and whether the update completed the reply: it
// did if it took the message from streaming or awaiting approval to
// complete with an UpdatedAt no earlier than the message's CreatedAt. A
// reply that paused for approval and resumed completes once.
func responseTime(before msgDoc, m storage.Message) (int64, bool) {
	if !unfinished(before.Status) || m.Status != storage.MessageComplete || m.UpdatedAt.IsZero() {
		return 0, false
	}
	rt := int64(date(m.UpdatedAt) - before.CreatedAt)
	return rt, rt >= 0
}

// replyStats returns the conversation update an UpdateMessage from before
// to m implies, or nil when it changes no figure.
func replyStats(before msgDoc, m storage.Message) bson.D {
	inc := usageInc(bson.D{}, usageDiff(m.Usage, before.usage()))
	var update bson.D
	if rt, ok := responseTime(before, m); ok {
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
