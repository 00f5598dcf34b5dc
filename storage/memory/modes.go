package memory

import (
	"context"
	"fmt"
	"slices"

	"github.com/chatboxsdk/chatbox/storage"
)

// ChangeMode applies c under the store's lock, so concurrent changes of
// one conversation are serialized and exactly one of several racing
// takeovers wins. See storage.ModeChange for the rules and errors.
func (s *Store) ChangeMode(ctx context.Context, c storage.ModeChange) (storage.Conversation, bool, error) {
	if err := ctx.Err(); err != nil {
		return storage.Conversation{}, false, err
	}
	from, err := c.Validate()
	if err != nil {
		return storage.Conversation{}, false, fmt.Errorf("memory: change mode: %w", err)
	}
	to := c.To.Normalize()
	holder, name := "", ""
	if to == storage.ModeOperator {
		holder, name = c.Operator, c.OperatorName
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.convs[c.ConversationID]
	if !ok {
		return storage.Conversation{}, false, notFoundConversation(c.ConversationID)
	}
	stored := e.c.Mode.Normalize()
	switch {
	case e.c.Status == storage.StatusEnded:
		return copyConversation(e.c), false, fmt.Errorf("memory: change mode of %q: conversation ended: %w", c.ConversationID, storage.ErrConflict)
	case stored == to && e.c.Operator == holder:
		return copyConversation(e.c), false, nil // already as asked: a retry
	case !slices.Contains(from, stored):
		return copyConversation(e.c), false, fmt.Errorf("memory: change mode of %q: mode is %q, not one of %q: %w",
			c.ConversationID, stored, from, storage.ErrConflict)
	case stored == storage.ModeOperator && e.c.Operator != c.Operator:
		return copyConversation(e.c), false, fmt.Errorf("memory: change mode of %q: held by another operator: %w",
			c.ConversationID, storage.ErrConflict)
	}
	e.c.Mode, e.c.Operator, e.c.OperatorName, e.c.ModeChangedAt = to, holder, name, c.At.Round(0)
	return copyConversation(e.c), true, nil
}
