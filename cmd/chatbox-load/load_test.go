package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// runJSON runs the tool in-process with args and decodes its JSON results.
func runJSON(t *testing.T, args ...string) map[string]*result {
	t.Helper()
	var out, errOut bytes.Buffer
	args = append([]string{"-server", "inproc", "-json", "-timeout", "60s"}, args...)
	if err := run(args, &out, &errOut); err != nil {
		t.Fatalf("run %v: %v\n%s", args, err, errOut.String())
	}
	var results []*result
	if err := json.Unmarshal(out.Bytes(), &results); err != nil {
		t.Fatalf("decode results: %v\n%s", err, out.String())
	}
	byTarget := map[string]*result{}
	for _, r := range results {
		byTarget[r.Target] = r
	}
	return byTarget
}

func TestChatInProcess(t *testing.T) {
	res := runJSON(t, "-mode", "chat", "-conns", "5", "-duration", "1s", "-warmup", "200ms", "-deltas", "20",
		"-targets", "chatbox,floor-batched")
	for _, name := range []string{kindChatbox, kindFloorBatched} {
		r := res[name]
		if r == nil {
			t.Fatalf("no result for %s", name)
		}
		if r.Held != 5 || r.Deltas == 0 || r.Replies == 0 || len(r.Errors) != 0 {
			t.Errorf("%s: held %d, deltas %d, replies %d, errors %v; want 5 held, deltas and replies, no errors",
				name, r.Held, r.Deltas, r.Replies, r.Errors)
		}
		if r.Latency.P50 <= 0 || r.Latency.P50 > 5*time.Second {
			t.Errorf("%s: latency p50 %v: the stamps were not read", name, r.Latency.P50)
		}
		if r.Server == nil || r.Server.CPU <= 0 {
			t.Errorf("%s: no server CPU figure", name)
		}
	}
}

func TestResumeInProcess(t *testing.T) {
	res := runJSON(t, "-mode", "resume", "-conns", "5", "-duration", "1s", "-warmup", "200ms", "-deltas", "20",
		"-interval", "2ms", "-targets", "chatbox")
	r := res[kindChatbox]
	// Every event is checked for its number: a gap or a repeat after a
	// resume shows up as an error.
	if r.Resumes == 0 || r.Deltas == 0 || len(r.Errors) != 0 {
		t.Fatalf("resumes %d, deltas %d, errors %v; want resumes and deltas without errors", r.Resumes, r.Deltas, r.Errors)
	}
}

func TestIdleInProcess(t *testing.T) {
	res := runJSON(t, "-mode", "idle", "-conns", "5", "-settle", "10ms", "-targets", "chatbox,floor-single")
	for name, r := range res {
		if r.Held != 5 || len(r.Errors) != 0 || r.Server == nil {
			t.Errorf("%s: held %d, errors %v, server %v", name, r.Held, r.Errors, r.Server)
		}
	}
}

func TestStamps(t *testing.T) {
	at := time.Unix(1795812723, 292841000)
	one := stampText(at)
	if len(one) != stampBytes {
		t.Fatalf("stamp %q is %d bytes, want %d", one, len(one), stampBytes)
	}
	var got []time.Time
	n := eachStamp(one+stampText(at.Add(time.Millisecond)), func(t time.Time) { got = append(got, t) })
	if n != 2 || len(got) != 2 || !got[0].Equal(at) || !got[1].Equal(at.Add(time.Millisecond)) {
		t.Fatalf("coalesced stamps: n=%d, got %v", n, got)
	}
	if n := eachStamp("plain text from another provider", func(time.Time) { t.Error("stamp found in plain text") }); n != 1 {
		t.Fatalf("plain text counts as %d deltas, want 1", n)
	}
	if n := eachStamp(strings.Repeat("x", stampBytes), func(time.Time) { t.Error("stamp found") }); n != 1 {
		t.Fatalf("unstamped 24 bytes count as %d deltas, want 1", n)
	}
}

func TestHistogram(t *testing.T) {
	var h histogram
	for i := 1; i <= 1000; i++ {
		h.record(time.Duration(i) * time.Microsecond)
	}
	for _, c := range []struct {
		q    float64
		want time.Duration
	}{{0.5, 500 * time.Microsecond}, {0.99, 990 * time.Microsecond}, {0.999, 999 * time.Microsecond}} {
		got := h.quantile(c.q)
		if diff := got - c.want; diff < -c.want/50 || diff > c.want/50 {
			t.Errorf("q%.3f = %v, want %v within 2%%", c.q, got, c.want)
		}
	}
	var empty histogram
	if empty.quantile(0.5) != 0 {
		t.Error("empty histogram has a quantile")
	}
}

func TestFlags(t *testing.T) {
	var out, errOut bytes.Buffer
	if err := run([]string{"-mode", "nope", "-conns", "0"}, &out, &errOut); err == nil ||
		!strings.Contains(err.Error(), "-mode") || !strings.Contains(err.Error(), "-conns") {
		t.Fatalf("bad flags: %v; want both problems reported", err)
	}
}
