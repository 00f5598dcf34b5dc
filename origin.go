package chatbox

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// originPolicy decides which browser pages may open sockets. It is built
// once in New and never changes.
type originPolicy struct {
	allowAny      bool
	requireOrigin bool
	exact         map[string]bool // "https://app.example.com"
	wildcards     []originWildcard
}

// originWildcard is "https://*.example.com": any subdomain, that scheme.
type originWildcard struct {
	scheme string
	suffix string // ".example.com"
}

// parseOriginPatterns validates WithAllowedOrigins patterns: a scheme, a
// host (optionally "*." then a domain) and an optional port; nothing else.
func parseOriginPatterns(patterns []string) (originPolicy, []error) {
	p := originPolicy{exact: map[string]bool{}}
	var errs []error
	for _, raw := range patterns {
		u, err := url.Parse(raw)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" ||
			(u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
			errs = append(errs, fmt.Errorf("WithAllowedOrigins: %q is not an origin like https://app.example.com or https://*.example.com", raw))
			continue
		}
		host := strings.ToLower(u.Host)
		if rest, ok := strings.CutPrefix(host, "*."); ok {
			if rest == "" || strings.Contains(rest, "*") || !strings.Contains(rest, ".") {
				errs = append(errs, fmt.Errorf("WithAllowedOrigins: %q: a wildcard must cover subdomains of a registrable domain", raw))
				continue
			}
			p.wildcards = append(p.wildcards, originWildcard{scheme: u.Scheme, suffix: "." + rest})
			continue
		}
		if strings.Contains(host, "*") {
			errs = append(errs, fmt.Errorf("WithAllowedOrigins: %q: only a leading \"*.\" wildcard is supported", raw))
			continue
		}
		p.exact[u.Scheme+"://"+host] = true
	}
	return p, errs
}

// allows reports whether a request's Origin may open a socket. Same-host
// origins are always allowed; "null" (sandboxed frames, file pages) never is
// unless any origin is.
func (p *originPolicy) allows(r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return !p.requireOrigin // not a browser
	}
	if p.allowAny {
		return true
	}
	u, err := url.Parse(origin)
	if err != nil || u.Host == "" {
		return false // includes "null"
	}
	host := strings.ToLower(u.Host)
	if strings.EqualFold(host, r.Host) {
		return true
	}
	if p.exact[u.Scheme+"://"+host] {
		return true
	}
	for _, w := range p.wildcards {
		if u.Scheme == w.scheme && strings.HasSuffix(host, w.suffix) && len(host) > len(w.suffix) {
			return true
		}
	}
	return false
}
