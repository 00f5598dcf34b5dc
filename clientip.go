package chatbox

import (
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// parseTrustedProxies validates WithTrustedProxies CIDRs.
func parseTrustedProxies(cidrs []string) ([]netip.Prefix, []error) {
	var out []netip.Prefix
	var errs []error
	for _, c := range cidrs {
		p, err := netip.ParsePrefix(strings.TrimSpace(c))
		if err != nil {
			errs = append(errs, fmt.Errorf("WithTrustedProxies: %q is not a CIDR like 10.0.0.0/8: %w", c, err))
			continue
		}
		out = append(out, p.Masked())
	}
	return out, errs
}

// clientIP is the address limits are keyed on: the peer address, unless the
// peer is a trusted proxy, in which case X-Forwarded-For is walked from the
// right to the first address that is not a trusted proxy. A header from an
// untrusted peer is ignored, so it cannot be spoofed to dodge per-IP limits.
func clientIP(r *http.Request, trusted []netip.Prefix) string {
	peer := peerAddr(r.RemoteAddr)
	if !peer.IsValid() {
		return r.RemoteAddr
	}
	if !isTrusted(peer, trusted) {
		return key(peer)
	}
	hops := r.Header.Values("X-Forwarded-For")
	ip := peer
	for i := len(hops) - 1; i >= 0; i-- {
		parts := strings.Split(hops[i], ",")
		for j := len(parts) - 1; j >= 0; j-- {
			a, err := parseHop(strings.TrimSpace(parts[j]))
			if err != nil {
				return key(ip) // malformed: stop at the last good hop
			}
			ip = a.Unmap()
			if !isTrusted(ip, trusted) {
				return key(ip)
			}
		}
	}
	return key(ip)
}

// key is the limiter key of an address: IPv6 clients are keyed by their
// /64, since one host usually controls a whole /64.
func key(a netip.Addr) string {
	if a.Is6() {
		p, _ := a.Prefix(64)
		return p.String()
	}
	return a.String()
}

// parseHop reads one X-Forwarded-For entry: an address, or an address with
// a port as some proxies write it.
func parseHop(s string) (netip.Addr, error) {
	if a, err := netip.ParseAddr(s); err == nil {
		return a, nil
	}
	ap, err := netip.ParseAddrPort(s)
	if err != nil {
		return netip.Addr{}, err
	}
	return ap.Addr(), nil
}

func peerAddr(remote string) netip.Addr {
	host, _, err := net.SplitHostPort(remote)
	if err != nil {
		host = remote
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Addr{}
	}
	return a.Unmap()
}

func isTrusted(a netip.Addr, trusted []netip.Prefix) bool {
	for _, p := range trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}
