package engine

import (
	"context"
	"errors"
	"io"
	"strings"
	"time"

	"github.com/chatboxsdk/chatbox/llm"
	"github.com/chatboxsdk/chatbox/protocol"
	"github.com/chatboxsdk/chatbox/storage"
)

// attachmentParts checks the files a send references: each must have been
// uploaded by the user into this conversation, and the conversation's
// model must read its type. It returns the message's file parts.
func (s *socket) attachmentParts(ctx context.Context, c *conversation, f *protocol.ClientFrame) ([]storage.Part, *protocol.Error) {
	if len(f.Attachments) == 0 {
		return nil, nil
	}
	c.mu.Lock()
	model := c.model
	c.mu.Unlock()
	var provider llm.Provider
	if m := s.e.models.entry(model); m != nil {
		provider = m.provider // with its fallbacks: each must read the file
	}
	return s.attachmentPartsFor(ctx, c, f, provider)
}

// attachmentPartsFor is attachmentParts for a reader of the files: the
// provider, or nil for a person.
func (s *socket) attachmentPartsFor(ctx context.Context, c *conversation, f *protocol.ClientFrame, provider llm.Provider) ([]storage.Part, *protocol.Error) {
	if len(f.Attachments) == 0 {
		return nil, nil
	}
	blobs := s.e.cfg.Blobs
	if blobs == nil {
		return nil, &protocol.Error{Code: protocol.CodeInvalidField, Message: "this server keeps no files", Field: "attachments"}
	}
	if len(f.Attachments) > s.e.cfg.MaxFilesPerMessage {
		return nil, &protocol.Error{Code: protocol.CodeTooLarge, Message: "too many files in one message", Field: "attachments"}
	}
	parts := make([]storage.Part, 0, len(f.Attachments))
	for _, id := range f.Attachments {
		b, body, err := blobs.OpenBlob(ctx, c.id, id)
		if err != nil {
			if errors.Is(err, storage.ErrNotFound) {
				return nil, &protocol.Error{Code: protocol.CodeNotFound, Message: "no such file in this conversation: upload it first", Field: "attachments"}
			}
			return nil, s.storeError(err, "open blob")
		}
		_ = body.Close()
		if b.UserID != s.identity.UserID { // as if it did not exist
			return nil, &protocol.Error{Code: protocol.CodeNotFound, Message: "no such file in this conversation: upload it first", Field: "attachments"}
		}
		if provider != nil && !llm.AcceptsFile(provider, b.MediaType) {
			return nil, &protocol.Error{Code: protocol.CodeInvalidField, Message: "the conversation's model cannot read files of type " + b.MediaType, Field: "attachments"}
		}
		parts = append(parts, storage.Part{Kind: storage.PartFile, FileID: b.ID, FileName: b.Name, MediaType: b.MediaType})
	}
	return parts, nil
}

// markSent records that the message's files were sent, so they are no
// longer deleted as unsent uploads.
func (s *socket) markSent(ctx context.Context, c *conversation, parts []storage.Part) {
	for _, p := range parts {
		if p.Kind != storage.PartFile {
			continue
		}
		if err := s.e.cfg.Blobs.MarkBlobSent(ctx, c.id, p.FileID, s.e.cfg.Now().UTC()); err != nil {
			s.frameLog().Warn("mark a file sent", "conversation", c.id, "file", p.FileID, "err", err)
		}
	}
}

// userTurn is a stored user message as the provider reads it: its text,
// then its files with their bytes. A file no longer stored is named in
// the text instead.
func (e *Engine) userTurn(ctx context.Context, m storage.Message) llm.Message {
	if !hasFiles(m.Parts) || e.cfg.Blobs == nil {
		return llm.Message{Role: llm.RoleUser, Text: m.Text}
	}
	parts := make([]llm.Part, 0, len(m.Parts)+1)
	if strings.TrimSpace(m.Text) != "" {
		parts = append(parts, llm.Part{Kind: llm.PartText, Text: m.Text})
	}
	for _, p := range m.Parts {
		if p.Kind != storage.PartFile {
			continue
		}
		data, err := e.readBlob(ctx, m.ConversationID, p.FileID)
		if err != nil {
			parts = append(parts, llm.Part{Kind: llm.PartText, Text: "[the file " + p.FileName + " is no longer available]"})
			continue
		}
		parts = append(parts, llm.Part{Kind: llm.PartFile, File: &llm.File{Name: p.FileName, MediaType: p.MediaType, Data: data}})
	}
	return llm.Message{Role: llm.RoleUser, Text: m.Text, Parts: parts}
}

func (e *Engine) readBlob(ctx context.Context, convID, id string) ([]byte, error) {
	_, body, err := e.cfg.Blobs.OpenBlob(ctx, convID, id)
	if err != nil {
		return nil, err
	}
	defer body.Close()
	return io.ReadAll(io.LimitReader(body, e.cfg.MaxFileBytes))
}

func hasFiles(parts []storage.Part) bool {
	for _, p := range parts {
		if p.Kind == storage.PartFile {
			return true
		}
	}
	return false
}

// deleteFiles deletes every file of a conversation (it ended).
func (e *Engine) deleteFiles(ctx context.Context, convID string) {
	if e.cfg.Blobs == nil {
		return
	}
	if _, err := storage.DeleteBlobs(ctx, e.cfg.Blobs, storage.BlobQuery{ConversationID: convID}); err != nil {
		e.log.Warn("delete the files of an ended conversation", "conversation", convID, "err", err)
	}
}

// sweepUnsentFiles deletes, until the engine stops, the uploads no message
// referenced within UnsentFileTTL; it looks every quarter of that time.
func (e *Engine) sweepUnsentFiles() {
	t := time.NewTicker(min(max(e.cfg.UnsentFileTTL/4, 100*time.Millisecond), time.Hour))
	defer t.Stop()
	for {
		select {
		case <-e.base.Done():
			return
		case <-t.C:
		}
		ctx, cancel := context.WithTimeout(e.base, 10*e.cfg.StoreTimeout)
		n, err := storage.DeleteBlobs(ctx, e.cfg.Blobs, storage.BlobQuery{Unsent: true, CreatedBefore: e.cfg.Now().Add(-e.cfg.UnsentFileTTL)})
		cancel()
		switch {
		case err != nil && e.base.Err() == nil:
			e.log.Warn("delete unsent files", "deleted", n, "err", err)
		case n > 0:
			e.log.Info("deleted files uploaded and never sent", "count", n)
		}
	}
}

// limitsFrame is what ready tells clients of the input limits.
func (e *Engine) limitsFrame() *protocol.Limits {
	l := &protocol.Limits{MaxFrameBytes: e.cfg.MaxFrameBytes, MaxTextBytes: e.cfg.MaxTextBytes}
	if e.cfg.Blobs != nil {
		l.MaxFileBytes, l.MaxFiles, l.FileTypes = e.cfg.MaxFileBytes, e.cfg.MaxFilesPerMessage, e.cfg.FileTypes
	}
	return l
}
