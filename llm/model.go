package llm

import "context"

// Model is a model offered to clients: a provider and the parameters sent
// with every request to it. A Server keeps a registry of them; clients
// choose one by ID.
type Model struct {
	// ID is what clients see and choose. Required and unique in a registry.
	ID string
	// Name is the display name; default: ID.
	Name string
	// Provider answers; required.
	Provider Provider
	// Upstream is the model name sent to the provider (Request.Model);
	// empty: the provider's own configured model.
	Upstream string
	// MaxTokens caps replies; 0: the caller's Request.MaxTokens.
	MaxTokens int
	// Temperature is sent when non-nil.
	Temperature *float64
	// Fallback lists ids of models tried in order when this one fails
	// before its first delta with a retryable error (rate limited,
	// overloaded, timeout, unavailable). Default: none.
	Fallback []string
}

// Bind returns a Provider that streams from m.Provider with m's parameters
// applied to every request: Upstream as Request.Model when set, MaxTokens
// when positive (unless the request asks for fewer), Temperature when
// non-nil. It is safe for concurrent use if
// m.Provider is; m must not change afterwards.
func (m *Model) Bind() Provider { return boundModel{m: m} }

type boundModel struct{ m *Model }

func (b boundModel) Stream(ctx context.Context, req Request) (Stream, error) {
	if b.m.Upstream != "" {
		req.Model = b.m.Upstream
	}
	if b.m.MaxTokens > 0 && (req.MaxTokens <= 0 || req.MaxTokens > b.m.MaxTokens) {
		req.MaxTokens = b.m.MaxTokens // a smaller cap asked for (a budget's) stays
	}
	if b.m.Temperature != nil {
		req.Temperature = b.m.Temperature
	}
	return b.m.Provider.Stream(ctx, req)
}
