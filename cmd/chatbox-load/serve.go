package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"os/signal"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/chatboxsdk/chatbox"
	"github.com/chatboxsdk/chatbox/auth"
	redisbroker "github.com/chatboxsdk/chatbox/broker/redis"
	"github.com/chatboxsdk/chatbox/ratelimit"
)

// Target kinds: the library, and the two floors.
const (
	kindChatbox      = "chatbox"
	kindFloorSingle  = "floor-single"
	kindFloorBatched = "floor-batched"
)

// tokenFor is the static token of load user i; every local chatbox server
// accepts tokens 0..users-1.
func tokenFor(i int) string { return "load-" + strconv.Itoa(i) }

// localServer is a target served by this process on a loopback port.
type localServer struct {
	url     string // ws:// URL of the socket endpoint
	base    string // http:// base URL (stats, pprof)
	httpSrv *http.Server
	served  chan struct{}
	stop    func(ctx context.Context) error // stops the handler's own work
}

// startLocal serves a target of the given kind on addr (a loopback address;
// port 0 picks a free one).
func startLocal(kind, addr string, shape replyShape, users int) (*localServer, error) {
	var (
		handler http.Handler
		stop    func(ctx context.Context) error
	)
	switch kind {
	case kindChatbox:
		tokens := make(map[string]auth.Identity, users)
		for i := range users {
			tokens[tokenFor(i)] = auth.Identity{UserID: "u" + strconv.Itoa(i), Name: "Load " + strconv.Itoa(i)}
		}
		authn, err := auth.NewStaticTokens(tokens)
		if err != nil {
			return nil, err
		}
		// The load is many messages per user per second and every socket
		// comes from 127.0.0.1: the rate limits are raised so the run
		// measures the path, not the limiter's refusals.
		unlimited := ratelimit.Limit{Rate: 1e9, Burst: 1 << 30}
		opts := []chatbox.Option{
			chatbox.WithLLM(newStampingProvider(shape)),
			chatbox.WithAuthenticator(authn),
			chatbox.WithMessageRate(unlimited),
			chatbox.WithConversationRate(unlimited),
			chatbox.WithReadRate(unlimited),
			chatbox.WithConnectionRate(unlimited),
			chatbox.WithMaxSocketsPerAddress(0), // every socket comes from this machine
		}
		var closeBroker func() error
		if shape.Redis != "" {
			b, err := redisbroker.New(redisbroker.Config{Addr: shape.Redis})
			if err != nil {
				return nil, fmt.Errorf("-redis: %w", err)
			}
			opts, closeBroker = append(opts, chatbox.WithBroker(b)), b.Close
		}
		srv, err := chatbox.New(opts...)
		if err != nil {
			return nil, err
		}
		handler, stop = srv, func(ctx context.Context) error {
			err := srv.Shutdown(ctx)
			if closeBroker != nil {
				err = errors.Join(err, closeBroker())
			}
			return err
		}
	case kindFloorSingle, kindFloorBatched:
		f := newFloorServer(shape, kind == kindFloorBatched)
		handler = f
		stop = func(context.Context) error { f.close(); return nil }
	default:
		return nil, fmt.Errorf("unknown server kind %q", kind)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		_ = stop(context.Background())
		return nil, err
	}
	mux := http.NewServeMux()
	mux.Handle("/ws", handler)
	mux.HandleFunc("/debug/load/stats", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("gc") == "1" {
			runtime.GC() // also shrinks goroutine stacks that use less than a quarter of their size
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(selfStats())
	})
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	s := &localServer{
		url:     "ws://" + ln.Addr().String() + "/ws",
		base:    "http://" + ln.Addr().String(),
		httpSrv: &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second},
		served:  make(chan struct{}),
		stop:    stop,
	}
	go func() {
		defer close(s.served)
		_ = s.httpSrv.Serve(ln)
	}()
	return s, nil
}

// close stops the target: its sockets first (chatbox closes them with
// 1001), then the listener.
func (s *localServer) close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := s.stop(ctx)
	if cerr := s.httpSrv.Close(); err == nil {
		err = cerr
	}
	<-s.served
	return err
}

// serveChild is the -serve mode: serve one target, print its URL on
// stdout, and stop when stdin reaches EOF (the driver exited or closed it)
// or on SIGINT/SIGTERM.
func serveChild(kind, addr string, shape replyShape, users int) error {
	raiseFileLimit()
	s, err := startLocal(kind, addr, shape, users)
	if err != nil {
		return err
	}
	fmt.Printf("listening %s\n", s.url)
	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer cancel()
	go func() {
		_, _ = io.Copy(io.Discard, os.Stdin)
		cancel()
	}()
	<-ctx.Done()
	return s.close()
}

// procStats describes a server process. Heap and goroutines are -1 when
// unknown (a remote process watched through /proc). StackInuse is the
// memory of goroutine stacks, which RSS holds and HeapInuse does not.
type procStats struct {
	RSSBytes   int64         `json:"rss_bytes"`
	HeapInuse  int64         `json:"heap_inuse_bytes"`
	StackInuse int64         `json:"stack_inuse_bytes"`
	Goroutines int           `json:"goroutines"`
	CPU        time.Duration `json:"cpu_ns"`
}

// selfStats reads this process's figures: RSS from /proc/self/status, CPU
// time (user + system) from getrusage, heap and goroutines from the runtime.
func selfStats() procStats {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	cpu := time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	rss, _ := readRSS("/proc/self/status")
	return procStats{RSSBytes: rss, HeapInuse: int64(ms.HeapInuse), StackInuse: int64(ms.StackInuse), Goroutines: runtime.NumGoroutine(), CPU: cpu}
}

// pidStats reads another process's RSS and CPU time from /proc.
func pidStats(pid int) (procStats, error) {
	rss, err := readRSS(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return procStats{}, err
	}
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return procStats{}, err
	}
	// Fields after the command name (which may hold spaces) start at ')'.
	i := strings.LastIndexByte(string(data), ')')
	if i < 0 {
		return procStats{}, errors.New("unexpected /proc stat format")
	}
	f := strings.Fields(string(data[i+1:]))
	if len(f) < 13 {
		return procStats{}, errors.New("unexpected /proc stat format")
	}
	ut, _ := strconv.ParseInt(f[11], 10, 64) // utime: field 14
	st, _ := strconv.ParseInt(f[12], 10, 64) // stime: field 15
	const clkTck = 100                       // USER_HZ on Linux
	return procStats{RSSBytes: rss, HeapInuse: -1, StackInuse: -1, Goroutines: -1, CPU: time.Duration(ut+st) * time.Second / clkTck}, nil
}

func readRSS(path string) (int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10, err
		}
	}
	return 0, errors.New("no VmRSS in " + path)
}

// raiseFileLimit lifts the open-files soft limit to the hard limit, so
// 10,000 sockets fit.
func raiseFileLimit() {
	var lim syscall.Rlimit
	if syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim) == nil && lim.Cur < lim.Max {
		lim.Cur = lim.Max
		_ = syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim)
	}
}
