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
	ResponseCount    int64 `bson:"response_count,omitempty"`
	ResponseMSTotal  int64 `bson:"response_ms_total,omitempty"`
	ResponseMSMin    int64 `bson:"response_ms_min,omitempty"`
	ResponseMSMax    int64 `bson:"response_ms_max,omitempty"`
}

func (d statsDoc) stats() storage.ConversationStats {
	return storage.ConversationStats{
		MessageCount:      d.MessageCount,
		OperatorAssisted:  d.OperatorAssisted,
		Usage:             storage.Usage{InputTokens: d.InputTokens, OutputTokens: d.OutputTokens},
		Responses:         d.ResponseCount,
		ResponseTimeTotal: time.Duration(d.ResponseMSTotal) * time.Millisecond,
		ResponseTimeMin:   time.Duration(d.ResponseMSMin) * time.Millisecond,
		ResponseTimeMax:   time.Duration(d.ResponseMSMax) * time.Millisecond,
	}
}

// usageInc appends to inc the increments of a change of usage by (in, out).
func usageInc(inc bson.D, in, out int64) bson.D {
	if in != 0 {
		inc = append(inc, bson.E{Key: fInputTokens, Value: in})
	}
	if out != 0 {
		inc = append(inc, bson.E{Key: fOutputTokens, Value: out})
	}
	if in+out != 0 {
		inc = append(inc, bson.E{Key: fTotalTokens, Value: in + out})
	}
	return inc
}

// responseTime returns the response time, in whole milliseconds, of an
// update from before to m, and whether the update completed a streaming
// message: it did if it took the message from streaming to complete with
// an UpdatedAt no earlier than the message's CreatedAt.
func responseTime(before msgDoc, m storage.Message) (int64, bool) {
	if before.Status != string(storage.MessageStreaming) || m.Status != storage.MessageComplete || m.UpdatedAt.IsZero() {
		return 0, false
	}
	rt := int64(date(m.UpdatedAt) - before.CreatedAt)
	return rt, rt >= 0
}

// replyStats returns the conversation update an UpdateMessage from before
// to m implies, or nil when it changes no figure.
func replyStats(before msgDoc, m storage.Message) bson.D {
	inc := usageInc(bson.D{}, m.Usage.InputTokens-before.InputTokens, m.Usage.OutputTokens-before.OutputTokens)
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
