package chatbox

import (
	"net/http"
	"testing"
)

func TestClientIP(t *testing.T) {
	trusted, errs := parseTrustedProxies([]string{"10.0.0.0/8"})
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	cases := []struct {
		name, remote string
		xff          []string
		want         string
	}{
		{"untrusted peer: header ignored", "203.0.113.7:5000", []string{"198.51.100.1"}, "203.0.113.7"},
		{"trusted proxy: client from header", "10.1.2.3:5000", []string{"198.51.100.1"}, "198.51.100.1"},
		{"spoofed left entries are skipped", "10.1.2.3:5000", []string{"1.1.1.1, 198.51.100.1"}, "198.51.100.1"},
		{"chain of trusted proxies", "10.1.2.3:5000", []string{"198.51.100.1, 10.9.9.9"}, "198.51.100.1"},
		{"address with port", "10.1.2.3:5000", []string{"198.51.100.1:4711"}, "198.51.100.1"},
		{"malformed hop stops the walk", "10.1.2.3:5000", []string{"garbage"}, "10.1.2.3"},
		{"IPv6 keyed by /64", "[2001:db8:1:2:3:4:5:6]:443", nil, "2001:db8:1:2::/64"},
		{"IPv4-mapped IPv6", "[::ffff:203.0.113.9]:1", nil, "203.0.113.9"},
	}
	for _, tc := range cases {
		r := &http.Request{RemoteAddr: tc.remote, Header: http.Header{}}
		for _, v := range tc.xff {
			r.Header.Add("X-Forwarded-For", v)
		}
		if got := clientIP(r, trusted); got != tc.want {
			t.Errorf("%s: got %q, want %q", tc.name, got, tc.want)
		}
	}
}

func TestOriginPolicy(t *testing.T) {
	p, errs := parseOriginPatterns([]string{"https://app.example.com", "https://*.partner.example"})
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	cases := map[string]bool{
		"":                                  true, // not a browser
		"http://chat.host.test":             true, // same host
		"https://app.example.com":           true,
		"https://shop.partner.example":      true,
		"https://partner.example":           false,
		"http://shop.partner.example":       false,
		"https://app.example.com.evil.test": false,
		"null":                              false,
		"https://evil.test":                 false,
	}
	for origin, want := range cases {
		r := &http.Request{Host: "chat.host.test", Header: http.Header{}}
		if origin != "" {
			r.Header.Set("Origin", origin)
		}
		if got := p.allows(r); got != want {
			t.Errorf("origin %q: allowed=%v, want %v", origin, got, want)
		}
	}
	p.requireOrigin = true
	if p.allows(&http.Request{Host: "h", Header: http.Header{}}) {
		t.Error("missing origin allowed although required")
	}
}
