package router

import (
	"github.com/chatboxsdk/chatbox/llm"
	"github.com/chatboxsdk/chatbox/protocol"
)

// Model is one entry of the model registry: a provider and the parameters
// sent with every request to it.
type Model struct {
	ID          string // what clients choose
	Name        string // display name
	Provider    llm.Provider
	Upstream    string // llm.Request.Model; empty: the provider's default
	MaxTokens   int    // 0: the router's MaxTokens
	Temperature *float64
	// Fallback lists models tried in order when this one fails before its
	// first delta with a retryable error.
	Fallback []string
}

// registry resolves model ids. Built once in New; read-only afterwards.
type registry struct {
	byID  map[string]*Model
	order []protocol.Model // as announced in ready, in registration order
	def   string
}

func newRegistry(models []Model, def string) *registry {
	r := &registry{byID: make(map[string]*Model, len(models)), def: def}
	for i := range models {
		m := &models[i]
		r.byID[m.ID] = m
		r.order = append(r.order, protocol.Model{ID: m.ID, Name: m.Name})
	}
	return r
}

func (r *registry) has(id string) bool { _, ok := r.byID[id]; return ok }

// chain returns the model to use for id (the default when id is unknown, as
// for a conversation created under an older configuration) followed by its
// fallbacks.
func (r *registry) chain(id string) []*Model {
	m, ok := r.byID[id]
	if !ok {
		m = r.byID[r.def]
	}
	out := []*Model{m}
	for _, f := range m.Fallback {
		if fm, ok := r.byID[f]; ok && fm != m {
			out = append(out, fm)
		}
	}
	return out
}
