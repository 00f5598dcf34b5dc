package chatbox

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/chatboxsdk/chatbox/internal/conf"
	"github.com/chatboxsdk/chatbox/internal/files"
	"github.com/chatboxsdk/chatbox/storage"
)

// Defaults of the attachment options.
const (
	DefaultMaxFileBytes       = 10 << 20  // 10 MiB
	DefaultMaxFilesPerMessage = 4         //
	DefaultMaxUploadBytesDay  = 200 << 20 // 200 MiB per user and UTC day
	DefaultMaxImagePixels     = 40_000_000
	DefaultMaxPDFPages        = 100
	DefaultUnsentFileTTL      = 24 * time.Hour
)

// DefaultFileTypes are the media types accepted by default: PNG, JPEG,
// GIF and WebP images, PDF, and plain, Markdown and CSV text.
func DefaultFileTypes() []string { return append([]string(nil), files.DefaultTypes...) }

// WithBlobStore sets where attached files are kept. Default: the store of
// WithStore when it implements storage.BlobStore (the in-memory store, the
// MongoDB and PostgreSQL stores, and the encrypted wrapper over one of
// them do); see also storage/fsblob. Without one, uploads answer 501.
func WithBlobStore(b storage.BlobStore) Option {
	return func(c *config) error {
		if b == nil {
			return errors.New("WithBlobStore: store is nil")
		}
		c.Blobs = b
		return nil
	}
}

// WithMaxFileBytes bounds one uploaded file (1 KiB to 1 GiB). Default:
// DefaultMaxFileBytes (10 MiB).
func WithMaxFileBytes(n int64) Option {
	return func(c *config) error {
		if n < 1<<10 || n > 1<<30 {
			return fmt.Errorf("WithMaxFileBytes: must be between 1 KiB and 1 GiB, got %d", n)
		}
		c.MaxFileBytes = n
		return nil
	}
}

// WithMaxFilesPerMessage bounds the files one message references (1 to
// 32). Default: DefaultMaxFilesPerMessage (4).
func WithMaxFilesPerMessage(n int) Option {
	return func(c *config) error { return intRange("WithMaxFilesPerMessage", n, 1, 32, &c.MaxFilesPerMessage) }
}

// WithMaxUploadBytesPerDay bounds what one user uploads per UTC day, in
// bytes. Default: DefaultMaxUploadBytesDay (200 MiB).
func WithMaxUploadBytesPerDay(n int64) Option {
	return func(c *config) error {
		if n < 1<<10 {
			return fmt.Errorf("WithMaxUploadBytesPerDay: must be at least 1 KiB, got %d", n)
		}
		c.MaxUploadBytesDay = n
		return nil
	}
}

// WithFileTypes sets the media types accepted, among DefaultFileTypes. A
// file's type is decided from its content, never from the name or the
// client's claim. Default: DefaultFileTypes.
func WithFileTypes(types ...string) Option {
	return func(c *config) error {
		var errs []error
		for _, t := range types {
			known := false
			for _, d := range files.DefaultTypes {
				known = known || d == t
			}
			if !known {
				errs = append(errs, fmt.Errorf("WithFileTypes: %q is not one of %v", t, files.DefaultTypes))
			}
		}
		if len(types) == 0 {
			errs = append(errs, errors.New("WithFileTypes: give at least one type"))
		}
		c.FileTypes = append([]string(nil), types...)
		return errors.Join(errs...)
	}
}

// WithMaxImagePixels bounds an image's width × height, read from its header
// before anything decodes it. Default: DefaultMaxImagePixels (40 million).
func WithMaxImagePixels(n int64) Option {
	return func(c *config) error {
		if n < 1 {
			return fmt.Errorf("WithMaxImagePixels: must be positive, got %d", n)
		}
		c.MaxImagePixels = n
		return nil
	}
}

// WithMaxPDFPages bounds the pages of a PDF. Default: DefaultMaxPDFPages
// (100).
func WithMaxPDFPages(n int) Option {
	return func(c *config) error { return intRange("WithMaxPDFPages", n, 1, 100_000, &c.MaxPDFPages) }
}

// WithUnsentFileTTL is how long an uploaded file that no message references
// is kept (1 second to 30 days); it is deleted within a quarter of that
// time after. Default: DefaultUnsentFileTTL (24 h).
func WithUnsentFileTTL(d time.Duration) Option {
	return func(c *config) error {
		return durRange("WithUnsentFileTTL", d, time.Second, 30*24*time.Hour, &c.UnsentFileTTL)
	}
}

// FileCheck is an uploaded file that passed the Server's own checks, as
// the host's check (WithFileCheck) sees it before it is stored.
type FileCheck struct {
	UserID         string
	ConversationID string
	Name           string
	// MediaType is decided from the content.
	MediaType string
	Size      int64
	// Open reads the file from its start; each call gives a new reader.
	Open func() io.Reader
}

// WithFileCheck runs check on every uploaded file before it is stored: an
// antivirus, a policy. An error refuses the file (the client gets
// file_refused; the error is logged, not shown). It is called on the
// upload's goroutine and must honour ctx. Default: none.
func WithFileCheck(check func(ctx context.Context, f FileCheck) error) Option {
	return func(c *config) error {
		if check == nil {
			return errors.New("WithFileCheck: function is nil")
		}
		c.FileCheck = func(ctx context.Context, f conf.FileCheck) error { return check(ctx, fromConfFileCheck(f)) }
		return nil
	}
}

func fromConfFileCheck(f conf.FileCheck) FileCheck { return FileCheck(f) }

func toConfFileCheck(f FileCheck) conf.FileCheck { return conf.FileCheck(f) }
