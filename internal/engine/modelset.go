package engine

import (
	"context"
	"errors"

	"github.com/chatboxsdk/chatbox/internal/metrics"
	"github.com/chatboxsdk/chatbox/llm"
	"github.com/chatboxsdk/chatbox/protocol"
)

// modelSet resolves model ids to the provider that answers for them: each
// model bound to its parameters, followed by its fallbacks, through the one
// fallback engine (llm.FallbackObserved). Built once; read-only afterwards.
type modelSet struct {
	byID  map[string]*modelEntry
	order []protocol.Model // as announced in ready, in registration order
	def   string
}

type modelEntry struct {
	model *llm.Model
	chain []*llm.Model // model first, then its fallbacks
	// provider streams from chain[0], falling back along the chain.
	provider llm.Provider
}

func newModelSet(models []llm.Model, def string, m *metrics.Metrics) *modelSet {
	set := &modelSet{byID: make(map[string]*modelEntry, len(models)), def: def}
	for i := range models {
		set.byID[models[i].ID] = &modelEntry{model: &models[i]}
		set.order = append(set.order, protocol.Model{ID: models[i].ID, Name: models[i].Name})
	}
	for _, e := range set.byID {
		e.chain = []*llm.Model{e.model}
		for _, f := range e.model.Fallback {
			if fm, ok := set.byID[f]; ok && fm != e {
				e.chain = append(e.chain, fm.model)
			}
		}
		providers := make([]llm.Provider, len(e.chain))
		for i, cm := range e.chain {
			providers[i] = cm.Bind()
		}
		chain := e.chain
		if len(chain) == 1 {
			// Nothing to fall back to: the bound model itself, without a
			// fallback chain's wrapping per reply (stream records its
			// failures).
			e.provider = providers[0]
			continue
		}
		e.provider = llm.FallbackObserved(func(i int, err error) {
			if !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded) {
				m.ProviderError(chain[i].ID, string(llm.KindOf(err))) // a stop or a time limit is not the provider's failure
			}
		}, providers...)
	}
	return set
}

func (s *modelSet) has(id string) bool { _, ok := s.byID[id]; return ok }

// entry returns the model to use for id: the default when id is unknown, as
// for a conversation created under an older configuration.
func (s *modelSet) entry(id string) *modelEntry {
	if e, ok := s.byID[id]; ok {
		return e
	}
	return s.byID[s.def]
}
