package admin

import (
	"maps"
	"net/url"
	"slices"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/chatboxsdk/chatbox/storage"
)

// Limits on query values.
const (
	// MaxValueBytes caps every query value but cursor, and the path's
	// conversation id.
	MaxValueBytes = 256
	// MaxCursorBytes caps the cursor parameter.
	MaxCursorBytes = 4096
)

// query reads an endpoint's query parameters. The first problem found is
// kept in err; later reads return zero values.
type query struct {
	v   url.Values
	err *apiError
}

// parseQuery parses raw and refuses malformed query strings, parameters the
// endpoint does not know, repeated parameters and values over their limit.
func parseQuery(raw string, known ...string) *query {
	q := &query{}
	v, err := url.ParseQuery(raw)
	if err != nil {
		q.err = badField("", "malformed query string")
		return q
	}
	for _, name := range slices.Sorted(maps.Keys(v)) {
		vals := v[name]
		limit := MaxValueBytes
		if name == "cursor" {
			limit = MaxCursorBytes
		}
		switch {
		case !slices.Contains(known, name):
			q.err = badField(name, "unknown parameter %q", name)
		case len(vals) > 1:
			q.err = badField(name, "%s is given more than once", name)
		case len(vals[0]) > limit:
			q.err = badField(name, "%s is longer than %d bytes", name, limit)
		case !utf8.ValidString(vals[0]):
			q.err = badField(name, "%s is not valid UTF-8", name)
		}
		if q.err != nil {
			return q
		}
	}
	q.v = v
	return q
}

func (q *query) fail(e *apiError) {
	if q.err == nil {
		q.err = e
	}
}

// str returns the value of name, "" when absent.
func (q *query) str(name string) string {
	if q.err != nil {
		return ""
	}
	return q.v.Get(name)
}

// enum returns the value of name, which must be one of allowed; def when
// absent.
func (q *query) enum(name, def string, allowed ...string) string {
	s := q.str(name)
	if s == "" {
		return def
	}
	if !slices.Contains(allowed, s) {
		q.fail(badField(name, "%s must be one of %v", name, allowed))
		return def
	}
	return s
}

// boolean returns the value of name ("true" or "false"), nil when absent.
func (q *query) boolean(name string) *bool {
	switch q.str(name) {
	case "":
		return nil
	case "true":
		b := true
		return &b
	case "false":
		b := false
		return &b
	}
	q.fail(badField(name, "%s must be true or false", name))
	return nil
}

// time returns the RFC 3339 time of name, the zero time when absent.
func (q *query) time(name string) time.Time {
	s := q.str(name)
	if s == "" {
		return time.Time{}
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		q.fail(badField(name, "%s must be an RFC 3339 time such as 2030-01-02T15:04:05Z", name))
		return time.Time{}
	}
	return t
}

// limit returns the page size: 1..storage.MaxPageSize, default
// storage.DefaultPageSize.
func (q *query) limit() int {
	s := q.str("limit")
	if s == "" {
		return storage.DefaultPageSize
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > storage.MaxPageSize {
		q.fail(badField("limit", "limit must be an integer from 1 to %d", storage.MaxPageSize))
		return storage.DefaultPageSize
	}
	return n
}

// timeRange reads a [from, before) pair and refuses before < from.
func (q *query) timeRange(fromName, beforeName string) (from, before time.Time) {
	from, before = q.time(fromName), q.time(beforeName)
	if !from.IsZero() && !before.IsZero() && before.Before(from) {
		q.fail(badField(beforeName, "%s must not be before %s", beforeName, fromName))
	}
	return from, before
}
