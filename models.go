package chatbox

import (
	"errors"
	"fmt"

	"github.com/chatboxsdk/chatbox/llm"
	"github.com/chatboxsdk/chatbox/protocol"
)

// Model is a model clients may choose: a provider plus the parameters sent
// with every request to it (see llm.Model for each field). Register models
// with WithModel. ID is required, unique, and 1 to 100 bytes of letters,
// digits and - _ . :; Name defaults to ID; MaxTokens defaults to
// WithMaxTokens.
type Model = llm.Model

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
		c.Models = append(c.Models, m)
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
		c.Models = append(c.Models, Model{ID: DefaultModel, Name: "Default", Provider: p})
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
		c.DefaultModel = id
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
func validateModels(c *config) []error {
	if len(c.Models) == 0 {
		return []error{errors.New("WithLLM: a model provider is required (WithLLM or WithModel)")}
	}
	var errs []error
	seen := map[string]bool{}
	for _, m := range c.Models {
		if seen[m.ID] {
			errs = append(errs, fmt.Errorf("WithModel: id %q is registered twice", m.ID))
		}
		seen[m.ID] = true
	}
	for _, m := range c.Models {
		for _, f := range m.Fallback {
			switch {
			case f == m.ID:
				errs = append(errs, fmt.Errorf("WithModel %q: falls back to itself", m.ID))
			case !seen[f]:
				errs = append(errs, fmt.Errorf("WithModel %q: fallback %q is not a registered model", m.ID, f))
			}
		}
	}
	if c.DefaultModel != "" && !seen[c.DefaultModel] {
		errs = append(errs, fmt.Errorf("WithDefaultModel: %q is not a registered model", c.DefaultModel))
	}
	return errs
}
