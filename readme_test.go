package chatbox_test

import (
	"bytes"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/chatboxsdk/chatbox/client"
	"github.com/chatboxsdk/chatbox/protocol"
)

// readmeProgram returns the first Go block of README.md's Embedding section.
func readmeProgram(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	i := strings.Index(s, "\n## Embedding\n")
	if i < 0 {
		t.Fatal("README.md has no Embedding section")
	}
	s = s[i:]
	if j := strings.Index(s[1:], "\n## "); j >= 0 {
		s = s[:j+1]
	}
	const open, end = "```go\n", "\n```\n"
	i = strings.Index(s, open)
	if i < 0 {
		t.Fatal("the Embedding section has no Go block")
	}
	s = s[i+len(open):]
	j := strings.Index(s, end)
	if j < 0 {
		t.Fatal("the Embedding section's Go block is not closed")
	}
	return s[:j+1]
}

// outputWatch collects a process's output and reports the first line
// matching a pattern.
type outputWatch struct {
	mu    sync.Mutex
	buf   bytes.Buffer
	re    *regexp.Regexp
	found chan string
	once  sync.Once
}

func (w *outputWatch) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	if m := w.re.FindStringSubmatch(w.buf.String()); m != nil {
		w.once.Do(func() { w.found <- m[1] })
	}
	return len(p), nil
}

func (w *outputWatch) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

// TestReadmeProgramServesChatsAndStopsOnInterrupt builds the README's
// embedding program as a module of its own, runs it, loads the chat page,
// chats over the socket, and interrupts it: it must exit 0, promptly,
// closing the socket as going away.
func TestReadmeProgramServesChatsAndStopsOnInterrupt(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs a program")
	}
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command in PATH")
	}
	repo, err := filepath.Abs(".")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	sum, err := os.ReadFile("go.sum")
	if err != nil {
		t.Fatal(err)
	}
	gomod := "module readmeprogram\n\ngo 1.26.0\n\nrequire github.com/chatboxsdk/chatbox v0.0.0\n\nreplace github.com/chatboxsdk/chatbox => " + repo + "\n"
	for name, data := range map[string][]byte{"main.go": []byte(readmeProgram(t)), "go.mod": []byte(gomod), "go.sum": sum} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	bin := filepath.Join(dir, "chat")
	build := exec.Command(goTool, "build", "-mod=mod", "-o", bin, ".")
	build.Dir = dir
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build of the README program: %v\n%s", err, out)
	}

	out := &outputWatch{re: regexp.MustCompile(`chat page on (http://\S+)/chat/`), found: make(chan string, 1)}
	cmd := exec.Command(bin, "-addr", "127.0.0.1:0")
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill() // no-op once it has exited
		<-exited
	})
	ctx := testCtx(t)
	var base string
	select {
	case base = <-out.found:
	case err := <-exited:
		exited <- err
		t.Fatalf("the program exited before serving: %v\n%s", err, out)
	case <-ctx.Done():
		t.Fatalf("the program did not say where it listens\n%s", out)
	}

	// The chat page at /chat/.
	resp, err := http.Get(base + "/chat/")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") || !bytes.Contains(body, []byte("chat.js")) {
		t.Fatalf("GET /chat/: %d %s; want the chat page\n%.300s", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
	resp, err = http.Get(base + "/chat/health/ready")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /chat/health/ready: %d, want 200", resp.StatusCode)
	}

	// A socket chats with the demo model.
	c, err := client.Dial(ctx, "ws"+strings.TrimPrefix(base, "http")+"/chat/ws", client.Options{Token: "secret-token"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	conv := openNew(t, c)
	if _, err := c.Send(ctx, conv, client.NewMessageID(), "hello from the test"); err != nil {
		t.Fatal(err)
	}
	reply, _, err := c.ReadReply(ctx, conv, nil)
	if err != nil || reply.FinishReason != "stop" || !strings.Contains(reply.Text, "hello from the test") {
		t.Fatalf("reply %q (%s), %v; want the demo model quoting the message, finished with stop", reply.Text, reply.FinishReason, err)
	}

	// SIGINT: exit status 0, promptly, the socket closed as going away.
	start := time.Now()
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-exited:
		exited <- err // for the cleanup
		if err != nil {
			t.Fatalf("after SIGINT the program exited with %v, want status 0\n%s", err, out)
		}
	case <-time.After(5 * time.Second):
		t.Fatalf("the program was still running 5s after SIGINT\n%s", out)
	}
	t.Logf("exited %v after SIGINT", time.Since(start).Round(time.Millisecond))
	for {
		_, err := c.Next(ctx)
		if err == nil {
			continue
		}
		if code := client.CloseCode(err); code != protocol.CloseGoingAway {
			t.Fatalf("the socket ended with %v (close code %d), want %d", err, code, protocol.CloseGoingAway)
		}
		break
	}
}
