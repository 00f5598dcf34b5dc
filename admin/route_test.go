package admin

import (
	"testing"
)

func TestRoute(t *testing.T) {
	cases := []struct {
		path string
		ok   bool
		id   string
	}{
		{"/conversations", true, ""},
		{"conversations", true, ""}, // mounted with StripPrefix("/admin/")
		{"/metrics", true, ""},
		{"/audit", true, ""},
		{"/conversations/c-1", true, "c-1"},
		{"/conversations/a%2Fb", true, "a/b"},
		{"/conversations/c-1/messages", true, "c-1"},
		{"/conversations/", false, ""},
		{"/conversations/c-1/", false, ""},
		{"/conversations//messages", false, ""},
		{"/conversations/c-1/messages/", false, ""},
		{"/conversations/%zz", false, ""},
		{"/Conversations", false, ""},
		{"/", false, ""},
		{"", false, ""},
	}
	for _, tc := range cases {
		ep, id, ok := route(tc.path)
		if ok != tc.ok || id != tc.id || (ep != nil) != ok {
			t.Errorf("route(%q) = %v, %q, %v; want %q, %v", tc.path, ep != nil, id, ok, tc.id, tc.ok)
		}
	}
}

func TestValidAction(t *testing.T) {
	for s, want := range map[string]bool{
		"takeover": true, "help_request": true, "": false, "Takeover": false, "a-b": false, "x1": false,
	} {
		if validAction(s) != want {
			t.Errorf("validAction(%q) = %v", s, !want)
		}
	}
}
