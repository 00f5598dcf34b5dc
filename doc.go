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
// is a Go client for it. Storage, the model and rate limiting are
// interfaces (storage.Store, llm.Provider, ratelimit.Limiter) the host can
// replace.
package chatbox
