package pgstore

import (
	"context"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/chatboxsdk/chatbox/storage"
)

// sortColumn is the column a conversation listing orders by.
func sortColumn(s storage.ConversationSort) string {
	switch s {
	case storage.SortByUpdated:
		return "updated_at"
	case storage.SortByMessages:
		return "message_count"
	case storage.SortByTokens:
		return "total_tokens"
	default:
		return "created_at"
	}
}

// sortKey returns c's key in a listing by s.
func sortKey(c storage.Conversation, s storage.ConversationSort) any {
	switch s {
	case storage.SortByUpdated:
		return c.UpdatedAt
	case storage.SortByMessages:
		return c.Stats.MessageCount
	case storage.SortByTokens:
		return c.Stats.Usage.InputTokens + c.Stats.Usage.OutputTokens
	default:
		return c.CreatedAt
	}
}

// conversationFilter returns the conditions of q's filters, cursor aside,
// joined with AND ("TRUE" for none), and their arguments.
func conversationFilter(q storage.ConversationQuery) (string, []any) {
	var (
		conds []string
		args  []any
	)
	add := func(cond string, v any) {
		args = append(args, v)
		conds = append(conds, fmt.Sprintf(cond, len(args)))
	}
	if q.UserID != "" {
		add("user_id = $%d", q.UserID)
	}
	if q.Status != "" {
		add("status = $%d", string(q.Status))
	}
	if q.Mode != "" {
		add("mode = $%d", string(q.Mode.Normalize()))
	}
	if q.Model != "" {
		add("model = $%d", q.Model)
	}
	if q.OperatorAssisted != nil {
		add("operator_assisted = $%d", *q.OperatorAssisted)
	}
	if !q.CreatedFrom.IsZero() {
		add("created_at >= $%d", q.CreatedFrom)
	}
	if !q.CreatedBefore.IsZero() {
		add("created_at < $%d", q.CreatedBefore)
	}
	if len(conds) == 0 {
		return "TRUE", nil
	}
	return strings.Join(conds, " AND "), args
}

// ListConversations implements storage.Store with keyset paging: a page
// is the rows after the cursor's (key, id) in the order of the sort, which
// an index on (key, id) serves in either direction; a query with WithTotal
// also counts the matches. An unknown Sort or Mode, or a cursor of another
// sort or direction, gives storage.ErrInvalid.
func (s *Store) ListConversations(ctx context.Context, q storage.ConversationQuery) (storage.ConversationPage, error) {
	if err := ctx.Err(); err != nil {
		return storage.ConversationPage{}, fmt.Errorf("pgstore: list conversations: %w", err)
	}
	pq, err := s.conversationPage(q)
	if err != nil {
		return storage.ConversationPage{}, err
	}
	page := storage.ConversationPage{Total: -1}
	err = s.do(ctx, "list conversations", func(ctx context.Context) error {
		rows, err := s.pool.Query(ctx, pq.sql, pq.args...)
		if err != nil {
			return err
		}
		page.Conversations, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (storage.Conversation, error) {
			return scanConversation(r)
		})
		if err != nil {
			return err
		}
		if q.WithTotal {
			return s.pool.QueryRow(ctx, pq.countSQL, pq.countArgs...).Scan(&page.Total)
		}
		return nil
	})
	if err != nil {
		return storage.ConversationPage{}, err
	}
	if limit := pq.limit; len(page.Conversations) > limit {
		page.Conversations = page.Conversations[:limit]
		last := page.Conversations[limit-1]
		page.NextCursor = encodeCursor(pq.l, position{sortKey(last, q.Sort), last.ID})
	}
	if page.Conversations == nil {
		page.Conversations = []storage.Conversation{}
	}
	return page, nil
}

// pageQuery is the statement of one page of a listing and, for
// conversations, of its total.
type pageQuery struct {
	l         listing
	limit     int
	sql       string
	args      []any
	countSQL  string
	countArgs []any
}

// conversationPage builds the statements of the page q asks for: the
// matches after the cursor, in the order of the sort, one more than the
// limit to tell whether another page follows.
func (s *Store) conversationPage(q storage.ConversationQuery) (pageQuery, error) {
	if q.Sort < storage.SortByCreated || q.Sort > storage.SortByTokens {
		return pageQuery{}, fmt.Errorf("pgstore: list conversations: unknown sort %d: %w", q.Sort, storage.ErrInvalid)
	}
	if q.Mode != "" && !q.Mode.Valid() {
		return pageQuery{}, fmt.Errorf("pgstore: list conversations: unknown mode %q: %w", q.Mode, storage.ErrInvalid)
	}
	l := listing{kind: kindConversations, order: storage.Descending, sort: q.Sort}
	dir := "DESC"
	if q.Ascending {
		l.order, dir = storage.Ascending, "ASC"
	}
	where, args := conversationFilter(q)
	pq := pageQuery{l: l, limit: storage.ClampLimit(q.Limit), countSQL: s.sql("SELECT count(*) FROM @.conversations WHERE " + where), countArgs: args}
	col := sortColumn(q.Sort)
	if q.Cursor != "" {
		p, err := decodeCursor(q.Cursor, l)
		if err != nil {
			return pageQuery{}, err
		}
		var cond string
		cond, args = after(p, col, "id", l.order, args[:len(args):len(args)])
		where += " AND " + cond
	}
	args = append(args, pq.limit+1)
	pq.sql = s.sql(fmt.Sprintf("SELECT %s FROM @.conversations WHERE %s ORDER BY %s %s, id %s LIMIT $%d",
		convColumns, where, col, dir, dir, len(args)))
	pq.args = args
	return pq, nil
}
