package main

import (
	"context"
	"crypto/rand"
	"net"
	"net/http"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chatboxsdk/chatbox/broker/redis/redistest"
	"github.com/chatboxsdk/chatbox/client"
)

// The command itself, twice, on the test Redis and the MongoDB-compatible
// test server: a conversation started on one instance is answered on both,
// and both stop when their context ends.
func TestTheCommandServesOneConversationFromTwoInstances(t *testing.T) {
	uri := os.Getenv("CHATBOX_TEST_MONGODB_URI")
	if uri == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("CHATBOX_TEST_MONGODB_URI is not set: run the tests through scripts/ferretdb.sh")
		}
		t.Skip("CHATBOX_TEST_MONGODB_URI is not set: run the tests through scripts/ferretdb.sh")
	}
	o := options{redis: redistest.Addr(t), mongodb: uri, database: "chatbox_cluster_" + strings.ToLower(rand.Text()[:10]),
		keyPrefix: "chatbox-example-" + rand.Text() + ":"}
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	var urls []string
	done := make(chan error, 2)
	for range 2 {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		urls = append(urls, "http://"+ln.Addr().String())
		go func() { done <- serve(ctx, o, ln) }()
	}
	for _, u := range urls {
		// The listener is open already: the request waits for the server.
		resp, err := http.Get(u + "/chat/health/ready")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s ready: %d", u, resp.StatusCode)
		}
	}

	tctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	var tabs []*client.Client
	for _, u := range urls {
		c, err := client.Dial(tctx, "ws"+strings.TrimPrefix(u, "http")+"/chat/ws", client.Options{Token: demoToken})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		tabs = append(tabs, c)
	}
	opened, err := tabs[0].OpenNew(tctx, client.OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	conv := opened.ConversationID
	if _, err := tabs[1].Open(tctx, conv); err != nil {
		t.Fatalf("the second instance opens the conversation the first started: %v", err)
	}
	if _, err := tabs[1].Send(tctx, conv, client.NewMessageID(), "hi"); err != nil {
		t.Fatal(err)
	}
	r0, _, err0 := tabs[0].ReadReply(tctx, conv, nil)
	r1, _, err1 := tabs[1].ReadReply(tctx, conv, nil)
	if err0 != nil || err1 != nil || r0.FinishReason != "stop" || r0.Text != r1.Text || !slices.Equal(r0.Seqs, r1.Seqs) {
		t.Fatalf("one reply on both: %v %v (%v), %v %v (%v)", r0, r0.Seqs, err0, r1, r1.Seqs, err1)
	}

	stop()
	for range 2 {
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("serve: %v", err)
			}
		case <-time.After(20 * time.Second): // a bound on shutdown, not a wait
			t.Fatal("an instance did not stop within 20s of its context's end")
		}
	}
}
