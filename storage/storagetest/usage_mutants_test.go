package storagetest_test

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chatboxsdk/chatbox/storage"
	"github.com/chatboxsdk/chatbox/storage/memory"
	"github.com/chatboxsdk/chatbox/storage/storagetest"
)

// usageMutantEnv names the mutant a child test process runs the usage
// suite against.
const usageMutantEnv = "STORAGETEST_USAGE_MUTANT"

// A usageMutant is a UsageStore with one deliberate contract violation,
// and the subtest of the usage suite that must catch it.
type usageMutant struct {
	catchBy string
	new     func() storage.UsageStore
}

func usageMutants() map[string]usageMutant {
	return map[string]usageMutant{
		"Correct": {"", func() storage.UsageStore { return memory.New() }},
		"RetriedRecordCountsAgain": {"Record/SameIDCountsOnce",
			func() storage.UsageStore { return &recordTwice{Store: memory.New()} }},
		"DayOfAnotherZone": {"Record/DaysAreUTC",
			func() storage.UsageStore { return localDays{memory.New()} }},
		"BeforeIgnored": {"ListUsage/FiltersAndOrder",
			func() storage.UsageStore { return ignoreBefore{memory.New()} }},
		"CursorSkipsARow": {"ListUsage/PagingWithoutGapsOrRepeats",
			func() storage.UsageStore { return skipRow{memory.New()} }},
		"HeldReservationsIgnored": {"Reserve/GrantedWithinTheLimitRefusedBeyond",
			func() storage.UsageStore { return holdNothing{memory.New()} }},
		"ReservationsNeverExpire": {"Reserve/ExpiredReservationsDoNotCount",
			func() storage.UsageStore { return neverExpire{memory.New()} }},
		"CheckThenReserve": {"Concurrency/RacingReservationsGrantExactlyWhatFits",
			func() storage.UsageStore { return checkThenReserve{memory.New()} }},
	}
}

// TestUsageSuiteCatchesBrokenStores is TestSuiteCatchesBrokenStores for
// RunUsage.
func TestUsageSuiteCatchesBrokenStores(t *testing.T) {
	for name, mu := range usageMutants() {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			run := "^TestUsageMutantChild$"
			for part := range strings.SplitSeq(mu.catchBy, "/") {
				if part != "" {
					run += "/^" + part + "$"
				}
			}
			// The correct store runs everything but the large listing,
			// which the memory store's own tests run.
			cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run="+run, "-test.count=1",
				"-test.skip=^TestUsageMutantChild$/^LargeListing$")
			cmd.Env = append(os.Environ(), usageMutantEnv+"="+name)
			var out bytes.Buffer
			cmd.Stdout, cmd.Stderr = &out, &out
			err := cmd.Run()
			if mu.catchBy == "" {
				if err != nil {
					t.Fatalf("usage suite failed a correct store: %v\n%s", err, out.String())
				}
				return
			}
			if err == nil {
				t.Fatalf("usage suite passed a store whose defect is %s", name)
			}
			if want := "--- FAIL: TestUsageMutantChild/" + mu.catchBy + " "; !strings.Contains(out.String(), want) {
				t.Errorf("usage suite did not fail %s in %s:\n%s", name, mu.catchBy, out.String())
			}
		})
	}
}

// TestUsageMutantChild is the child process of
// TestUsageSuiteCatchesBrokenStores.
func TestUsageMutantChild(t *testing.T) {
	name := os.Getenv(usageMutantEnv)
	if name == "" {
		t.Skip("runs only as a child of TestUsageSuiteCatchesBrokenStores")
	}
	mu, ok := usageMutants()[name]
	if !ok {
		t.Fatalf("unknown usage mutant %q", name)
	}
	storagetest.RunUsage(t, func(*testing.T) storage.UsageStore { return mu.new() })
}

// recordTwice counts a record again when its ID comes back.
type recordTwice struct {
	*memory.Store
	mu sync.Mutex
	n  int
}

func (s *recordTwice) RecordUsage(ctx context.Context, r storage.UsageRecord) error {
	s.mu.Lock()
	s.n++
	r.ID += "#" + strings.Repeat("x", s.n)
	s.mu.Unlock()
	return s.Store.RecordUsage(ctx, r)
}

// localDays buckets records by their day in UTC-5.
type localDays struct{ *memory.Store }

func (s localDays) RecordUsage(ctx context.Context, r storage.UsageRecord) error {
	if !r.At.IsZero() {
		y, m, d := r.At.In(time.FixedZone("UTC-5", -5*3600)).Date()
		r.At = time.Date(y, m, d, 12, 0, 0, 0, time.UTC)
	}
	return s.Store.RecordUsage(ctx, r)
}

// ignoreBefore lists as if Before were open.
type ignoreBefore struct{ *memory.Store }

func (s ignoreBefore) ListUsage(ctx context.Context, q storage.UsageQuery) (storage.UsagePage, error) {
	q.Before = time.Time{}
	return s.Store.ListUsage(ctx, q)
}

// skipRow's cursors pass over the row after each page.
type skipRow struct{ *memory.Store }

func (s skipRow) ListUsage(ctx context.Context, q storage.UsageQuery) (storage.UsagePage, error) {
	page, err := s.Store.ListUsage(ctx, q)
	if err == nil && page.NextCursor != "" {
		q.Cursor, q.Limit = page.NextCursor, 1
		next, err := s.Store.ListUsage(ctx, q)
		if err != nil {
			return storage.UsagePage{}, err
		}
		page.NextCursor = next.NextCursor
	}
	return page, err
}

// holdNothing grants reservations without holding them.
type holdNothing struct{ *memory.Store }

func (s holdNothing) ReserveUsage(ctx context.Context, r storage.Reservation) (bool, error) {
	granted, err := s.Store.ReserveUsage(ctx, r)
	if granted {
		_ = s.ReleaseReservation(ctx, r.UserID, r.ID)
	}
	return granted, err
}

// neverExpire holds every reservation for a day.
type neverExpire struct{ *memory.Store }

func (s neverExpire) ReserveUsage(ctx context.Context, r storage.Reservation) (bool, error) {
	if !r.ExpiresAt.IsZero() {
		r.ExpiresAt = time.Now().Add(24 * time.Hour)
	}
	return s.Store.ReserveUsage(ctx, r)
}

// checkThenReserve checks the limits with a probe, then reserves
// without checking: two steps another caller can come between.
type checkThenReserve struct{ *memory.Store }

func (s checkThenReserve) ReserveUsage(ctx context.Context, r storage.Reservation) (bool, error) {
	probe := r
	probe.ID = "probe-" + r.ID
	ok, err := s.Store.ReserveUsage(ctx, probe)
	if err != nil || !ok {
		return ok, err
	}
	if err := s.ReleaseReservation(ctx, r.UserID, probe.ID); err != nil {
		return false, err
	}
	time.Sleep(time.Millisecond)
	r.Limits = nil
	return s.Store.ReserveUsage(ctx, r)
}
