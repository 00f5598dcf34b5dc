package chatbox

import (
	"errors"
	"fmt"

	"github.com/chatboxsdk/chatbox/llm"
	"github.com/chatboxsdk/chatbox/protocol"
	"github.com/chatboxsdk/chatbox/router"
)

// Model is a model clients may choose: a provider plus the parameters sent
// with every request to it. Register models with WithModel.
type Model struct {
	// ID is what clients see and choose (1 to 100 bytes of letters,
	// digits and - _ . :). Required and unique.
	ID string
	// Name is the display name; default: ID.
	Name string
	// Provider answers; required.
	Provider llm.Provider
	// Upstream is the model name sent to the provider (llm.Request.Model);
	// default: empty, the provider's own configured model.
	Upstream string
	// MaxTokens caps replies; default: WithMaxTokens.
	MaxTokens int
	// Temperature is sent when non-nil.
	Temperature *float64
	// Fallback lists ids of models tried in order when this one fails
	// before its first delta with a retryable error (rate limited,
	// overloaded, timeout, unavailable). Default: none.
	Fallback []string
}

// WithModel registers a model. Models are offered to clients in
// registration order; the first one is the default unless WithDefaultModel
// says otherwise. At least one model (WithModel or WithLLM) is required.
func WithModel(m Model) Option {
	return func(c *config) error {
		var errs []error
		if m.ID == "" || len(m.ID) > protocol.MaxModelBytes || !validID(m.ID) {
			errs = append(errs, fmt.Errorf("WithModel: id %q must be 1 to %d bytes of letters, digits and - _ . :", m.ID, protocol.MaxModelBytes))
		}
		if m.Provider == nil {
			errs = append(errs, fmt.Errorf("WithModel %q: provider is nil", m.ID))
		}
		if m.MaxTokens < 0 {
			errs = append(errs, fmt.Errorf("WithModel %q: MaxTokens must not be negative", m.ID))
		}
		if err := errors.Join(errs...); err != nil {
			return err
		}
		if m.Name == "" {
			m.Name = m.ID
		}
		m.Fallback = append([]string(nil), m.Fallback...)
		c.models = append(c.models, m)
		return nil
	}
}

// WithLLM registers provider as the model "default" (see DefaultModel): the
// shortest way to a working Server. Use WithModel for several models.
func WithLLM(p llm.Provider) Option {
	return func(c *config) error {
		if p == nil {
			return errors.New("WithLLM: provider is nil")
		}
		c.models = append(c.models, Model{ID: DefaultModel, Name: "Default", Provider: p})
		return nil
	}
}

// WithDefaultModel names the model used when a client does not choose one.
// Default: the first registered model.
func WithDefaultModel(id string) Option {
	return func(c *config) error {
		if id == "" {
			return errors.New("WithDefaultModel: id is empty")
		}
		c.defaultModel = id
		return nil
	}
}

func validID(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.' || c == ':') {
			return false
		}
	}
	return true
}

// validateModels cross-checks the registry.
func (c *config) validateModels() []error {
	if len(c.models) == 0 {
		return []error{errors.New("WithLLM: a model provider is required (WithLLM or WithModel)")}
	}
	var errs []error
	seen := map[string]bool{}
	for _, m := range c.models {
		if seen[m.ID] {
			errs = append(errs, fmt.Errorf("WithModel: id %q is registered twice", m.ID))
		}
		seen[m.ID] = true
	}
	for _, m := range c.models {
		for _, f := range m.Fallback {
			switch {
			case f == m.ID:
				errs = append(errs, fmt.Errorf("WithModel %q: falls back to itself", m.ID))
			case !seen[f]:
				errs = append(errs, fmt.Errorf("WithModel %q: fallback %q is not a registered model", m.ID, f))
			}
		}
	}
	if c.defaultModel != "" && !seen[c.defaultModel] {
		errs = append(errs, fmt.Errorf("WithDefaultModel: %q is not a registered model", c.defaultModel))
	}
	return errs
}

func (c *config) routerModels() ([]router.Model, string) {
	out := make([]router.Model, len(c.models))
	for i, m := range c.models {
		out[i] = router.Model{ID: m.ID, Name: m.Name, Provider: m.Provider, Upstream: m.Upstream,
			MaxTokens: m.MaxTokens, Temperature: m.Temperature, Fallback: m.Fallback}
	}
	def := c.defaultModel
	if def == "" {
		def = c.models[0].ID
	}
	return out, def
}
