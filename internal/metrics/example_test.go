package metrics_test

import (
	"bufio"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/chatboxsdk/chatbox/internal/metrics"
)

// The host owns the registry and decides where it is served.
func ExampleNew() {
	reg := prometheus.NewRegistry()
	m, err := metrics.New(reg, "") // metric names start with "chatbox_"
	if err != nil {
		fmt.Println(err)
		return
	}

	// What a server records during one short conversation.
	m.SocketOpened()
	m.ConversationOpened(true)
	m.MessageAccepted("user")
	m.GenerationStarted("demo")
	m.GenerationEnded("demo", "stop", 1200*time.Millisecond, 150*time.Millisecond, 42, 17)
	m.HelpRequested()
	m.SocketClosed(1000)

	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	srv := httptest.NewServer(mux)
	defer srv.Close()

	resp, err := http.Get(srv.URL + "/metrics")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		for _, prefix := range []string{"chatbox_tokens_total", "chatbox_generations_total", "chatbox_help_requests_total", "chatbox_connections "} {
			if strings.HasPrefix(line, prefix) {
				fmt.Println(line)
			}
		}
	}

	var off *metrics.Metrics // metrics disabled: every call is a no-op
	off.HelpRequested()
	// Output:
	// chatbox_connections 0
	// chatbox_generations_total{finish_reason="stop",model="demo"} 1
	// chatbox_help_requests_total 1
	// chatbox_tokens_total{direction="input",model="demo"} 42
	// chatbox_tokens_total{direction="output",model="demo"} 17
}
