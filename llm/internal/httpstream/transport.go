package httpstream

import (
	"io"
	"net/http"

	"github.com/chatboxsdk/chatbox/llm"
)

// NewClient returns an HTTP client for a provider: base's settings (nil
// means a client of its own, with a transport cloned from
// http.DefaultTransport, so that providers never share connection pools)
// with a transport that feeds the Watchdog of each request's context and
// caps error bodies at llm.MaxErrorBodyBytes.
func NewClient(base *http.Client) *http.Client {
	var c http.Client
	if base != nil {
		c = *base
	}
	rt := c.Transport
	if rt == nil {
		if base != nil {
			rt = http.DefaultTransport
		} else {
			rt = http.DefaultTransport.(*http.Transport).Clone()
		}
	}
	c.Transport = transport{base: rt}
	return &c
}

type transport struct{ base http.RoundTripper }

func (t transport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.base.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode >= 400 {
		resp.Body = cappedBody{Reader: io.LimitReader(resp.Body, llm.MaxErrorBodyBytes), c: resp.Body}
	}
	if w := from(req.Context()); w != nil {
		w.Headers()
		resp.Body = watchedBody{rc: resp.Body, w: w}
	}
	return resp, nil
}

// CloseIdleConnections closes the base transport's idle connections.
func (t transport) CloseIdleConnections() {
	type closer interface{ CloseIdleConnections() }
	if c, ok := t.base.(closer); ok {
		c.CloseIdleConnections()
	}
}

type cappedBody struct {
	io.Reader
	c io.Closer
}

func (b cappedBody) Close() error { return b.c.Close() }

// watchedBody tells the watchdog about every read that brought data.
type watchedBody struct {
	rc io.ReadCloser
	w  *Watchdog
}

func (b watchedBody) Read(p []byte) (int, error) {
	n, err := b.rc.Read(p)
	if n > 0 {
		b.w.Activity()
	}
	return n, err
}

func (b watchedBody) Close() error { return b.rc.Close() }
