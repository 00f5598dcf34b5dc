// Package chatbox is an embeddable chat backend: users talk over WebSocket
// to a language model that streams its answer, conversations persist in a
// pluggable Store, and every socket of a conversation sees every event.
//
// A host application builds a Server with New, mounts it in its own
// net/http server and calls Shutdown on exit:
//
//	srv, err := chatbox.New(
//		chatbox.WithLLM(provider),           // llm.Provider; required
//		chatbox.WithAuthenticator(authn),    // auth.Authenticator; required
//		chatbox.WithStore(store),            // storage.Store; default in memory
//	)
//	if err != nil {
//		log.Fatal(err) // every invalid option is listed
//	}
//	mux.Handle("/chat/", http.StripPrefix("/chat", srv))
//	...
//	srv.Shutdown(ctx)
//
// Clients speak protocol v1 (see protocol/PROTOCOL.md); the client package
// is a Go client for it. Identities with an operator role
// (WithOperatorRoles) may watch any conversation, take it over from the
// model, write to its user and hand it back, over the same protocol; the
// operator HTTP API (package admin) is served under WithAdminPrefix.
// WithMetrics registers Prometheus collectors on the host's registry;
// /health/live and /health/ready serve probes. Storage, the model and rate limiting are
// interfaces (storage.Store, llm.Provider, ratelimit.Limiter) the host can
// replace.
package chatbox
