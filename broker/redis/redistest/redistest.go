// Package redistest gives tests a Redis: the shared one the test run started
// (scripts/redis.sh exports its address) or a private redis-server a test
// may restart without disturbing other packages.
//
// Environment: CHATBOX_TEST_REDIS_ADDR is the shared server's address;
// CHATBOX_TEST_REDIS_SERVER the redis-server binary for private servers
// (default: redis-server from PATH). When CI is set, a missing server fails
// the test; otherwise the test is skipped.
package redistest

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

// startTimeout bounds how long a private server may take to answer PING.
const startTimeout = 10 * time.Second

// unavailable fails the test in CI and skips it elsewhere.
func unavailable(t testing.TB, why string) {
	t.Helper()
	if os.Getenv("CI") != "" {
		t.Fatalf("Redis needed and CI is set: %s (run the tests through scripts/redis.sh)", why)
	}
	t.Skipf("Redis not available: %s (run the tests through scripts/redis.sh)", why)
}

// Addr returns the shared test server's address.
func Addr(t testing.TB) string {
	t.Helper()
	addr := os.Getenv("CHATBOX_TEST_REDIS_ADDR")
	if addr == "" {
		unavailable(t, "CHATBOX_TEST_REDIS_ADDR is not set")
	}
	return addr
}

// Server is a private redis-server without persistence.
type Server struct {
	Addr string
	bin  string
	port int
	dir  string
	cmd  *exec.Cmd
}

// Start starts a private server on a free port; it is stopped when the test
// ends.
func Start(t testing.TB) *Server {
	t.Helper()
	bin := os.Getenv("CHATBOX_TEST_REDIS_SERVER")
	if bin == "" {
		var err error
		if bin, err = exec.LookPath("redis-server"); err != nil {
			unavailable(t, "no redis-server binary")
		}
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("free port: %v", err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	_ = l.Close()
	s := &Server{Addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), bin: bin, port: port, dir: t.TempDir()}
	t.Cleanup(s.stop)
	s.start(t)
	return s
}

func (s *Server) start(t testing.TB) {
	t.Helper()
	s.cmd = exec.Command(s.bin, "--port", strconv.Itoa(s.port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--dir", s.dir, "--logfile", "")
	if err := s.cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", s.bin, err)
	}
	deadline := time.Now().Add(startTimeout)
	for !ping(s.Addr) {
		if time.Now().After(deadline) {
			t.Fatalf("redis-server on %s did not answer within %v", s.Addr, startTimeout)
		}
		time.Sleep(10 * time.Millisecond) // a starting server has nothing to wait on
	}
}

// Stop kills the server; Restart starts it again.
func (s *Server) Stop() { s.stop() }

func (s *Server) stop() {
	if s.cmd != nil && s.cmd.Process != nil {
		_ = s.cmd.Process.Kill()
		_ = s.cmd.Wait()
	}
	s.cmd = nil
}

// Restart kills the server and starts it again on the same port: everything
// it held is lost, as in a restart without persistence.
func (s *Server) Restart(t testing.TB) {
	t.Helper()
	s.stop()
	s.start(t)
}

// ping reports whether a Redis answers PING at addr.
func ping(addr string) bool {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return false
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(time.Second))
	if _, err := c.Write([]byte("PING\r\n")); err != nil {
		return false
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	return err == nil && strings.HasPrefix(line, "+PONG")
}

// KillClients closes the connections named name (CLIENT SETNAME) on the
// server at addr and returns how many it closed.
func KillClients(t testing.TB, addr, name string) int {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	r := bufio.NewReader(c)
	list := command(t, c, r, "CLIENT", "LIST")
	killed := 0
	for line := range strings.SplitSeq(list, "\n") {
		var id string
		named := false
		for field := range strings.FieldsSeq(line) {
			k, v, _ := strings.Cut(field, "=")
			switch {
			case k == "id":
				id = v
			case k == "name" && v == name:
				named = true
			}
		}
		if named && id != "" {
			command(t, c, r, "CLIENT", "KILL", "ID", id)
			killed++
		}
	}
	return killed
}

// command sends one command and returns its reply as text (bulk strings,
// simple strings and integers; an error reply fails the test).
func command(t testing.TB, c net.Conn, r *bufio.Reader, args ...string) string {
	t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "*%d\r\n", len(args))
	for _, a := range args {
		fmt.Fprintf(&b, "$%d\r\n%s\r\n", len(a), a)
	}
	if _, err := c.Write([]byte(b.String())); err != nil {
		t.Fatalf("redis %v: %v", args, err)
	}
	line, err := r.ReadString('\n')
	if err != nil {
		t.Fatalf("redis %v: %v", args, err)
	}
	line = strings.TrimRight(line, "\r\n")
	switch {
	case strings.HasPrefix(line, "$"):
		n, _ := strconv.Atoi(line[1:])
		if n < 0 {
			return ""
		}
		buf := make([]byte, n+2)
		if _, err := io.ReadFull(r, buf); err != nil {
			t.Fatalf("redis %v: %v", args, err)
		}
		return string(buf[:n])
	case strings.HasPrefix(line, "-"):
		t.Fatalf("redis %v: %s", args, line[1:])
	}
	return line[1:]
}

// DBSize returns the number of keys of the server at addr.
func DBSize(t testing.TB, addr string) int {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	n, err := strconv.Atoi(command(t, c, bufio.NewReader(c), "DBSIZE"))
	if err != nil {
		t.Fatalf("DBSIZE: %v", err)
	}
	return n
}

// Channels returns the number of pub/sub channels subscribed on the server
// at addr.
func Channels(t testing.TB, addr string) int {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	r := bufio.NewReader(c)
	fmt.Fprintf(c, "*2\r\n$6\r\nPUBSUB\r\n$8\r\nCHANNELS\r\n")
	line, err := r.ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "*") {
		t.Fatalf("PUBSUB CHANNELS: %q, %v", line, err)
	}
	count, _ := strconv.Atoi(strings.TrimSpace(line[1:]))
	for range 2 * count {
		if _, err := r.ReadString('\n'); err != nil {
			t.Fatalf("PUBSUB CHANNELS: %v", err)
		}
	}
	return count
}
