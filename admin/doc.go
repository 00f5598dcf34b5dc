// Package admin serves the operator API: a read-only HTTP JSON API over the
// conversations, transcripts, figures and audit log of a storage.Store.
//
// A Handler expects paths relative to where it is mounted; mount it with
// http.StripPrefix:
//
//	h, err := admin.New(admin.Config{Store: store, Authenticator: authn,
//		Limiter: limiter, OperatorRoles: []string{"operator"}})
//	mux.Handle("/admin/", http.StripPrefix("/admin", h))
//
// # Access
//
// Every request needs a token, sent as "Authorization: Bearer <token>" or,
// when Config.TokenCookie names one, in that cookie. Tokens are never read
// from the URL: a query parameter named token, access_token, jwt, auth or
// authorization is refused with 400. The token's identity must hold one of
// Config.OperatorRoles. Each operator has a request budget
// (Config.Limit), counted under the limiter key "admin:"+UserID.
//
// Requests are checked in this order: path (404), method (405), token in
// the URL (400), the client address's budget (429; Config.AddressLimit,
// spent before any token is verified, so floods of forged tokens cost the
// Authenticator nothing), token (401), role (403), the operator's budget
// (429), query (400), then the store is read.
//
// # Answers
//
// Every answer is JSON with "Cache-Control: no-store" and an X-Request-Id
// header that every log line of the request carries as request_id (with
// the operator's user id as operator once known). Times are RFC 3339 in
// UTC. GET and HEAD are served; other methods get 405 with an Allow header.
//
// Errors have the shape of the chat protocol's errors:
//
//	{"error": {"code": "invalid_field", "message": "limit must be an integer from 1 to 500",
//	           "retryable": false, "field": "limit"}}
//
//	status  code           when
//	400     invalid_field  a bad query value or a token in the URL; "field" names the parameter
//	                       ("cursor" for a cursor the store refuses); unknown and repeated
//	                       parameters are refused too
//	401     unauthorized   no token, or an invalid or expired one (with WWW-Authenticate: Bearer)
//	403     forbidden      the identity holds no operator role
//	404     not_found      unknown path or conversation
//	405     invalid_field  a method other than GET or HEAD ("field": "method"), with Allow
//	429     rate_limited   the address's or the operator's budget is spent; Retry-After (whole seconds, at
//	                       least 1) and "retry_after_ms" say when to come back
//	500     internal       a bug; "ref" identifies the failure in the server log
//	503     unavailable    the store or the authenticator is unreachable or too slow;
//	                       retryable, with a "ref"
//
// Query values are at most MaxValueBytes long (cursors MaxCursorBytes).
// Listings take limit (1 to 500, default 50) and cursor: pass a page's
// next_cursor, with the same other parameters, to get the next page;
// next_cursor is absent on the last page.
//
// # GET /conversations
//
// Lists conversations. Parameters, all optional, combining with AND:
//
//	user               owner's user id
//	status             active | ended
//	mode               ai | waiting | operator
//	needs_help         true: the users asked for a person (same as mode=waiting)
//	operator_assisted  true | false: an operator wrote in the conversation
//	model              the model the conversation was opened with
//	created_from       RFC 3339; created at or after
//	created_before     RFC 3339; created before
//	sort               created | updated (last activity; default) | messages | tokens
//	order              desc (default) | asc; ties are ordered by id
//	limit, cursor      paging
//
// total counts every match, not only the page:
//
//	{
//	  "conversations": [{
//	    "id": "c-8f2k", "user_id": "u-42", "title": "Refund for order 1187", "model": "gpt-4o-mini",
//	    "status": "active", "mode": "operator", "operator": "op-7", "operator_name": "Olivia",
//	    "metadata": {"plan": "pro"},
//	    "created_at": "2030-01-02T09:00:00Z", "updated_at": "2030-01-02T09:04:10Z",
//	    "mode_changed_at": "2030-01-02T09:03:00Z",
//	    "stats": {"message_count": 6, "operator_assisted": true, "input_tokens": 812,
//	              "output_tokens": 230, "responses": 2, "response_ms_avg": 1450,
//	              "response_ms_min": 1200, "response_ms_max": 1700}
//	  }],
//	  "next_cursor": "AWN1...",
//	  "total": 123
//	}
//
// operator is present only in mode "operator"; ended_at only once ended;
// mode_changed_at only if the mode ever changed; metadata only if set.
// Response times are milliseconds.
//
// # GET /conversations/{id}
//
// One conversation, in the shape above; 404 not_found if unknown.
//
// # GET /conversations/{id}/messages
//
// The transcript, paged with limit and cursor; order is asc (oldest first;
// default) or desc. 404 not_found if the conversation is unknown.
//
//	{
//	  "messages": [
//	    {"id": "m1", "role": "user", "text": "Where is my refund?", "status": "complete",
//	     "created_at": "2030-01-02T09:00:00Z"},
//	    {"id": "m2", "role": "assistant", "text": "Let me check.", "status": "complete",
//	     "finish_reason": "stop", "model": "gpt-4o-mini", "reply_to": "m1",
//	     "usage": {"input_tokens": 406, "output_tokens": 115},
//	     "created_at": "2030-01-02T09:00:01Z", "updated_at": "2030-01-02T09:00:02.2Z"}
//	  ],
//	  "next_cursor": "AW1..."
//	}
//
// finish_reason, error, model, reply_to, usage and updated_at are absent
// when empty.
//
// # GET /metrics
//
// The figures of [from, before), both RFC 3339 and optional: the default is
// the DefaultMetricsRange (24 hours) ending now; one bound alone spans 24
// hours from or until it. Conversations, messages and responses count what
// was created in the range; help_requests counts requests for a person
// made in it; active_now counts the conversations live right now. The
// response-time percentiles (nearest rank) are in milliseconds.
//
//	{
//	  "from": "2030-01-01T12:00:00Z", "before": "2030-01-02T12:00:00Z",
//	  "conversations": 310, "active_now": 12, "messages": 2480,
//	  "input_tokens": 1208000, "output_tokens": 301000, "responses": 1090,
//	  "response_ms_p50": 1300, "response_ms_p90": 2900, "response_ms_p99": 6100,
//	  "operator_assisted": 14, "help_requests": 21
//	}
//
// # GET /audit
//
// The audit log of operator actions, newest first. Parameters, all
// optional: conversation (id), actor (user id), action (takeover, release,
// end, help_request...), from and before (RFC 3339, on the entry's time),
// limit, cursor.
//
//	{
//	  "entries": [
//	    {"id": "a-91", "at": "2030-01-02T09:03:00Z", "actor": "op-7", "action": "takeover",
//	     "conversation_id": "c-8f2k"}
//	  ],
//	  "next_cursor": "AWE..."
//	}
//
// conversation_id and detail are absent when empty.
//
// # GET /usage
//
// Usage per user, model and UTC day, newest day first (then by user and
// model). Parameters, all optional: user (id), model (id), from and
// before (RFC 3339; the days they fall on bound the listing, before
// excluded), limit, cursor. With user (and no model), totals sums every
// matching day. cost is in the price table's currency unit; a reply whose
// provider reported no usage is counted with the server's estimate (one
// token per four characters) and in estimated_replies. 501 unavailable
// when the store keeps no usage.
//
//	{
//	  "rows": [
//	    {"user_id": "u-42", "model": "fast", "day": "2030-01-02", "replies": 12,
//	     "input_tokens": 18400, "output_tokens": 3100, "cost": 0.0231}
//	  ],
//	  "totals": {"replies": 40, "input_tokens": 61000, "output_tokens": 9800, "cost": 0.077},
//	  "next_cursor": "AWE..."
//	}
//
// # DELETE /users/{id}/files
//
// Deletes every file the user uploaded, in every conversation (a
// data-erasure request), and records it in the audit log (action
// erase_files, detail the user id). 501 unavailable when the server keeps
// no files.
//
//	{"deleted": 12}
package admin
