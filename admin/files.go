package admin

import (
	"context"
	"crypto/rand"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/chatboxsdk/chatbox/protocol"
	"github.com/chatboxsdk/chatbox/storage"
)

// FilesErased is the answer of DELETE /users/{id}/files.
type FilesErased struct {
	Deleted int `json:"deleted"`
}

// userFilesPath matches /users/{id}/files.
func userFilesPath(escapedPath string) (string, bool) {
	rest, ok := strings.CutPrefix("/"+strings.TrimPrefix(escapedPath, "/"), "/users/")
	if !ok {
		return "", false
	}
	raw, ok := strings.CutSuffix(rest, "/files")
	if !ok || raw == "" || strings.Contains(raw, "/") {
		return "", false
	}
	id, err := url.PathUnescape(raw)
	return id, err == nil && id != ""
}

// serveEraseFiles deletes every file a user uploaded (a data-erasure
// request) and records it in the audit log.
func (h *Handler) serveEraseFiles(rq *request, user string) {
	if rq.r.Method != http.MethodDelete {
		rq.w.Header().Set("Allow", "DELETE")
		rq.fail(&apiError{http.StatusMethodNotAllowed, &protocol.Error{Code: protocol.CodeInvalidField,
			Message: "method " + rq.r.Method + " is not allowed: use DELETE", Field: "method"}})
		return
	}
	if e := h.admit(rq); e != nil {
		rq.fail(e)
		return
	}
	if h.blobs == nil {
		rq.fail(&apiError{http.StatusNotImplemented, protocol.Errorf(protocol.CodeUnavailable, "this server keeps no files")})
		return
	}
	ctx, cancel := context.WithTimeout(rq.r.Context(), 10*h.storeTimeout)
	defer cancel()
	n, err := storage.DeleteBlobs(ctx, h.blobs, storage.BlobQuery{UserID: user})
	if err != nil {
		rq.fail(rq.storeError(err, "delete files", ""))
		return
	}
	if err := h.store.AppendAudit(ctx, storage.AuditEntry{
		ID: "a_" + rand.Text(), Action: storage.AuditEraseFiles, Actor: rq.operator.UserID, Detail: user, At: h.now().UTC().Truncate(time.Millisecond),
	}); err != nil {
		rq.log.Warn("audit of a file erasure", "err", err)
	}
	rq.respond(http.StatusOK, FilesErased{Deleted: n})
}
