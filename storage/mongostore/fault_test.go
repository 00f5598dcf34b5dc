package mongostore_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/chatboxsdk/chatbox/storage"
	"github.com/chatboxsdk/chatbox/storage/mongostore"
)

// binEnv names the variable holding the path of the FerretDB test binary,
// which the fault test starts and stops itself.
const binEnv = "CHATBOX_TEST_FERRETDB_BIN"

// server is a FerretDB process the test owns.
type server struct {
	bin, addr, dir string
	cmd            *exec.Cmd
}

func requireBin(t *testing.T) string {
	t.Helper()
	bin := os.Getenv(binEnv)
	if bin == "" {
		msg := binEnv + " is not set: run the tests through scripts/ferretdb.sh (see the Makefile's test target)"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return bin
}

// start runs the server and returns once it accepts connections: the
// binary prints its URI on standard output when it listens.
func (s *server) start(t *testing.T) string {
	t.Helper()
	logf, err := os.OpenFile(filepath.Join(s.dir, "log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer logf.Close()
	cmd := exec.Command(s.bin, "-listen", s.addr, "-dir", filepath.Join(s.dir, "data"))
	cmd.Stderr = logf
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s.cmd = cmd
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		s.stop(t)
		log, _ := os.ReadFile(filepath.Join(s.dir, "log"))
		t.Fatalf("ferretdb did not start: %v\n%s", err, log)
	}
	return strings.TrimSpace(line)
}

// stop kills the server without warning, as a crash or a lost host would.
func (s *server) stop(t *testing.T) {
	t.Helper()
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Kill()
	_ = s.cmd.Wait()
	s.cmd = nil
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

type appendResult struct {
	id      string
	err     error
	elapsed time.Duration
}

func TestServerStoppedMidStreamLosesAndDuplicatesNothing(t *testing.T) {
	srv := &server{bin: requireBin(t), addr: freeAddr(t), dir: t.TempDir()}
	uri := srv.start(t)
	t.Cleanup(func() { srv.stop(t) })

	client, err := mongo.Connect(options.Client().ApplyURI(uri).SetHeartbeatInterval(500 * time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = client.Disconnect(context.Background()) })
	const (
		opTimeout = 300 * time.Millisecond
		attempts  = 3
	)
	st, err := mongostore.New(t.Context(), client,
		mongostore.WithOperationTimeout(opTimeout), mongostore.WithMaxAttempts(attempts),
		mongostore.WithRetryInterval(10*time.Millisecond, 100*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	// The whole retry budget: every attempt's timeout plus every backoff.
	budget := attempts*opTimeout + (attempts-1)*100*time.Millisecond
	start := time.Date(2031, 1, 1, 0, 0, 0, 0, time.UTC)
	if err := st.CreateConversation(t.Context(), storage.Conversation{ID: "c1", UserID: "alice", CreatedAt: start}); err != nil {
		t.Fatal(err)
	}

	// The writer appends a stream of new messages, one after another, and
	// reports every outcome; the test stops the server while it runs.
	results := make(chan appendResult)
	stopWriter := make(chan struct{})
	writerDone := make(chan struct{})
	go func() {
		defer close(writerDone)
		for i := 0; ; i++ {
			select {
			case <-stopWriter:
				return
			default:
			}
			m := storage.Message{ID: fmt.Sprintf("m-%05d", i), ConversationID: "c1", Role: storage.RoleUser,
				Text: "hello", Status: storage.MessageComplete, CreatedAt: start.Add(time.Duration(i) * time.Millisecond)}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			began := time.Now()
			_, _, err := st.AppendMessage(ctx, m)
			cancel()
			// Every outcome is reported: the test drains until the writer ends.
			results <- appendResult{m.ID, err, time.Since(began)}
		}
	}()

	var ok, failed []appendResult
	record := func(r appendResult) {
		if r.err == nil {
			ok = append(ok, r)
		} else {
			failed = append(failed, r)
		}
	}
	collect := func(until func() bool) {
		for !until() {
			record(<-results)
		}
	}
	collect(func() bool { return len(ok) >= 40 })
	srv.stop(t)
	okBefore := len(ok)
	collect(func() bool { return len(failed) >= 5 })

	// Outage: a call whose context ends first returns with it.
	ctx, cancel := context.WithTimeout(t.Context(), 150*time.Millisecond)
	began := time.Now()
	_, _, err = st.AppendMessage(ctx, storage.Message{ID: "deadline", ConversationID: "c1", Role: storage.RoleUser, CreatedAt: start})
	cancel()
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("append during the outage with a 150ms context: %v, want context.DeadlineExceeded", err)
	}
	if d := time.Since(began); d > 150*time.Millisecond+200*time.Millisecond {
		t.Errorf("append with a 150ms context returned after %v", d)
	}

	srv.start(t)
	collect(func() bool { return len(ok) >= okBefore+40 })
	close(stopWriter)
	for done := false; !done; {
		select {
		case r := <-results:
			record(r)
		case <-writerDone:
			done = true
		}
	}

	for _, r := range failed {
		if !errors.Is(r.err, storage.ErrUnavailable) {
			t.Errorf("append %s during the outage: %v, want storage.ErrUnavailable", r.id, r.err)
		}
		if r.elapsed > budget+500*time.Millisecond {
			t.Errorf("append %s failed after %v, past its retry budget of %v", r.id, r.elapsed, budget)
		}
	}
	t.Logf("%d appends succeeded, %d failed during the outage (budget %v)", len(ok), len(failed), budget)

	// The caller retries what failed, with the same ids: each lands once.
	for _, r := range failed {
		var i int
		fmt.Sscanf(r.id, "m-%05d", &i)
		m := storage.Message{ID: r.id, ConversationID: "c1", Role: storage.RoleUser, Text: "hello",
			Status: storage.MessageComplete, CreatedAt: start.Add(time.Duration(i) * time.Millisecond)}
		if _, _, err := st.AppendMessage(t.Context(), m); err != nil {
			t.Errorf("retrying %s after the restart: %v", r.id, err)
		}
	}

	seen := make(map[string]int)
	q := storage.MessageQuery{ConversationID: "c1", Limit: storage.MaxPageSize}
	for {
		page, err := st.ListMessages(t.Context(), q)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range page.Messages {
			seen[m.ID]++
		}
		if page.NextCursor == "" {
			break
		}
		q.Cursor = page.NextCursor
	}
	for id, n := range seen {
		if n != 1 {
			t.Errorf("message %s stored %d times", id, n)
		}
	}
	for _, r := range append(ok, failed...) {
		if seen[r.id] != 1 {
			t.Errorf("message %s (reported %v) is stored %d times, want once", r.id, r.err, seen[r.id])
		}
	}
	if want := len(ok) + len(failed); len(seen) != want {
		t.Errorf("%d messages stored, want %d", len(seen), want)
	}
}
