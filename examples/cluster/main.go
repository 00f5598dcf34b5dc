// Command cluster runs one chatbox instance of several behind a load
// balancer. Every instance shares a Redis (sequence numbers, replay,
// fan-out, rate limits, the one-reply claim) and a MongoDB (conversations,
// messages, who answers), so a user's sockets may land on any instance, in
// any order, and see one conversation.
//
// With a Redis and a MongoDB (or FerretDB) running locally:
//
//	go run ./examples/cluster -addr 127.0.0.1:8081 -redis 127.0.0.1:6379 -mongodb mongodb://127.0.0.1:27017 &
//	go run ./examples/cluster -addr 127.0.0.1:8082 -redis 127.0.0.1:6379 -mongodb mongodb://127.0.0.1:27017 &
//
// then put a load balancer that passes WebSocket upgrades in front of both
// (no stickiness needed) and open its address; or open each instance's
// address in turn: a conversation started on one is in the other's list,
// and a reply streaming on one streams on the other.
//
// Flags:
//
//	-addr       address to listen on (default 127.0.0.1:8080)
//	-redis      the shared Redis, host:port (default 127.0.0.1:6379)
//	-mongodb    the shared MongoDB URI (default $CHATBOX_MONGODB_URI); required
//	-database   the MongoDB database (default "chatbox")
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/chatboxsdk/chatbox/storage/mongostore"
)

// options are the command's flags.
type options struct {
	addr, redis, mongodb, database string
	keyPrefix                      string // not a flag: keeps a test run's Redis keys apart
}

func main() {
	var o options
	flag.StringVar(&o.addr, "addr", "127.0.0.1:8080", "address to listen on")
	flag.StringVar(&o.redis, "redis", "127.0.0.1:6379", "the Redis every instance shares (host:port)")
	flag.StringVar(&o.mongodb, "mongodb", os.Getenv("CHATBOX_MONGODB_URI"), "the MongoDB every instance shares (URI)")
	flag.StringVar(&o.database, "database", "chatbox", "the MongoDB database")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, o); err != nil {
		log.Fatal(err)
	}
}

// check refuses options that cannot make a cluster.
func (o options) check() error {
	var errs []error
	if o.redis == "" {
		errs = append(errs, errors.New("-redis is required: the instances share sequence numbers, replay and limits through it"))
	}
	if o.mongodb == "" {
		errs = append(errs, errors.New("-mongodb (or CHATBOX_MONGODB_URI) is required: every instance must read the same conversations, "+
			"which an in-memory store cannot give"))
	}
	return errors.Join(errs...)
}

// run serves one instance on o.addr until ctx is done, then shuts it down.
func run(ctx context.Context, o options) error {
	if err := o.check(); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", o.addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", o.addr, err)
	}
	return serve(ctx, o, ln)
}

// serve serves one instance on ln until ctx is done; ln is closed when it
// returns.
func serve(ctx context.Context, o options, ln net.Listener) error {
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	openCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	st, err := mongostore.Open(openCtx, o.mongodb, mongostore.WithDatabase(o.database))
	cancel()
	if err != nil {
		_ = ln.Close()
		return err
	}
	defer func() {
		closeCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := st.Close(closeCtx); err != nil {
			logger.Warn("close store", "err", err)
		}
	}()
	in, err := newInstance(instanceConfig{Redis: o.redis, Store: st, Logger: logger, KeyPrefix: o.keyPrefix})
	if err != nil {
		_ = ln.Close()
		return err
	}

	// No WriteTimeout: it would cut long-lived sockets.
	hs := &http.Server{Handler: in.handler, ReadHeaderTimeout: 10 * time.Second}
	fmt.Printf("chatbox instance on http://%[1]s/ (Redis %[2]s)\n"+
		"  tokens  user %[3]s, operator %[4]s (console at /operator)\n",
		ln.Addr(), o.redis, demoToken, demoOperatorToken)
	serveErr := make(chan error, 1)
	go func() { serveErr <- hs.Serve(ln) }()
	select {
	case err := <-serveErr:
		return errors.Join(err, in.close(context.Background()))
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	// The chat first (its replies finish or are stored interrupted), then
	// the HTTP server, then the Redis clients the chat used to the end.
	err = in.close(shutdownCtx)
	if herr := hs.Shutdown(shutdownCtx); herr != nil && !errors.Is(herr, http.ErrServerClosed) {
		err = errors.Join(err, herr)
	}
	<-serveErr
	return err
}
