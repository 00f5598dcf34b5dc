// Package conf holds the Server's configuration: one value, filled by the
// root package's options, completed and validated once by New, and read by
// every part of the engine. Nothing changes it after New returns, so it is
// read without locks.
package conf

import (
	"context"
	"io"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/chatboxsdk/chatbox/auth"
	"github.com/chatboxsdk/chatbox/auth/jwt"
	"github.com/chatboxsdk/chatbox/broker"
	"github.com/chatboxsdk/chatbox/internal/metrics"
	"github.com/chatboxsdk/chatbox/llm"
	"github.com/chatboxsdk/chatbox/llm/tools"
	"github.com/chatboxsdk/chatbox/notify"
	"github.com/chatboxsdk/chatbox/ratelimit"
	"github.com/chatboxsdk/chatbox/storage"
	"github.com/chatboxsdk/chatbox/usage"
)

// Config is the Server's configuration. The options document each field's
// meaning and default (see the root package's With... functions).
type Config struct {
	// Dependencies. New fills the ones the host left unset.
	Store         storage.Store
	Models        []llm.Model // in the order clients see them
	DefaultModel  string      // set by New to the first model when empty
	Limiter       ratelimit.Limiter
	Authenticator auth.Authenticator
	// RequestAuthenticator reads a signed-in user from the request (a
	// cookie session); consulted before tokens.
	RequestAuthenticator auth.RequestAuthenticator
	JWT                  *jwt.Config
	Broker               broker.Broker
	Logger               *slog.Logger
	// Notifier is told about help requests; New wraps the host's in a
	// queue so that it never blocks a socket.
	Notifier notify.Notifier

	SystemPrompt string
	MaxTokens    int

	// Tools the model may call: the host's, then each source's (a name
	// already taken is skipped). MaxToolSteps bounds model calls per
	// reply, MaxParallelTools the calls of one step that run at once;
	// ToolTimeout applies to a tool without its own; ApprovalTTL is how
	// long an approval request waits before it counts as denied.
	Tools            []tools.Tool
	ToolSources      []tools.Source
	MaxToolSteps     int
	MaxParallelTools int
	ToolTimeout      time.Duration
	ApprovalTTL      time.Duration

	// Prices by model id; Budget for every user unless BudgetFunc gives
	// one per user. Usage is where usage is recorded and reserved: the
	// Store, when it implements storage.UsageStore (New sets it).
	Prices     map[string]usage.Price
	Budget     usage.Budget
	BudgetFunc func(ctx context.Context, user auth.Identity) (usage.Budget, error)
	Usage      storage.UsageStore

	// Attachments: where files are kept (nil: none are accepted), and
	// what is accepted (see the root's WithMaxFileBytes and friends).
	Blobs              storage.BlobStore
	MaxFileBytes       int64
	MaxFilesPerMessage int
	MaxUploadBytesDay  int64 // per user and UTC day
	FileTypes          []string
	MaxImagePixels     int64
	MaxPDFPages        int
	UnsentFileTTL      time.Duration
	// FileCheck lets the host scan or refuse a file before it is stored.
	FileCheck func(ctx context.Context, f FileCheck) error

	MaxFrameBytes         int
	MaxTextBytes          int
	MaxMetadataEntries    int
	MaxMetadataValueBytes int
	MaxQueueBytes         int
	MaxHistoryMessages    int // history sent to the provider
	HistoryPageSize       int // messages in an opened frame

	WriteTimeout      time.Duration
	PingInterval      time.Duration
	HelloTimeout      time.Duration
	GenerationTimeout time.Duration
	// CoalesceInterval is how long a reply's text may gather before it is
	// published as one delta; 0 coalesces only what arrives while the
	// previous delta is being published.
	CoalesceInterval time.Duration
	StoreTimeout     time.Duration

	MessageRate      ratelimit.Limit
	ConversationRate ratelimit.Limit
	// ReadRate bounds read frames (list, history, open, resume, watch) per
	// user.
	ReadRate ratelimit.Limit

	// ReplyLeaseTTL is how long a running reply's lease lasts unless its
	// instance renews it (every third of it): the bound on how long a dead
	// instance's reply stays streaming.
	ReplyLeaseTTL time.Duration

	SessionTTL  time.Duration
	MaxSessions int

	AllowedOrigins []string
	AllowAnyOrigin bool
	OriginRequired bool
	TrustedProxies []string
	TokenCookie    string
	QueryToken     string

	ConnectionRate        ratelimit.Limit
	MaxSocketsPerUser     int // 0: unlimited
	MaxSocketsPerAddress  int // sockets open at once per client address; 0: unlimited
	MaxGenerationsPerUser int // 0: unlimited

	OperatorRoles     []string
	AdminPrefix       string
	AdminRate         ratelimit.Limit // each operator's admin requests and operator frames
	HelpRate          ratelimit.Limit
	MetricsRegisterer prometheus.Registerer
	// ReadinessDetail: readiness answers carry their checks and counts,
	// not only the status.
	ReadinessDetail bool

	// Built by New, never set by an option.

	// PrivateBroker: the broker was created by New for this Server alone,
	// so nothing needs coordinating through it (no leases).
	PrivateBroker bool
	// Metrics records what happens; nil records nothing.
	Metrics *metrics.Metrics
	// Now is the clock; New sets time.Now.
	Now func() time.Time
}

// FileCheck is an uploaded file offered to the host's check (the root's
// chatbox.FileCheck is this type).
type FileCheck struct {
	UserID         string
	ConversationID string
	Name           string
	MediaType      string
	Size           int64
	// Open reads the file from its start; each call gives a new reader.
	Open func() io.Reader
}
