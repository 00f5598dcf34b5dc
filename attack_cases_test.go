package chatbox_test

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/chatboxsdk/chatbox/client"
	"github.com/chatboxsdk/chatbox/protocol"
)

type attack struct {
	name string
	run  func(t *testing.T, e *attackEnv)
}

// frameAttack is a hostile frame answered with an error, socket alive.
func frameAttack(name, frame string, code protocol.Code) attack {
	return attack{name, func(t *testing.T, e *attackEnv) { e.expectFrameError(t, []byte(frame), code) }}
}

func hostileFrames() []attack {
	big := strings.Repeat("a", 8<<10)
	return []attack{
		frameAttack("not JSON", `<script>alert(1)</script>`, protocol.CodeBadFrame),
		frameAttack("JSON null", `null`, protocol.CodeBadFrame),
		frameAttack("JSON array", `[{"type":"send"}]`, protocol.CodeBadFrame),
		frameAttack("empty object", `{}`, protocol.CodeInvalidField),
		frameAttack("type is a number", `{"type":5}`, protocol.CodeBadFrame),
		frameAttack("unknown frame type", `{"type":"admin.delete_all"}`, protocol.CodeUnknownType),
		frameAttack("invalid UTF-8", "{\"type\":\"send\",\"text\":\"\xff\xfe\xfd\"}", protocol.CodeBadFrame),
		frameAttack("deeply nested JSON", `{"type":"open","metadata":`+strings.Repeat(`[`, 3500)+strings.Repeat(`]`, 3500)+`}`, protocol.CodeBadFrame),
		frameAttack("after_seq overflows int64", `{"type":"resume","conversation_id":"c","after_seq":1e30}`, protocol.CodeBadFrame),
		frameAttack("negative after_seq", `{"type":"resume","conversation_id":"c","after_seq":-5}`, protocol.CodeInvalidField),
		frameAttack("path traversal in an id", `{"type":"open","conversation_id":"../../etc/passwd"}`, protocol.CodeInvalidField),
		frameAttack("oversized request id", `{"type":"list","id":"`+strings.Repeat("i", 200)+`"}`, protocol.CodeTooLarge),
		frameAttack("NUL in text", `{"type":"send","conversation_id":"c","message_id":"m","text":"a\u0000b"}`, protocol.CodeInvalidField),
		frameAttack("text over the limit", `{"type":"send","conversation_id":"c","message_id":"m","text":"`+big[:3<<10]+`"}`, protocol.CodeTooLarge),
		frameAttack("frame over the limit", `{"type":"list","cursor":"`+big+`"}`, protocol.CodeTooLarge),
		frameAttack("too many metadata entries", `{"type":"open","metadata":{`+metadataEntries(9)+`}}`, protocol.CodeTooLarge),
		frameAttack("oversized metadata value", `{"type":"open","metadata":{"k":"`+big[:300]+`"}}`, protocol.CodeTooLarge),
		frameAttack("metadata key with NUL", `{"type":"open","metadata":{"a\u0000":"v"}}`, protocol.CodeInvalidField),
		frameAttack("oversized title", `{"type":"open","title":"`+big[:300]+`"}`, protocol.CodeTooLarge),
		frameAttack("negative page limit", `{"type":"list","limit":-1}`, protocol.CodeInvalidField),
		frameAttack("forged list cursor", `{"type":"list","cursor":"AAAAAAAA"}`, protocol.CodeInvalidField),
		frameAttack("token too long in hello", `{"type":"hello","token":"`+strings.Repeat("t", 9000)+`"}`, protocol.CodeTooLarge),
		frameAttack("send to a conversation not open", `{"type":"send","conversation_id":"c_nope","message_id":"m","text":"hi"}`, protocol.CodeNotOpen),
		frameAttack("open an unknown model", `{"type":"open","model":"gpt-free"}`, protocol.CodeInvalidField),
		frameAttack("open a random conversation id", `{"type":"open","conversation_id":"c_0000"}`, protocol.CodeNotFound),
		{"binary frame", func(t *testing.T, e *attackEnv) {
			c := e.dial(t, "attacker")
			if err := c.WriteBinary(e.ctx(), []byte{0xde, 0xad, 0xbe, 0xef}); err != nil {
				t.Fatal(err)
			}
			if f, err := c.Next(e.ctx()); err != nil || f.Error == nil || f.Error.Code != protocol.CodeBadFrame {
				t.Fatalf("got %+v %v", f, err)
			}
		}},
		{"frame far over the limit", func(t *testing.T, e *attackEnv) {
			c := e.dial(t, "attacker")
			_ = c.Write(e.ctx(), []byte(strings.Repeat("x", 64<<10)))
			_, err := c.Next(e.ctx())
			expectClose(t, err, protocol.CloseMessageTooBig)
		}},
		{"duplicate keys in a frame", func(t *testing.T, e *attackEnv) {
			c := e.dial(t, "attacker")
			_ = c.Write(e.ctx(), []byte(`{"type":"send","type":"list"}`))
			if _, err := c.Next(e.ctx()); err != nil {
				t.Fatal(err)
			}
			if _, err := c.List(e.ctx(), "", 1); err != nil {
				t.Fatal(err)
			}
		}},
	}
}

func metadataEntries(n int) string {
	parts := make([]string, n)
	for i := range parts {
		parts[i] = fmt.Sprintf(`"k%d":"v"`, i)
	}
	return strings.Join(parts, ",")
}

func hostileHandshakes() []attack {
	return []attack{
		{"token in the URL query", func(t *testing.T, e *attackEnv) {
			_, resp, err := e.raw(t, e.url+"?token="+e.tokens["attacker"], nil)
			expectHTTP(t, resp, err, http.StatusBadRequest, protocol.CodeUnauthorized)
		}},
		{"access_token in the URL query", func(t *testing.T, e *attackEnv) {
			_, resp, err := e.raw(t, e.url+"?access_token=x", nil)
			expectHTTP(t, resp, err, http.StatusBadRequest, protocol.CodeUnauthorized)
		}},
		{"cross-site Origin", func(t *testing.T, e *attackEnv) {
			_, resp, err := e.raw(t, e.url, http.Header{"Origin": {"https://evil.example"}})
			expectHTTP(t, resp, err, http.StatusForbidden, protocol.CodeForbiddenOrigin)
		}},
		{"Origin null", func(t *testing.T, e *attackEnv) {
			_, resp, err := e.raw(t, e.url, http.Header{"Origin": {"null"}})
			expectHTTP(t, resp, err, http.StatusForbidden, protocol.CodeForbiddenOrigin)
		}},
		{"Origin with the allowed host as a prefix", func(t *testing.T, e *attackEnv) {
			_, resp, err := e.raw(t, e.url, http.Header{"Origin": {"https://app.example.com.evil.example"}})
			expectHTTP(t, resp, err, http.StatusForbidden, protocol.CodeForbiddenOrigin)
		}},
		{"Origin with the wrong scheme for the wildcard", func(t *testing.T, e *attackEnv) {
			_, resp, err := e.raw(t, e.url, http.Header{"Origin": {"http://shop.partner.example"}})
			expectHTTP(t, resp, err, http.StatusForbidden, protocol.CodeForbiddenOrigin)
		}},
		{"allowed wildcard origin is accepted", func(t *testing.T, e *attackEnv) {
			c, err := client.Dial(e.ctx(), e.url, client.Options{Token: e.tokens["attacker"], Header: http.Header{"Origin": {"https://shop.partner.example"}}})
			if err != nil {
				t.Fatal(err)
			}
			c.Close()
		}},
		{"no subprotocol", func(t *testing.T, e *attackEnv) {
			_, resp, err := e.raw(t, e.url, nil, "")
			expectHTTP(t, resp, err, http.StatusBadRequest, protocol.CodeUnsupportedProtocol)
		}},
		{"another protocol version", func(t *testing.T, e *attackEnv) {
			_, resp, err := e.raw(t, e.url, nil, "chatbox.v0")
			expectHTTP(t, resp, err, http.StatusBadRequest, protocol.CodeUnsupportedProtocol)
		}},
		{"forged bearer header", func(t *testing.T, e *attackEnv) {
			_, resp, err := e.raw(t, e.url, http.Header{"Authorization": {"Bearer forged"}})
			expectHTTP(t, resp, err, http.StatusUnauthorized, protocol.CodeUnauthorized)
		}},
		{"expired credential", func(t *testing.T, e *attackEnv) {
			_, err := client.Dial(e.ctx(), e.url, client.Options{Token: e.tokens["expired"]})
			if client.Code(err) != protocol.CodeUnauthorized {
				t.Fatalf("got %v", err)
			}
		}},
		{"hello without a token", func(t *testing.T, e *attackEnv) {
			_, err := client.Dial(e.ctx(), e.url, client.Options{})
			if client.Code(err) != protocol.CodeUnauthorized {
				t.Fatalf("got %v", err)
			}
		}},
		{"first frame is not hello", func(t *testing.T, e *attackEnv) {
			conn, _, err := e.raw(t, e.url, nil)
			if err != nil {
				t.Fatal(err)
			}
			_ = conn.Write(e.ctx(), websocket.MessageText, []byte(`{"type":"list"}`))
			_, _, _ = conn.Read(e.ctx())
			_, _, err = conn.Read(e.ctx())
			expectClose(t, err, protocol.CloseProtocolError)
		}},
		{"silent socket past the hello deadline", func(t *testing.T, e *attackEnv) {
			conn, _, err := e.raw(t, e.url, nil)
			if err != nil {
				t.Fatal(err)
			}
			_, _, err = conn.Read(e.ctx())
			expectClose(t, err, protocol.CloseProtocolError)
		}},
	}
}

func hostileUsers() []attack {
	return []attack{
		{"open another user's conversation", func(t *testing.T, e *attackEnv) {
			_, err := e.dial(t, "attacker").Open(e.ctx(), e.victimConv)
			if client.Code(err) != protocol.CodeNotFound {
				t.Fatalf("got %v", err)
			}
		}},
		{"resume another user's conversation", func(t *testing.T, e *attackEnv) {
			_, err := e.dial(t, "attacker").Resume(e.ctx(), e.victimConv, 0)
			if client.Code(err) != protocol.CodeNotFound {
				t.Fatalf("got %v", err)
			}
		}},
		{"read another user's history", func(t *testing.T, e *attackEnv) {
			_, err := e.dial(t, "attacker").History(e.ctx(), e.victimConv, "", 10)
			if client.Code(err) != protocol.CodeNotFound {
				t.Fatalf("got %v", err)
			}
		}},
		{"write to another user's conversation", func(t *testing.T, e *attackEnv) {
			_, err := e.dial(t, "attacker").Send(e.ctx(), e.victimConv, "m", "pwned")
			if client.Code(err) != protocol.CodeNotOpen {
				t.Fatalf("got %v", err)
			}
		}},
		{"end another user's conversation", func(t *testing.T, e *attackEnv) {
			if err := e.dial(t, "attacker").End(e.ctx(), e.victimConv); client.Code(err) != protocol.CodeNotOpen {
				t.Fatalf("got %v", err)
			}
		}},
		{"re-authenticate as another user", func(t *testing.T, e *attackEnv) {
			c := e.dial(t, "attacker")
			_, err := c.Request(e.ctx(), protocol.ClientFrame{Type: protocol.TypeHello, Token: e.tokens["victim"]})
			if client.Code(err) != protocol.CodeUnauthorized {
				t.Fatalf("got %v", err)
			}
			if _, err := c.Open(e.ctx(), e.victimConv); client.Code(err) != protocol.CodeNotFound {
				t.Fatalf("identity changed: %v", err)
			}
		}},
		{"socket kept open past exp", func(t *testing.T, e *attackEnv) {
			c := e.dial(t, "expiring")
			for {
				f, err := c.Next(e.ctx())
				if err != nil {
					expectClose(t, err, protocol.CloseUnauthorized)
					return
				}
				if f.Type == protocol.TypeError && f.Error.Code != protocol.CodeUnauthorized {
					t.Fatalf("unexpected error %+v", f.Error)
				}
			}
		}},
		{"too many sockets for one user", func(t *testing.T, e *attackEnv) {
			var refused error
			for range 8 {
				c, err := client.Dial(e.ctx(), e.url, client.Options{Token: e.tokens["attacker"]})
				if err != nil {
					refused = err
					break
				}
				t.Cleanup(func() { c.Close() })
			}
			if client.Code(refused) != protocol.CodeLimitReached {
				t.Fatalf("sixth socket: %v", refused)
			}
		}},
	}
}

func hostileFloods() []attack {
	return []attack{
		{"10,000 messages in a burst", func(t *testing.T, e *attackEnv) {
			c := e.dial(t, "attacker")
			opened, err := c.OpenNew(e.ctx(), client.OpenOptions{})
			if err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			for i := range 10_000 {
				if err := c.SendFrame(e.ctx(), protocol.ClientFrame{Type: protocol.TypeSend, ConversationID: opened.ConversationID, MessageID: "b" + strconv.Itoa(i), Text: "spam"}); err != nil {
					break // the server may close a client that does not read
				}
			}
			accepted, limited := 0, 0
			for accepted+limited < 10_000 {
				f, err := c.Next(e.ctx())
				if err != nil {
					break
				}
				switch {
				case f.Type == protocol.TypeAck:
					accepted++
				case f.Type == protocol.TypeError && (f.Error.Code == protocol.CodeRateLimited || f.Error.Code == protocol.CodeBusy):
					limited++
				}
			}
			// Burst 5, then one per second refills while the flood lasts.
			allowed := 5 + int(time.Since(start).Seconds()) + 1
			if accepted > allowed || limited == 0 {
				t.Fatalf("accepted %d (at most %d allowed), limited %d: the message limit did not hold", accepted, allowed, limited)
			}
		}},
		{"1,000 connection attempts from one address", func(t *testing.T, e *attackEnv) {
			refused := floodConnections(t, e, 1000, nil)
			if refused == 0 {
				t.Fatal("no attempt was refused with 429")
			}
		}},
		{"spoofed X-Forwarded-For from an untrusted peer", func(t *testing.T, e *attackEnv) {
			refused := floodConnections(t, e, 300, func(i int) http.Header {
				return http.Header{"X-Forwarded-For": {fmt.Sprintf("203.0.113.%d", i%250)}}
			})
			if refused == 0 {
				t.Fatal("rotating X-Forwarded-For dodged the per-address limit")
			}
		}},
	}
}

// floodConnections makes n upgrade attempts (with a bad token, so nothing
// stays open) and counts 429 answers with a Retry-After header.
func floodConnections(t *testing.T, e *attackEnv, n int, header func(int) http.Header) int {
	var mu sync.Mutex
	refused := 0
	var wg sync.WaitGroup
	sem := make(chan struct{}, 16)
	for i := range n {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			h := http.Header{"Authorization": {"Bearer nope"}}
			if header != nil {
				for k, v := range header(i) {
					h[k] = v
				}
			}
			_, resp, err := websocket.Dial(e.ctx(), e.url, &websocket.DialOptions{HTTPHeader: h, Subprotocols: []string{protocol.Subprotocol}})
			if err != nil && resp != nil && resp.StatusCode == http.StatusTooManyRequests && resp.Header.Get("Retry-After") != "" {
				mu.Lock()
				refused++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return refused
}

// TestAttackSuite throws every hostile input at one Server, then checks that
// the same Server still serves a well-behaved client normally.
func TestAttackSuite(t *testing.T) {
	e := newAttackEnv(t)
	var all []attack
	// Floods go last: they use up this address's connection budget.
	for _, group := range [][]attack{hostileFrames(), hostileHandshakes(), jwtAttacks(), hostileUsers(), hostileFloods()} {
		all = append(all, group...)
	}
	if len(all) < 40 {
		t.Fatalf("only %d hostile inputs", len(all))
	}
	for _, a := range all {
		t.Run(a.name, func(t *testing.T) { a.run(t, e) })
	}
	t.Run("a well-behaved client is served normally afterwards", func(t *testing.T) {
		var c *client.Client
		for attempt := 0; ; attempt++ { // the floods may have used up this address's connection budget
			var err error
			c, err = client.Dial(e.ctx(), e.url, client.Options{Token: e.tokens["normal"]})
			var he *client.HTTPError
			if err == nil {
				break
			}
			if !errors.As(err, &he) || he.Status != http.StatusTooManyRequests || attempt > 50 {
				t.Fatal(err)
			}
			time.Sleep(20 * time.Millisecond) // waiting out a rate limit is the behaviour under test
		}
		defer c.Close()
		opened, err := c.OpenNew(e.ctx(), client.OpenOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.Send(e.ctx(), opened.ConversationID, "m1", "hello after the storm"); err != nil {
			t.Fatal(err)
		}
		r, _, err := c.ReadReply(e.ctx(), opened.ConversationID, nil)
		if err != nil || r.Text != "echo: hello after the storm" {
			t.Fatalf("%v %v", r, err)
		}
	})
}
