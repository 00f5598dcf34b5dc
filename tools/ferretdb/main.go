// Command ferretdb runs a MongoDB wire-protocol server for chatbox's tests:
// FerretDB embedded with its SQLite backend, listening on a loopback address.
//
// Usage:
//
//	ferretdb [-listen 127.0.0.1:0] [-dir DIR] [-uri-file FILE]
//
// With the default -listen address the kernel picks a free port. Once the
// server accepts connections its MongoDB URI is printed on standard output
// and, with -uri-file, written atomically to FILE, so a script can wait for
// that file to appear. Data lives in -dir; without it a temporary directory
// is created and removed on exit. SIGINT and SIGTERM stop the server
// cleanly.
//
// Clients reach FerretDB through a small proxy (proxy.go) that runs
// update and findAndModify commands one at a time, so one document's
// concurrent updates are atomic as they are on MongoDB.
//
// This is a test tool, not a production server: it has no authentication
// and no TLS, and it refuses to listen anywhere but on a loopback address.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/FerretDB/FerretDB/ferretdb"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "ferretdb:", err)
		os.Exit(1)
	}
}

func run() error {
	listen := flag.String("listen", "127.0.0.1:0", "loopback TCP address to listen on; port 0 picks a free port")
	dir := flag.String("dir", "", "data directory (created if missing); default: a temporary directory removed on exit")
	uriFile := flag.String("uri-file", "", "file to write the MongoDB URI to once the server listens")
	verbose := flag.Bool("v", false, "log FerretDB's informational messages")
	flag.Parse()

	if err := checkLoopback(*listen); err != nil {
		return err
	}

	dataDir := *dir
	if dataDir == "" {
		tmp, err := os.MkdirTemp("", "chatbox-ferretdb-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(tmp)
		dataDir = tmp
	} else if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return err
	}
	abs, err := filepath.Abs(dataDir)
	if err != nil {
		return err
	}

	level := slog.LevelWarn
	if *verbose {
		level = slog.LevelInfo
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))

	// SQLite URIs name a directory with a trailing slash; each database
	// becomes one file in it.
	sqliteURL := (&url.URL{Scheme: "file", Opaque: filepath.ToSlash(abs) + "/"}).String()
	f, err := ferretdb.New(&ferretdb.Config{
		Listener:  ferretdb.ListenerConfig{TCP: "127.0.0.1:0"},
		Logger:    logger,
		Handler:   "sqlite",
		SQLiteURL: sqliteURL,
	})
	if err != nil {
		return err
	}

	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return err
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	done := make(chan error, 1)
	go func() { done <- f.Run(ctx) }()

	// MongoDBURI waits until FerretDB's own listener is bound.
	backend, err := url.Parse(f.MongoDBURI())
	if err != nil {
		stop()
		<-done
		ln.Close()
		return err
	}
	proxied := make(chan error, 1)
	go func() { proxied <- newProxy(backend.Host).serve(ctx, ln) }()
	uri := (&url.URL{Scheme: "mongodb", Host: ln.Addr().String(), Path: "/"}).String()
	fmt.Println(uri)
	if *uriFile != "" {
		if err := writeAtomic(*uriFile, uri+"\n"); err != nil {
			stop()
			return errors.Join(err, <-proxied, <-done)
		}
		defer os.Remove(*uriFile)
	}

	// Either side failing stops the other.
	select {
	case err := <-done:
		stop()
		return errors.Join(err, <-proxied)
	case err := <-proxied:
		stop()
		return errors.Join(err, <-done)
	}
}

// checkLoopback refuses addresses that would expose the unauthenticated
// server beyond this machine.
func checkLoopback(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("-listen %q: %w", addr, err)
	}
	ip := net.ParseIP(host)
	if host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return errors.New("-listen must be a loopback address such as 127.0.0.1:0")
	}
	return nil
}

// writeAtomic writes data to a temporary file beside path and renames it,
// so a reader never sees a partial URI.
func writeAtomic(path, data string) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".uri-*")
	if err != nil {
		return err
	}
	if _, err := tmp.WriteString(data); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return err
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	return os.Rename(tmp.Name(), path)
}
