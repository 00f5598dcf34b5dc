package pgstore_test

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"testing"
)

// Variables the test script sets for tests that run a server of their own.
const (
	binEnv   = "CHATBOX_TEST_POSTGRES_BIN"   // folder of initdb and pg_ctl
	runasEnv = "CHATBOX_TEST_POSTGRES_RUNAS" // user the server runs as; empty: the current one
)

// cluster is a PostgreSQL cluster a test owns: its own data folder and
// port, so stopping it disturbs no other test.
type cluster struct {
	bin, runas, dir string
	port            int
}

// newCluster initialises a cluster, removed when t ends. Without the
// server's programs the test fails under CI and is skipped elsewhere.
func newCluster(t *testing.T) *cluster {
	t.Helper()
	bin := os.Getenv(binEnv)
	if bin == "" {
		msg := binEnv + " is not set: run the tests through scripts/postgres.sh (see the Makefile's test target)"
		if os.Getenv("CI") != "" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	// Not t.TempDir: its folders are private to the test's user, and the
	// server may run as another.
	dir, err := os.MkdirTemp("", "chatbox-pgstore-cluster-")
	if err != nil {
		t.Fatal(err)
	}
	c := &cluster{bin: bin, runas: os.Getenv(runasEnv), dir: dir}
	t.Cleanup(func() {
		_ = c.ctl("stop", "-m", "immediate")
		_ = os.RemoveAll(dir)
	})
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(c.data(), 0o700); err != nil {
		t.Fatal(err)
	}
	if c.runas != "" {
		u, err := user.Lookup(c.runas)
		if err != nil {
			t.Fatal(err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chown(c.data(), uid, gid); err != nil {
			t.Fatal(err)
		}
	}
	if out, err := c.command("initdb", "-D", c.data(), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--locale=C").CombinedOutput(); err != nil {
		t.Fatalf("initdb: %v\n%s", err, out)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	c.port = l.Addr().(*net.TCPAddr).Port
	l.Close()
	return c
}

func (c *cluster) data() string { return filepath.Join(c.dir, "data") }

// url is the cluster's connection URL, with connection attempts bounded.
func (c *cluster) url() string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable&connect_timeout=2", c.port)
}

func (c *cluster) command(program string, args ...string) *exec.Cmd {
	path := filepath.Join(c.bin, program)
	if c.runas == "" {
		return exec.Command(path, args...)
	}
	return exec.Command("runuser", append([]string{"-u", c.runas, "--", path}, args...)...)
}

func (c *cluster) ctl(args ...string) error {
	out, err := c.command("pg_ctl", append([]string{"-D", c.data()}, args...)...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("pg_ctl %v: %w\n%s", args, err, out)
	}
	return nil
}

// start starts the server and returns once it accepts connections.
// Commits stay synchronous: an acknowledged write must survive a stop.
func (c *cluster) start(t *testing.T) {
	t.Helper()
	opts := fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1 -c fsync=off", c.port, c.data())
	if err := c.ctl("-l", filepath.Join(c.data(), "log"), "-w", "-t", "60", "-o", opts, "start"); err != nil {
		log, _ := os.ReadFile(filepath.Join(c.data(), "log"))
		t.Fatalf("%v\n%s", err, log)
	}
}

// stop stops the server: "fast" closes every connection and shuts down
// cleanly, "immediate" kills the server as a crash would.
func (c *cluster) stop(t *testing.T, mode string) {
	t.Helper()
	if err := c.ctl("stop", "-w", "-m", mode); err != nil {
		t.Fatal(err)
	}
}
