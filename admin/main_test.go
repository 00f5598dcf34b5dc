package admin_test

import (
	"testing"

	"go.uber.org/goleak"
)

// The Handler starts no goroutines; the check proves it, and that the
// tests' own servers are closed.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
