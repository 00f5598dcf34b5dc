package chatbox

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"time"

	"github.com/chatboxsdk/chatbox/storage"
)

// healthProbeID is a conversation id no client can create (ids are checked
// against [A-Za-z0-9._:-]), so the probe reads nothing real.
const healthProbeID = "health probe"

// maxHealthProbe bounds the store probe of a readiness check.
const maxHealthProbe = 2 * time.Second

// healthCache holds the last store probe (see storeHealth).
type healthCache struct {
	mu      sync.Mutex
	probing bool
	at      time.Time
	last    healthCheck
}

type healthCheck struct {
	OK        bool   `json:"ok"`
	LatencyMS *int64 `json:"latency_ms,omitempty"`
	Error     string `json:"error,omitempty"`
	Count     *int   `json:"count,omitempty"`
}

type healthReport struct {
	Status              string                 `json:"status"` // ok, unavailable, shutting_down
	Checks              map[string]healthCheck `json:"checks,omitempty"`
	LiveConversations   int                    `json:"live_conversations"`
	ActiveConversations int                    `json:"active_conversations"`
}

// serveLive answers liveness: the process serves HTTP. It stays 200 during
// Shutdown, so an orchestrator does not kill a server finishing its replies.
func (s *Server) serveLive(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// serveReady answers readiness: whether to send this server new traffic.
// The store check reads a conversation that cannot exist: not found means
// the store answered.
func (s *Server) serveReady(w http.ResponseWriter, r *http.Request) {
	rep := healthReport{
		Status: "ok", Checks: make(map[string]healthCheck, 3),
		LiveConversations: s.engine.LiveConversations(), ActiveConversations: s.engine.ActiveConversations(),
	}
	store := s.storeHealth(r.Context())
	if !store.OK {
		rep.Status = "unavailable"
	}
	rep.Checks["store"] = store
	models := len(s.cfg.Models)
	rep.Checks["models"] = healthCheck{OK: models > 0, Count: &models}
	if models == 0 {
		rep.Status = "unavailable"
	}
	shuttingDown := s.engine.ShuttingDown()
	rep.Checks["accepting"] = healthCheck{OK: !shuttingDown}
	if shuttingDown {
		rep.Status = "shutting_down"
	}
	code := http.StatusOK
	if rep.Status != "ok" {
		code = http.StatusServiceUnavailable
	}
	if !s.cfg.ReadinessDetail { // WithReadinessDetail(false): the status alone
		writeJSON(w, code, map[string]string{"status": rep.Status})
		return
	}
	writeJSON(w, code, rep)
}

// storeHealthTTL is how long a store probe's result answers readiness
// checks: probes arrive unauthenticated, so they must not each cost a
// store read.
const storeHealthTTL = time.Second

// storeHealth probes the store, at most once per storeHealthTTL; while a
// probe runs, other checks get the previous result.
func (s *Server) storeHealth(ctx context.Context) healthCheck {
	s.health.mu.Lock()
	if s.health.probing || time.Since(s.health.at) < storeHealthTTL {
		if !s.health.at.IsZero() {
			c := s.health.last
			s.health.mu.Unlock()
			return c
		}
	}
	s.health.probing = true
	s.health.mu.Unlock()

	ctx, cancel := context.WithTimeout(ctx, min(s.cfg.StoreTimeout, maxHealthProbe))
	defer cancel()
	start := time.Now()
	_, err := s.cfg.Store.GetConversation(ctx, healthProbeID)
	ms := time.Since(start).Milliseconds()
	c := healthCheck{OK: err == nil || errors.Is(err, storage.ErrNotFound), LatencyMS: &ms}
	if !c.OK {
		c.Error = "the store did not answer"
		if errors.Is(err, context.DeadlineExceeded) {
			c.Error = "the store did not answer in time"
		}
		s.cfg.Logger.Warn("readiness: store check failed", "err", err)
	}

	s.health.mu.Lock()
	s.health.probing, s.health.at, s.health.last = false, time.Now(), c
	s.health.mu.Unlock()
	return c
}
