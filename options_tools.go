package chatbox

import (
	"errors"
	"fmt"
	"time"

	"github.com/chatboxsdk/chatbox/llm/tools"
)

// Defaults of the tool options.
const (
	DefaultMaxToolSteps     = 8
	DefaultMaxParallelTools = 4
	DefaultToolTimeout      = 30 * time.Second
	DefaultApprovalTTL      = 10 * time.Minute
)

// WithTools gives the model tools it may call (see package llm/tools). A
// reply then runs in steps: the model answers or asks for tool calls, the
// Server runs them (each call stored before it runs and its result right
// after, so no call runs twice) and asks the model again with the results,
// up to WithMaxToolSteps. A tool whose NeedsApproval is true pauses the
// reply until the user, or the operator holding the conversation, approves
// or denies the call. May be given more than once; names must be unique
// (letters, digits, '_' and '-', at most 64 bytes). Default: no tools.
func WithTools(ts ...tools.Tool) Option {
	return func(c *config) error {
		var errs []error
		for i, t := range ts {
			if t == nil {
				errs = append(errs, fmt.Errorf("WithTools: tool %d is nil", i))
				continue
			}
			c.Tools = append(c.Tools, t)
		}
		return errors.Join(errs...)
	}
}

// WithToolSource adds tools that may change while the Server runs, such as
// an MCP server's (package llm/tools/mcp). They are listed again for every
// reply; a name already taken by an earlier tool is skipped (and logged).
// Default: none.
func WithToolSource(src tools.Source) Option {
	return func(c *config) error {
		if src == nil {
			return errors.New("WithToolSource: source is nil")
		}
		c.ToolSources = append(c.ToolSources, src)
		return nil
	}
}

// WithMaxToolSteps bounds the model calls of one reply (1 to 100). A model
// that still asks for tools at the last step ends the reply with finish
// reason "max_steps". Default: DefaultMaxToolSteps (8).
func WithMaxToolSteps(n int) Option {
	return func(c *config) error { return intRange("WithMaxToolSteps", n, 1, 100, &c.MaxToolSteps) }
}

// WithMaxParallelTools bounds how many tool calls of one model step run at
// once (1 to 64). Default: DefaultMaxParallelTools (4).
func WithMaxParallelTools(n int) Option {
	return func(c *config) error { return intRange("WithMaxParallelTools", n, 1, 64, &c.MaxParallelTools) }
}

// WithToolTimeout bounds a tool call whose tool sets no Timeout of its own
// (1 ms to 1 h); a call past it returns an error result to the model.
// Default: DefaultToolTimeout (30 s).
func WithToolTimeout(d time.Duration) Option {
	return func(c *config) error {
		return durRange("WithToolTimeout", d, time.Millisecond, time.Hour, &c.ToolTimeout)
	}
}

// WithApprovalTTL is how long an approval request waits for an answer (1 s
// to 7 days); an unanswered call then counts as denied and the reply goes
// on. Default: DefaultApprovalTTL (10 min).
func WithApprovalTTL(d time.Duration) Option {
	return func(c *config) error {
		return durRange("WithApprovalTTL", d, time.Second, 7*24*time.Hour, &c.ApprovalTTL)
	}
}

// checkTools reports tools that cannot be offered: invalid or repeated
// names.
func checkTools(c *config) []error {
	if len(c.Tools) == 0 {
		return nil
	}
	if _, err := tools.Collect(c.Tools, nil); err != nil {
		return []error{fmt.Errorf("WithTools: %w", err)}
	}
	return nil
}
