package e2e

import (
	"errors"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chatboxsdk/chatbox"
	memorybroker "github.com/chatboxsdk/chatbox/broker/memory"
	"github.com/chatboxsdk/chatbox/llm/scripted"
	"github.com/chatboxsdk/chatbox/storage/memory"
)

// roundRobin is a load balancer without stickiness in front of several
// instances: each WebSocket upgrade goes to the next instance in turn (other
// requests too, on a counter of their own), and it remembers where each
// upgrade went.
type roundRobin struct {
	URL      string
	ln       *trackingListener
	hs       *http.Server
	served   chan error
	tr       *http.Transport
	mu       sync.Mutex
	next     int // the next request's instance
	nextWS   int // the next upgrade's instance
	upgrades []int
}

func startRoundRobin(t *testing.T, apps ...*app) *roundRobin {
	t.Helper()
	targets := make([]*url.URL, len(apps))
	for i, a := range apps {
		u, err := url.Parse(a.URL)
		if err != nil {
			t.Fatal(err)
		}
		targets[i] = u
	}
	ln, err := listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	lb := &roundRobin{URL: "http://" + ln.Addr().String(), ln: ln, served: make(chan error, 1), tr: &http.Transport{}}
	proxy := &httputil.ReverseProxy{Transport: lb.tr, Rewrite: func(r *httputil.ProxyRequest) {
		r.SetURL(targets[lb.pick(r.In)])
		r.Out.Host = r.In.Host // the instances check the page's origin against the host it asked for
	}}
	lb.hs = &http.Server{Handler: proxy, ReadHeaderTimeout: 5 * time.Second}
	go func() { lb.served <- lb.hs.Serve(ln) }()
	t.Cleanup(func() {
		_ = lb.hs.Close()
		lb.ln.dropAll()
		if err := <-lb.served; err != nil && !errors.Is(err, http.ErrServerClosed) && !errors.Is(err, net.ErrClosed) {
			t.Errorf("proxy: %v", err)
		}
		lb.tr.CloseIdleConnections()
	})
	return lb
}

func (lb *roundRobin) pick(r *http.Request) int {
	lb.mu.Lock()
	defer lb.mu.Unlock()
	if strings.EqualFold(r.Header.Get("Upgrade"), "websocket") {
		i := lb.nextWS % 2
		lb.nextWS++
		lb.upgrades = append(lb.upgrades, i)
		return i
	}
	i := lb.next % 2
	lb.next++
	return i
}

// sockets returns the instance each upgrade went to, in order.
func (lb *roundRobin) sockets() []int {
	lb.mu.Lock()
	defer lb.mu.Unlock()
	return append([]int(nil), lb.upgrades...)
}

func TestChatPageKeepsItsConversationWhenItsSocketMovesToAnotherInstance(t *testing.T) {
	needBrowser(t)
	store := memory.New()
	shared, err := memorybroker.New(memorybroker.Config{}) // one process: a shared broker in memory
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = shared.Close() }) // after both instances stop
	p := scripted.New(
		scripted.WithReplies(scripted.Reply{Deltas: scripted.Words(story), Delay: 40 * time.Millisecond}),
		scripted.WithResponder(func(llmRequest) scripted.Reply { return scripted.Reply{Deltas: scripted.Words("glad you liked it")} }),
	)
	opts := []chatbox.Option{chatbox.WithBroker(shared)}
	a := startApp(t, appConfig{Store: store, Provider: p, Options: opts})
	b := startApp(t, appConfig{Store: store, Provider: p, Options: opts})
	lb := startRoundRobin(t, a, b)

	pg := openPage(t, lb.URL+"/", "")
	pg.send("tell me a story")
	pg.waitJS(`(() => { const m = document.querySelector("#messages .msg-assistant");
		return m && m.dataset.status === "streaming" && m.textContent.includes("small server"); })()`)
	id := pg.conversationID()

	// The connection between the page and the load balancer drops
	// mid-reply; the page reconnects and the balancer sends it to the
	// other instance, which did not run the reply.
	lb.ln.dropAll()
	pg.waitJS(`document.body.dataset.state === "open" &&
		document.querySelector("#messages .msg-assistant").dataset.status === "complete"`)
	if got := lb.sockets(); len(got) < 2 || got[0] == got[1] {
		t.Fatalf("the page's sockets went to instances %v; the test needs the reconnect on the other one", got)
	}
	msgs := pg.messages()
	if len(msgs) != 2 || msgs[0].Text != "tell me a story" || msgs[1].Text != story || msgs[1].Finish != "stop" {
		t.Fatalf("after the move the page shows:\n%swant the story once, complete", textOf(msgs))
	}
	if got := pg.conversationID(); got != id {
		t.Fatalf("the page moved to conversation %s, want %s", got, id)
	}

	// The conversation goes on through the instance the page is on now.
	pg.send("thanks")
	pg.waitReplyDone(4)
	if got := textOf(pg.messages()); strings.Count(got, story) != 1 || !strings.HasSuffix(got, "assistant[complete/stop]: glad you liked it\n") {
		t.Fatalf("page shows:\n%s", got)
	}
	if n := len(listMessages(t, a, id)); n != 4 {
		t.Fatalf("the shared store holds %d messages, want 4", n)
	}
}
