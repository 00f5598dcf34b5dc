package chatbox

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/chatboxsdk/chatbox/auth"
	"github.com/chatboxsdk/chatbox/internal/files"
	"github.com/chatboxsdk/chatbox/protocol"
	"github.com/chatboxsdk/chatbox/storage"
)

// Files travel over HTTP, not over the socket:
//
//	POST /files?conversation_id=C&name=N   the body is the file; 201 {"id",...}
//	GET  /files/C/ID                        the file, to its owner or an operator
//
// Both take the same credentials as the socket (a bearer token, the token
// cookie, the host's sign-in) and the same origin rules.

// maxFileNameBytes bounds the display name kept for a file.
const maxFileNameBytes = 200

// fileInfo is the answer to an upload.
type fileInfo struct {
	ID        string `json:"id"`
	Name      string `json:"name"`
	MediaType string `json:"media_type"`
	Size      int64  `json:"size"`
}

// fileIdentity authenticates a file request as the socket upgrade does; it
// answers the request itself when it refuses it.
func (s *Server) fileIdentity(w http.ResponseWriter, r *http.Request) (*auth.Identity, bool) {
	if s.engine.ShuttingDown() {
		httpError(w, http.StatusServiceUnavailable, protocol.Errorf(protocol.CodeShuttingDown, "the server is shutting down"))
		return nil, false
	}
	if !s.origins.allows(r) {
		httpError(w, http.StatusForbidden, protocol.Errorf(protocol.CodeForbiddenOrigin, "this origin may not send files"))
		return nil, false
	}
	id, refused := s.upgradeIdentity(w, r)
	if refused {
		return nil, false
	}
	if id == nil || id.UserID == "" {
		w.Header().Set("WWW-Authenticate", `Bearer`)
		httpError(w, http.StatusUnauthorized, protocol.Errorf(protocol.CodeUnauthorized, "sign in to send or read files"))
		return nil, false
	}
	if s.cfg.Blobs == nil {
		httpError(w, http.StatusNotImplemented, protocol.Errorf(protocol.CodeUnavailable, "this server keeps no files"))
		return nil, false
	}
	return id, true
}

// serveUpload stores one file into a conversation of the user's.
func (s *Server) serveUpload(w http.ResponseWriter, r *http.Request) {
	id, ok := s.fileIdentity(w, r)
	if !ok {
		return
	}
	convID := r.URL.Query().Get("conversation_id")
	name := cleanFileName(r.URL.Query().Get("name"))
	ctx, cancel := context.WithTimeout(r.Context(), 4*s.cfg.StoreTimeout)
	defer cancel()
	if perr := s.allowUpload(ctx, id.UserID); perr != nil {
		httpError(w, http.StatusTooManyRequests, perr)
		return
	}
	conv, err := s.cfg.Store.GetConversation(ctx, convID)
	switch {
	case convID == "" || errors.Is(err, storage.ErrNotFound) || err == nil && conv.UserID != id.UserID:
		httpError(w, http.StatusNotFound, protocol.Errorf(protocol.CodeNotFound, "no such conversation for this user"))
		return
	case err != nil:
		s.fileStoreError(w, err, "get conversation")
		return
	case conv.Status == storage.StatusEnded:
		httpError(w, http.StatusConflict, protocol.Errorf(protocol.CodeConversationEnded, "the conversation has ended"))
		return
	}
	tmp, size, perr := s.spool(w, r)
	if perr != nil {
		return
	}
	defer func() { _ = tmp.Close(); _ = os.Remove(tmp.Name()) }()
	if perr := s.checkDailyUploads(ctx, id.UserID, size); perr != nil {
		httpError(w, http.StatusTooManyRequests, perr)
		return
	}
	mediaType, err := files.Inspect(tmp, size, name, files.Limits{Types: s.cfg.FileTypes, MaxPixels: s.cfg.MaxImagePixels, MaxPages: s.cfg.MaxPDFPages})
	var refusal *files.Refusal
	switch {
	case errors.As(err, &refusal):
		httpError(w, http.StatusUnsupportedMediaType, &protocol.Error{Code: protocol.CodeFileRefused, Message: refusal.Message, Field: refusal.Code})
		return
	case err != nil:
		httpError(w, http.StatusInternalServerError, internalFileError(s, err, "read upload"))
		return
	}
	if name == "" {
		name = "file"
	}
	if s.cfg.FileCheck != nil {
		check := FileCheck{UserID: id.UserID, ConversationID: convID, Name: name, MediaType: mediaType, Size: size,
			Open: func() io.Reader { return io.NewSectionReader(tmp, 0, size) }}
		if err := s.cfg.FileCheck(ctx, toConfFileCheck(check)); err != nil {
			s.cfg.Logger.Info("file refused by the host's check", "user", id.UserID, "conversation", convID, "err", err)
			httpError(w, http.StatusUnprocessableEntity, &protocol.Error{Code: protocol.CodeFileRefused, Message: "the file was refused", Field: "check"})
			return
		}
	}
	b, err := s.cfg.Blobs.PutBlob(ctx, storage.Blob{
		ID: "f_" + rand.Text(), ConversationID: convID, UserID: id.UserID, Name: name, MediaType: mediaType,
		CreatedAt: s.cfg.Now().UTC().Truncate(time.Millisecond),
	}, io.NewSectionReader(tmp, 0, size), s.cfg.MaxFileBytes)
	if err != nil {
		s.fileStoreError(w, err, "put blob")
		return
	}
	writeJSON(w, http.StatusCreated, fileInfo{ID: b.ID, Name: b.Name, MediaType: b.MediaType, Size: b.Size})
}

// spool copies the request's body to a temporary file, at most
// MaxFileBytes; it answers the request itself when it fails.
func (s *Server) spool(w http.ResponseWriter, r *http.Request) (*os.File, int64, *protocol.Error) {
	tmp, err := os.CreateTemp("", "chatbox-upload-*")
	if err != nil {
		perr := internalFileError(s, err, "spool upload")
		httpError(w, http.StatusInternalServerError, perr)
		return nil, 0, perr
	}
	n, err := io.Copy(tmp, http.MaxBytesReader(w, r.Body, s.cfg.MaxFileBytes))
	if err != nil {
		_ = tmp.Close()
		_ = os.Remove(tmp.Name())
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			perr := &protocol.Error{Code: protocol.CodeTooLarge, Message: fmt.Sprintf("a file may have at most %d bytes", s.cfg.MaxFileBytes), Field: "file"}
			httpError(w, http.StatusRequestEntityTooLarge, perr)
			return nil, 0, perr
		}
		perr := protocol.Errorf(protocol.CodeInvalidField, "the upload was cut short")
		httpError(w, http.StatusBadRequest, perr)
		return nil, 0, perr
	}
	if n == 0 {
		_ = tmp.Close()
		_ = os.Remove(tmp.Name())
		perr := &protocol.Error{Code: protocol.CodeInvalidField, Message: "the file is empty", Field: "file"}
		httpError(w, http.StatusBadRequest, perr)
		return nil, 0, perr
	}
	return tmp, n, nil
}

// allowUpload spends one of the user's message budget per upload.
func (s *Server) allowUpload(ctx context.Context, userID string) *protocol.Error {
	d, err := s.cfg.Limiter.Allow(ctx, "upload:"+userID, s.cfg.MessageRate)
	if err != nil || d.Allowed {
		return nil // a limiter that fails lets the request through, as everywhere
	}
	perr := protocol.Errorf(protocol.CodeRateLimited, "too many uploads: wait a moment")
	perr.RetryAfter = d.RetryAfter
	return perr
}

// checkDailyUploads refuses a file that would take the user past their
// bytes of the UTC day, counting the files they still have stored.
func (s *Server) checkDailyUploads(ctx context.Context, userID string, size int64) *protocol.Error {
	now := s.cfg.Now().UTC()
	day := now.Truncate(24 * time.Hour)
	total := size
	q := storage.BlobQuery{UserID: userID, Limit: storage.MaxPageSize}
	for range 1000 { // bounded: 500,000 files
		page, err := s.cfg.Blobs.ListBlobs(ctx, q)
		if err != nil {
			return nil // the store is asked again by the put, which reports it
		}
		for _, b := range page.Blobs {
			if !b.CreatedAt.Before(day) {
				total += b.Size
			}
		}
		if page.NextCursor == "" {
			break
		}
		q.Cursor = page.NextCursor
	}
	if total > s.cfg.MaxUploadBytesDay {
		perr := protocol.Errorf(protocol.CodeLimitReached, "the files uploaded today reach the daily limit of %d bytes", s.cfg.MaxUploadBytesDay)
		perr.RetryAfter = day.AddDate(0, 0, 1).Sub(now)
		return perr
	}
	return nil
}

// fileAccess authenticates a request for one file and checks that the
// identity owns its conversation (or, with operator, is an operator); it
// answers the request itself, with 404 for anyone else, when it refuses.
func (s *Server) fileAccess(w http.ResponseWriter, r *http.Request, operators bool) (convID, fileID string, ok bool) {
	id, ok := s.fileIdentity(w, r)
	if !ok {
		return "", "", false
	}
	convID, fileID = r.PathValue("conversation"), r.PathValue("file")
	ctx, cancel := context.WithTimeout(r.Context(), s.cfg.StoreTimeout)
	defer cancel()
	conv, err := s.cfg.Store.GetConversation(ctx, convID)
	operator := operators && slices.ContainsFunc(id.Roles, func(role string) bool { return slices.Contains(s.cfg.OperatorRoles, role) })
	if err != nil || conv.UserID != id.UserID && !operator {
		if err != nil && !errors.Is(err, storage.ErrNotFound) {
			s.fileStoreError(w, err, "get conversation")
			return "", "", false
		}
		httpError(w, http.StatusNotFound, protocol.Errorf(protocol.CodeNotFound, "no such file"))
		return "", "", false
	}
	return convID, fileID, true
}

// serveDeleteFile deletes a file of the user's; 204 whether or not it
// still existed.
func (s *Server) serveDeleteFile(w http.ResponseWriter, r *http.Request) {
	convID, fileID, ok := s.fileAccess(w, r, false)
	if !ok {
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), s.cfg.StoreTimeout)
	defer cancel()
	if err := s.cfg.Blobs.DeleteBlob(ctx, convID, fileID); err != nil {
		s.fileStoreError(w, err, "delete blob")
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// serveFile sends a stored file to its owner or to an operator; anyone
// else gets 404, as for a file that does not exist.
func (s *Server) serveFile(w http.ResponseWriter, r *http.Request) {
	convID, fileID, ok := s.fileAccess(w, r, true)
	if !ok {
		return
	}
	b, body, err := s.cfg.Blobs.OpenBlob(r.Context(), convID, fileID)
	if err != nil {
		if errors.Is(err, storage.ErrNotFound) {
			httpError(w, http.StatusNotFound, protocol.Errorf(protocol.CodeNotFound, "no such file"))
			return
		}
		s.fileStoreError(w, err, "open blob")
		return
	}
	defer body.Close()
	h := w.Header()
	mediaType := b.MediaType
	if strings.HasPrefix(mediaType, "text/") {
		mediaType += "; charset=utf-8"
	}
	h.Set("Content-Type", mediaType)
	h.Set("Content-Length", fmt.Sprint(b.Size))
	// Whatever a file holds, it never runs in the page's origin: the
	// browser may not guess its type, and it gets no scripts, styles or
	// frames of its own.
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", "default-src 'none'; img-src 'self' data:; style-src 'unsafe-inline'; sandbox")
	h.Set("Cross-Origin-Resource-Policy", "same-origin")
	h.Set("Cache-Control", "private, no-store")
	disposition := "attachment"
	if strings.HasPrefix(b.MediaType, "image/") {
		disposition = "inline"
	}
	h.Set("Content-Disposition", disposition+"; filename*=UTF-8''"+url.PathEscape(b.Name))
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		_, _ = io.Copy(w, body)
	}
}

func (s *Server) fileStoreError(w http.ResponseWriter, err error, op string) {
	switch {
	case errors.Is(err, storage.ErrTooLarge):
		httpError(w, http.StatusRequestEntityTooLarge, &protocol.Error{Code: protocol.CodeTooLarge, Message: "the file is too large", Field: "file"})
	case errors.Is(err, storage.ErrUnavailable), errors.Is(err, context.DeadlineExceeded):
		s.cfg.Logger.Warn("file store unavailable", "op", op, "err", err)
		httpError(w, http.StatusServiceUnavailable, protocol.Errorf(protocol.CodeUnavailable, "files cannot be stored or read right now"))
	default:
		httpError(w, http.StatusInternalServerError, internalFileError(s, err, op))
	}
}

func internalFileError(s *Server, err error, op string) *protocol.Error {
	ref := rand.Text()[:12]
	s.cfg.Logger.Error("internal error", "op", op, "ref", ref, "err", err)
	return &protocol.Error{Code: protocol.CodeInternal, Message: "internal error", Ref: ref}
}

// cleanFileName keeps a display name: no directories, no control
// characters, at most maxFileNameBytes.
func cleanFileName(name string) string {
	if i := strings.LastIndexAny(name, `/\`); i >= 0 {
		name = name[i+1:]
	}
	name = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r == unicode.ReplacementChar {
			return -1
		}
		return r
	}, strings.TrimSpace(name))
	if len(name) > maxFileNameBytes {
		name = name[:maxFileNameBytes] // a rune cut in two is dropped below
	}
	return strings.ToValidUTF8(name, "")
}
