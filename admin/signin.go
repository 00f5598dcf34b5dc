package admin

import (
	"context"
	"errors"
	"net/http"

	"github.com/chatboxsdk/chatbox/auth"
)

// identify returns who sent r: the identity the host's sign-in
// (Config.RequestAuthenticator) proves, or, when it finds no sign-in on the
// request, the bearer token's; auth.ErrNoCredentials when there is neither.
// Each call is bounded by the store timeout.
func (h *Handler) identify(r *http.Request) (auth.Identity, error) {
	ctx, cancel := context.WithTimeout(r.Context(), h.storeTimeout)
	defer cancel()
	if h.signIn != nil {
		id, err := h.signIn.AuthenticateRequest(r.WithContext(ctx))
		if !errors.Is(err, auth.ErrNoCredentials) {
			return id, err
		}
	}
	token, ok := h.token(r)
	if !ok {
		return auth.Identity{}, auth.ErrNoCredentials
	}
	return h.authn.Authenticate(ctx, token)
}
