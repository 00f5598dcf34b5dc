package admin

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/chatboxsdk/chatbox/auth"
	"github.com/chatboxsdk/chatbox/protocol"
	"github.com/chatboxsdk/chatbox/storage"
)

// request is the state of one request.
type request struct {
	w  http.ResponseWriter
	r  *http.Request
	id string // request id: generated here, never taken from the client
	// log carries request_id, and operator once authenticated.
	log      *slog.Logger
	operator auth.Identity
	convID   string // the {id} of the path, for the routes that have one
	status   int    // the status written, for the request's log line
}

// apiError is an error answer: an HTTP status and the client-facing error.
type apiError struct {
	status int
	err    *protocol.Error
}

// badField is a 400 invalid_field answer naming field.
func badField(field, format string, args ...any) *apiError {
	return &apiError{http.StatusBadRequest, &protocol.Error{
		Code: protocol.CodeInvalidField, Message: fmt.Sprintf(format, args...), Field: field}}
}

// errorEnvelope is the JSON shape of every error answer.
type errorEnvelope struct {
	Error *protocol.ErrorBody `json:"error"`
}

// respond writes v as JSON with status.
func (rq *request) respond(status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		ref := newRef()
		rq.log.Error("admin: encoding the answer failed", "ref", ref, "err", err)
		rq.fail(&apiError{http.StatusInternalServerError, &protocol.Error{
			Code: protocol.CodeInternal, Message: "internal error", Ref: ref}})
		return
	}
	rq.write(status, b)
}

// fail writes e. A rate_limited error also sets Retry-After, in whole
// seconds rounded up and at least 1.
func (rq *request) fail(e *apiError) {
	if e.err.RetryAfter > 0 {
		secs := (e.err.RetryAfter + time.Second - 1) / time.Second
		rq.w.Header().Set("Retry-After", strconv.FormatInt(int64(max(secs, 1)), 10))
	}
	body := e.err.Body()
	if e.err.RetryAfter > 0 {
		// Round up, as Retry-After does: retrying after the advertised
		// time must not be refused again.
		body.RetryAfterMS = int64((e.err.RetryAfter + time.Millisecond - 1) / time.Millisecond)
	}
	b, err := json.Marshal(errorEnvelope{body})
	if err != nil { // cannot happen: the body holds strings and numbers only
		b = []byte(`{"error":{"code":"internal","message":"internal error","retryable":false}}`)
	}
	rq.write(e.status, b)
}

func (rq *request) write(status int, b []byte) {
	hd := rq.w.Header()
	hd.Set("Content-Type", "application/json")
	hd.Set("Cache-Control", "no-store")
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Content-Length", strconv.Itoa(len(b)+1))
	rq.status = status
	rq.w.WriteHeader(status)
	_, _ = rq.w.Write(append(b, '\n'))
}

// storeError maps a failed Store call to an answer. invalidField names the
// query parameter blamed for storage.ErrInvalid (the cursor, for listings).
// Internal details are logged with a reference, never sent.
func (rq *request) storeError(err error, op, invalidField string) *apiError {
	switch {
	case errors.Is(err, storage.ErrNotFound):
		return &apiError{http.StatusNotFound, protocol.Errorf(protocol.CodeNotFound, "no such conversation")}
	case errors.Is(err, storage.ErrInvalid):
		rq.log.Info("admin: store refused the query", "op", op, "err", err)
		return badField(invalidField, "invalid %s", invalidField)
	case errors.Is(err, storage.ErrUnavailable), errors.Is(err, context.DeadlineExceeded):
		ref := newRef()
		rq.log.Warn("admin: store unavailable", "op", op, "ref", ref, "err", err)
		return &apiError{http.StatusServiceUnavailable, &protocol.Error{
			Code: protocol.CodeUnavailable, Message: "storage is temporarily unavailable", Ref: ref}}
	case errors.Is(err, context.Canceled) && rq.r.Context().Err() != nil:
		// The client went away; nobody reads this answer.
		rq.log.Debug("admin: request canceled", "op", op)
		return &apiError{http.StatusServiceUnavailable, protocol.Errorf(protocol.CodeUnavailable, "request canceled")}
	default:
		ref := newRef()
		rq.log.Error("admin: internal error", "op", op, "ref", ref, "err", err)
		return &apiError{http.StatusInternalServerError, &protocol.Error{
			Code: protocol.CodeInternal, Message: "internal error", Ref: ref}}
	}
}

// newRef returns a reference that ties a client-facing error to its log
// line.
func newRef() string { return rand.Text()[:12] }

// newRequestID returns a fresh request id.
func newRequestID() string { return rand.Text()[:16] }
