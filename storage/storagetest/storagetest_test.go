package storagetest_test

import (
	"bytes"
	"os"
	"os/exec"
	"strings"
	"testing"

	"go.uber.org/goleak"

	"github.com/chatboxsdk/chatbox/storage"
	"github.com/chatboxsdk/chatbox/storage/storagetest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// mutantEnv names the mutant a child test process runs the suite against.
const mutantEnv = "STORAGETEST_MUTANT"

// TestSuiteCatchesBrokenStores runs the suite, in a child process each,
// against stores that break one rule of the contract, and checks that the
// subtest written for that rule fails them. The correct store must pass the
// whole suite, which shows the child harness itself works.
func TestSuiteCatchesBrokenStores(t *testing.T) {
	for name, mu := range mutants() {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			// A defective store runs only the subtest that must catch it.
			run := "^TestMutantChild$"
			for part := range strings.SplitSeq(mu.catchBy, "/") {
				if part != "" {
					run += "/^" + part + "$"
				}
			}
			cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run="+run, "-test.count=1")
			cmd.Env = append(os.Environ(), mutantEnv+"="+name)
			var out bytes.Buffer
			cmd.Stdout, cmd.Stderr = &out, &out
			err := cmd.Run()
			if mu.catchBy == "" {
				if err != nil {
					t.Fatalf("suite failed a correct store: %v\n%s", err, out.String())
				}
				return
			}
			if err == nil {
				t.Fatalf("suite passed a store whose defect is %s", name)
			}
			if want := "--- FAIL: TestMutantChild/" + mu.catchBy + " "; !strings.Contains(out.String(), want) {
				t.Errorf("suite did not fail %s in %s:\n%s", name, mu.catchBy, out.String())
			}
		})
	}
}

// TestMutantChild is the child process of TestSuiteCatchesBrokenStores.
func TestMutantChild(t *testing.T) {
	name := os.Getenv(mutantEnv)
	if name == "" {
		t.Skip("runs only as a child of TestSuiteCatchesBrokenStores")
	}
	mu, ok := mutants()[name]
	if !ok {
		t.Fatalf("unknown mutant %q", name)
	}
	storagetest.Run(t, func(*testing.T) storage.Store { return mu.new() })
}
