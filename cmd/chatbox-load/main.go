// Command chatbox-load puts a chatbox server under load and reports its
// figures next to two floors measured in the same run: a bare
// coder/websocket server pushing the same frames one WebSocket message per
// delta (floor-single), and the same server sending every queued frame in one
// message joined by '\n' (floor-batched).
//
// Workloads (-mode):
//
//	idle    N authenticated sockets held open; reports memory per socket
//	chat    each socket opens a conversation, sends a message, reads the
//	        whole streamed reply, repeats (-turns messages per conversation)
//	paced   chat, with the provider emitting a delta every -interval
//	        (default 20ms, a model at 50 tokens/s)
//	resume  paced chat where every reply is interrupted: the client drops
//	        its socket after a random number of deltas, dials again and
//	        resumes from the last event it handled
//
// Local targets run as child processes of this program (-server spawn, the
// default), so their CPU time and memory are theirs alone; -server inproc
// serves them in this process instead (figures then include the client).
// -url measures a chatbox server elsewhere; -pid lets it be watched through
// /proc when it runs on this machine.
//
// Per-delta latency: the server's scripted provider writes the time it
// emitted each delta (Unix nanoseconds) into the delta's text; the client
// subtracts it from the time it received the delta. Both read the same
// machine clock. The floors stamp their deltas the same way.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"
)

func main() {
	if err := run(os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return
		}
		fmt.Fprintln(os.Stderr, "chatbox-load:", err)
		os.Exit(1)
	}
}

// options are the parsed flags.
type options struct {
	mode, targets, server, url, token, cpuProfile, heapProfile string
	serve, addr, redis                                         string
	conns, deltas, turns, dialConc, pid, users                 int
	duration, warmup, settle, interval, timeout                time.Duration
	jsonOut                                                    bool
}

func parseFlags(args []string, stderr io.Writer) (*options, error) {
	o := &options{}
	fs := flag.NewFlagSet("chatbox-load", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.mode, "mode", modeChat, "workload: idle, chat, paced or resume")
	fs.IntVar(&o.conns, "conns", 100, "sockets (one user and one conversation at a time each); 1 to 50000")
	fs.DurationVar(&o.duration, "duration", 10*time.Second, "measured window of chat, paced and resume runs; at most 10m")
	fs.DurationVar(&o.warmup, "warmup", 2*time.Second, "load before the window opens")
	fs.DurationVar(&o.settle, "settle", 3*time.Second, "idle: wait after the last socket connected before reading memory")
	fs.IntVar(&o.deltas, "deltas", 50, "deltas per reply (24 bytes of text each); 1 to 10000")
	fs.DurationVar(&o.interval, "interval", -1, "wait before each delta; default 20ms for paced and resume, 0 for chat")
	fs.IntVar(&o.turns, "turns", 10, "messages per conversation before the client opens a new one")
	fs.StringVar(&o.targets, "targets", "floor-single,floor-batched,chatbox", "comma-separated targets, measured in this order: chatbox, floor-single, floor-batched")
	fs.StringVar(&o.server, "server", "spawn", "how local targets run: spawn (child process; figures are the server's alone) or inproc (this process; figures include the client)")
	fs.StringVar(&o.url, "url", "", "ws:// or wss:// URL of a remote chatbox /ws endpoint to measure as the chatbox target; the remote server must use the same reply shape for the floors to compare")
	fs.StringVar(&o.token, "token", "load-%d", "token for each socket; %d is replaced by the socket's index (local chatbox targets accept load-0 .. load-<conns-1>)")
	fs.IntVar(&o.pid, "pid", 0, "with -url: process id of the remote server when it runs on this machine, to read its RSS and CPU time from /proc")
	fs.IntVar(&o.dialConc, "dial-concurrency", 64, "sockets being opened at once")
	fs.StringVar(&o.cpuProfile, "cpuprofile", "", "write a CPU profile of the chatbox target over the measured window to this file (local targets only); read it with go tool pprof -top")
	fs.StringVar(&o.heapProfile, "heapprofile", "", "idle: write a heap profile of the chatbox target, taken once the sockets settled, to this file (local targets only)")
	fs.BoolVar(&o.jsonOut, "json", false, "print the results as JSON instead of tables")
	fs.DurationVar(&o.timeout, "timeout", 0, "hard bound on the whole invocation; default: enough for the configured phases plus 2 minutes per target")
	fs.StringVar(&o.serve, "serve", "", "internal: serve one target (chatbox, floor-single or floor-batched) on -addr, print \"listening <ws url>\" and stop when stdin closes")
	fs.StringVar(&o.addr, "addr", "127.0.0.1:0", "with -serve: the loopback address to listen on")
	fs.StringVar(&o.redis, "redis", "", "host:port of a Redis the chatbox target uses as its broker (broker/redis); default: the in-memory broker")
	fs.IntVar(&o.users, "users", 100, "with -serve: how many load tokens the chatbox target accepts")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: chatbox-load [flags]\n\n"+
			"Puts a chatbox server under load next to two bare coder/websocket floors measured in the\n"+
			"same run (floor-single: one message per delta; floor-batched: queued frames in one message)\n"+
			"and reports sockets held, messages/s, deltas/s, time to first delta, per-delta latency\n"+
			"p50/p99/p999, errors by code, and the server's RSS, heap, goroutines and CPU time per delta.\n\n"+
			"Example: chatbox-load -mode paced -conns 1000 -duration 10s\n\nFlags:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if o.interval < 0 {
		o.interval = 0
		if o.mode == modePaced || o.mode == modeResume {
			o.interval = 20 * time.Millisecond
		}
	}
	var errs []error
	switch o.mode {
	case modeIdle, modeChat, modePaced, modeResume:
	default:
		errs = append(errs, fmt.Errorf("-mode: unknown workload %q", o.mode))
	}
	if o.conns < 1 || o.conns > 50000 {
		errs = append(errs, fmt.Errorf("-conns: must be 1 to 50000, got %d", o.conns))
	}
	if o.deltas < 1 || o.deltas > 10000 {
		errs = append(errs, fmt.Errorf("-deltas: must be 1 to 10000, got %d", o.deltas))
	}
	if o.duration <= 0 || o.duration > 10*time.Minute || o.warmup < 0 || o.warmup > 10*time.Minute || o.settle < 0 || o.settle > 10*time.Minute {
		errs = append(errs, errors.New("-duration must be in (0, 10m]; -warmup and -settle in [0, 10m]"))
	}
	if o.interval > time.Minute || o.turns < 1 || o.dialConc < 1 {
		errs = append(errs, errors.New("-interval must be at most 1m; -turns and -dial-concurrency at least 1"))
	}
	if o.server != "spawn" && o.server != "inproc" {
		errs = append(errs, fmt.Errorf("-server: spawn or inproc, got %q", o.server))
	}
	if o.serve == "" && (o.users < 1 || o.users > 1_000_000) {
		errs = append(errs, fmt.Errorf("-users: must be 1 to 1000000, got %d", o.users))
	}
	return o, errors.Join(errs...)
}

func run(args []string, stdout, stderr io.Writer) error {
	o, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	shape := replyShape{Deltas: o.deltas, Interval: o.interval, Redis: o.redis}
	if o.serve != "" {
		return serveChild(o.serve, o.addr, shape, o.users)
	}
	raiseFileLimit()
	kinds := strings.Split(o.targets, ",")
	timeout := o.timeout
	if timeout <= 0 {
		timeout = time.Duration(len(kinds)) * (o.warmup + o.duration + o.settle + 2*time.Minute)
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()

	var results []*result
	for _, kind := range kinds {
		kind = strings.TrimSpace(kind)
		res, err := measureKind(ctx, kind, o, shape)
		if err != nil {
			return fmt.Errorf("%s: %w", kind, err)
		}
		results = append(results, res)
		if !o.jsonOut {
			fmt.Fprintf(stderr, "measured %s\n", kind)
		}
	}
	if o.jsonOut {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(results)
	}
	printReport(stdout, o, results)
	return nil
}

// measureKind starts one target, measures it and stops it.
func measureKind(ctx context.Context, kind string, o *options, shape replyShape) (*result, error) {
	var (
		t   *target
		err error
	)
	switch {
	case kind == kindChatbox && o.url != "":
		t = &target{name: kind, url: o.url, pid: o.pid, close: func() error { return nil }}
	case kind != kindChatbox && kind != kindFloorSingle && kind != kindFloorBatched:
		return nil, fmt.Errorf("unknown target (want chatbox, floor-single or floor-batched)")
	case o.server == "inproc":
		t, err = startInproc(kind, shape, o.conns)
	default:
		t, err = spawn(kind, shape, o.conns)
	}
	if err != nil {
		return nil, err
	}
	token := o.token
	cfg := runConfig{
		load: loadConfig{
			mode: o.mode, conns: o.conns, turns: o.turns, deltas: o.deltas, dialConc: o.dialConc,
			token: func(i int) string {
				if strings.Contains(token, "%d") {
					return fmt.Sprintf(token, i)
				}
				return token
			},
			checkSeq: kind == kindChatbox,
		},
		warmup: o.warmup, duration: o.duration, settle: o.settle,
	}
	if kind == kindChatbox && o.url == "" {
		cfg.cpuProfile, cfg.heapProfile = o.cpuProfile, o.heapProfile
	}
	res, err := measure(ctx, t, cfg)
	return res, errors.Join(err, t.close())
}
