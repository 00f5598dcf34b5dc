package metrics

import "time"

// SocketOpened counts an accepted WebSocket connection.
func (m *Metrics) SocketOpened() {
	if m == nil {
		return
	}
	m.connections.Inc()
}

// SocketClosed counts a closed connection under the class of its close code
// (see CloseClass) and lowers the open-connection gauge. Call it once per
// SocketOpened.
func (m *Metrics) SocketClosed(closeCode int) {
	if m == nil {
		return
	}
	m.connections.Dec()
	m.socketCloses.WithLabelValues(CloseClass(closeCode)).Inc()
}

// ConversationOpened counts a conversation opened on a socket: new, or
// resumed when it existed before.
func (m *Metrics) ConversationOpened(isNew bool) {
	if m == nil {
		return
	}
	kind := "resumed"
	if isNew {
		kind = "new"
	}
	m.conversations.WithLabelValues(kind).Inc()
}

// MessageAccepted counts a stored message by its author's role: "user" or
// "operator"; anything else is counted as "other".
func (m *Metrics) MessageAccepted(role string) {
	if m == nil {
		return
	}
	m.messages.WithLabelValues(roleValue(role)).Inc()
}

// GenerationStarted counts a model reply starting and raises the gauge of
// replies in progress. Pass registry model ids only; at most MaxModelValues
// distinct models are labelled, later ones as "other".
func (m *Metrics) GenerationStarted(model string) {
	if m == nil {
		return
	}
	m.generationsStarted.WithLabelValues(m.models.value(model)).Inc()
	m.generationsActive.Inc()
}

// GenerationEnded records a finished reply: one generation under its finish
// reason, its duration d, its time to first token ttft (not observed when
// zero or less, meaning no token arrived), and the input and output tokens
// the provider reported (negative counts are ignored). Call it once per
// GenerationStarted.
func (m *Metrics) GenerationEnded(model, finishReason string, d, ttft time.Duration, in, out int64) {
	if m == nil {
		return
	}
	model = m.models.value(model)
	m.generationsActive.Dec()
	m.generations.WithLabelValues(model, m.reasons.value(finishReason)).Inc()
	m.generationSeconds.WithLabelValues(model).Observe(max(d, 0).Seconds())
	if ttft > 0 {
		m.ttftSeconds.WithLabelValues(model).Observe(ttft.Seconds())
	}
	if in > 0 {
		m.tokens.WithLabelValues(model, "input").Add(float64(in))
	}
	if out > 0 {
		m.tokens.WithLabelValues(model, "output").Add(float64(out))
	}
}

// ReplyCost adds a reply's cost (in micro-units of the price table's
// currency) to its model's counter.
func (m *Metrics) ReplyCost(model string, micros int64) {
	if m == nil || micros <= 0 {
		return
	}
	m.cost.WithLabelValues(m.models.value(model)).Add(float64(micros) / 1e6)
}

// ProviderError counts a provider failure by model and error kind (such as
// llm.ErrorKind values).
func (m *Metrics) ProviderError(model, kind string) {
	if m == nil {
		return
	}
	m.providerErrors.WithLabelValues(m.models.value(model), m.kinds.value(kind)).Inc()
}

// StoreOperation records one store call: its duration under op, and an
// error count when err is non-nil. op names the operation ("append",
// "get_conversation", ...); at most 32 distinct values are labelled.
func (m *Metrics) StoreOperation(op string, d time.Duration, err error) {
	if m == nil {
		return
	}
	op = m.ops.value(op)
	m.storeSeconds.WithLabelValues(op).Observe(max(d, 0).Seconds())
	if err != nil {
		m.storeErrors.WithLabelValues(op).Inc()
	}
}

// LimiterDenied counts a request refused by the named limit ("connect",
// "message", "help", "admin", ...).
func (m *Metrics) LimiterDenied(limit string) {
	if m == nil {
		return
	}
	m.limiterDenials.WithLabelValues(m.limits.value(limit)).Inc()
}

// SlowConsumerClosed counts a socket closed because its client read too
// slowly.
func (m *Metrics) SlowConsumerClosed() {
	if m == nil {
		return
	}
	m.slowConsumers.Inc()
}

// ShutdownDuration records how long the last shutdown took.
func (m *Metrics) ShutdownDuration(d time.Duration) {
	if m == nil {
		return
	}
	m.shutdownSeconds.Set(max(d, 0).Seconds())
}

// HelpRequested counts a user asking for a person.
func (m *Metrics) HelpRequested() {
	if m == nil {
		return
	}
	m.helpRequests.Inc()
}

// Takeover counts an operator action on a conversation ("take", "release",
// "refused", ...).
func (m *Metrics) Takeover(action string) {
	if m == nil {
		return
	}
	m.takeovers.WithLabelValues(m.actions.value(action)).Inc()
}
