package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

// target is a server under load as the driver sees it.
type target struct {
	name string
	url  string // ws:// endpoint
	// Where its figures come from: a stats endpoint (local targets), a pid
	// watched through /proc (a remote server on this machine), or nothing.
	statsBase string
	pid       int
	// inproc: the server shares this process, so its CPU and memory figures
	// include the load client's.
	inproc bool
	close  func() error
}

// stats reads the target's figures; ok is false when it has none.
func (t *target) stats(ctx context.Context) (procStats, bool) { return t.statsGC(ctx, false) }

// statsGC reads the target's figures, after a garbage collection when gc is
// set and the target is local.
func (t *target) statsGC(ctx context.Context, gc bool) (procStats, bool) {
	switch {
	case t.statsBase != "":
		ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		q := ""
		if gc {
			q = "?gc=1"
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, t.statsBase+"/debug/load/stats"+q, nil)
		if err != nil {
			return procStats{}, false
		}
		req.Close = true // no idle connection outlives the run
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return procStats{}, false
		}
		defer resp.Body.Close()
		var st procStats
		if json.NewDecoder(resp.Body).Decode(&st) != nil {
			return procStats{}, false
		}
		return st, true
	case t.pid > 0:
		st, err := pidStats(t.pid)
		return st, err == nil
	}
	return procStats{}, false
}

// profile fetches a CPU profile of d from the target's pprof endpoint into
// path. It runs while the load does.
func (t *target) profile(ctx context.Context, d time.Duration, path string) error {
	if t.statsBase == "" {
		return errors.New("the target has no pprof endpoint (use -server spawn)")
	}
	secs := max(int(d.Round(time.Second)/time.Second), 1)
	ctx, cancel := context.WithTimeout(ctx, d+30*time.Second)
	defer cancel()
	return t.fetch(ctx, "/debug/pprof/profile?seconds="+strconv.Itoa(secs), path)
}

// fetch saves what the target's debug endpoint at path serves into file.
func (t *target) fetch(ctx context.Context, path, file string) error {
	if t.statsBase == "" {
		return errors.New("the target has no debug endpoint (use -server spawn)")
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, t.statsBase+path, nil)
	if err != nil {
		return err
	}
	req.Close = true
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: HTTP %d", path, resp.StatusCode)
	}
	f, err := os.Create(file)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// startInproc serves kind in this process.
func startInproc(kind string, shape replyShape, users int) (*target, error) {
	s, err := startLocal(kind, "127.0.0.1:0", shape, users)
	if err != nil {
		return nil, err
	}
	return &target{name: kind, url: s.url, statsBase: s.base, inproc: true, close: s.close}, nil
}

// spawn serves kind in a child process of this program (-serve), so its CPU
// time and memory are its own.
func spawn(kind string, shape replyShape, users int) (*target, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(exe, "-serve", kind, "-addr", "127.0.0.1:0",
		"-deltas", strconv.Itoa(shape.Deltas), "-interval", shape.Interval.String(), "-users", strconv.Itoa(users),
		"-redis", shape.Redis)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	waited := make(chan error, 1)
	stop := func() error {
		_ = stdin.Close() // the child shuts down at EOF
		select {
		case err := <-waited:
			return err
		case <-time.After(15 * time.Second):
			_ = cmd.Process.Kill()
			return errors.Join(errors.New("child did not stop in time; killed"), <-waited)
		}
	}
	lines := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		if sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
		_, _ = io.Copy(io.Discard, stdout)
		waited <- cmd.Wait()
	}()
	select {
	case line, ok := <-lines:
		url, found := strings.CutPrefix(line, "listening ")
		if !ok || !found {
			return nil, errors.Join(fmt.Errorf("child %s did not start (said %q)", kind, line), stop())
		}
		base := "http://" + strings.TrimSuffix(strings.TrimPrefix(url, "ws://"), "/ws")
		return &target{name: kind, url: url, statsBase: base, pid: cmd.Process.Pid, close: stop}, nil
	case <-time.After(30 * time.Second):
		return nil, errors.Join(fmt.Errorf("child %s did not start in 30s", kind), stop())
	}
}
