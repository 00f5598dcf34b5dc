package httpstream

import (
	"errors"
	"io"
	"strings"
	"testing"
)

func TestSSEReader(t *testing.T) {
	in := ": comment\r\nevent: ping\r\n\r\ndata: {\"a\":1}\n\nevent: x\ndata: one\ndata:two\nid: 7\n\n\n\ndata: cut"
	r := NewSSEReader(strings.NewReader(in))
	for _, want := range []struct{ event, data string }{{"ping", ""}, {"", `{"a":1}`}, {"x", "one\ntwo"}} {
		ev, data, err := r.Next()
		if err != nil || ev != want.event || string(data) != want.data {
			t.Fatalf("got (%q, %q, %v), want (%q, %q)", ev, data, err, want.event, want.data)
		}
	}
	if _, _, err := r.Next(); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("an event cut short: %v", err)
	}
}

func TestSSEReaderBoundsEvents(t *testing.T) {
	long := "data: " + strings.Repeat("x", MaxEventBytes+1) + "\n\n"
	if _, _, err := NewSSEReader(strings.NewReader(long)).Next(); !errors.Is(err, ErrEventTooLarge) {
		t.Fatalf("a long line: %v", err)
	}
	many := strings.Repeat("data: "+strings.Repeat("y", 1000)+"\n", MaxEventBytes/1000+2) + "\n"
	if _, _, err := NewSSEReader(strings.NewReader(many)).Next(); !errors.Is(err, ErrEventTooLarge) {
		t.Fatalf("many lines: %v", err)
	}
}
