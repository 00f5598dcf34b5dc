package storagetest

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chatboxsdk/chatbox/storage"
)

// waitPast returns once the clock is a little past t.
func waitPast(t *testing.T, deadline time.Time) {
	t.Helper()
	const margin = 20 * time.Millisecond
	timer := time.NewTimer(time.Until(deadline) + margin)
	defer timer.Stop()
	select {
	case <-timer.C:
	case <-t.Context().Done():
		t.Fatal(t.Context().Err())
	}
}

func (s usageSuite) testUsageConcurrency(t *testing.T) {
	t.Run("OneIDRecordedAtOnceCountsOnce", func(t *testing.T) {
		sts := s.instances(t)
		const callers = 20
		r := record("r1", "alice", "model-a", day(0).Add(time.Hour), 3)
		var wg sync.WaitGroup
		for i := range callers {
			wg.Go(func() {
				if err := sts[i%2].RecordUsage(t.Context(), r); err != nil {
					t.Errorf("RecordUsage by caller %d: %v", i, err)
				}
			})
		}
		wg.Wait()
		checkUsageListing(t, "rows", sts[0], storage.UsageQuery{}, rowsOf([]storage.UsageRecord{r}))
		got, err := sts[1].SumUsage(t.Context(), "alice", day(0), day(1))
		if want := totalsOf(rowsOf([]storage.UsageRecord{r})); err != nil || got != want {
			t.Errorf("SumUsage = %+v, %v; want %+v", got, err, want)
		}
	})

	t.Run("DistinctRecordsAtOnceAllCount", func(t *testing.T) {
		sts := s.instances(t)
		const callers, each = 20, 5
		var rs []storage.UsageRecord
		for i := range callers * each {
			r := record(fmt.Sprintf("r-%d", i), fmt.Sprintf("user-%d", i%2), "model-a", day(0).Add(time.Duration(i)*time.Minute), int64(i+1))
			r.Estimated = i%3 == 0
			rs = append(rs, r)
		}
		var wg sync.WaitGroup
		for c := range callers {
			wg.Go(func() {
				for i := c; i < len(rs); i += callers {
					if err := sts[c%2].RecordUsage(t.Context(), rs[i]); err != nil {
						t.Errorf("RecordUsage(%q): %v", rs[i].ID, err)
						return
					}
				}
			})
		}
		wg.Wait()
		checkUsageListing(t, "rows", sts[0], storage.UsageQuery{}, rowsOf(rs))
	})

	t.Run("RacingReservationsGrantExactlyWhatFits", func(t *testing.T) {
		sts := s.instances(t)
		const racers, fit = 50, 17
		// 30 tokens recorded, and 10 per reservation: fit of them fit.
		mustRecord(t, sts[0], storage.UsageRecord{ID: "r1", UserID: "alice", Model: "model-a", At: day(0), InputTokens: 20, OutputTokens: 10})
		limit := tokensPerDay(0, 30+10*fit)
		var granted atomic.Int32
		start := make(chan struct{})
		var wg sync.WaitGroup
		for i := range racers {
			wg.Go(func() {
				<-start
				ok, err := sts[i%2].ReserveUsage(t.Context(), hold(fmt.Sprintf("res-%d", i), "alice", 10, limit))
				if err != nil {
					t.Errorf("ReserveUsage %d: %v", i, err)
					return
				}
				if ok {
					granted.Add(1)
				}
			})
		}
		close(start)
		wg.Wait()
		if g := granted.Load(); g != fit {
			t.Errorf("%d of %d racing reservations granted, want exactly %d", g, racers, fit)
		}
		wantGrant(t, sts[0], hold("late", "alice", 1, limit), false, "1 more after the race")
	})

	t.Run("OneReservationAtOnceCountsOnce", func(t *testing.T) {
		sts := s.instances(t)
		const racers = 20
		limit := tokensPerDay(0, 100)
		var wg sync.WaitGroup
		for i := range racers {
			wg.Go(func() {
				ok, err := sts[i%2].ReserveUsage(t.Context(), hold("same", "alice", 60, limit))
				if err != nil || !ok {
					t.Errorf("ReserveUsage(same) by %d = %v, %v; want granted", i, ok, err)
				}
			})
		}
		wg.Wait()
		wantGrant(t, sts[1], hold("b", "alice", 40, limit), true, "40 more: same counted once")
		wantGrant(t, sts[0], hold("c", "alice", 1, limit), false, "1 more")
	})

	t.Run("RecordsAndReservationsAtOnce", func(t *testing.T) {
		// Replies of one user each reserve 10 tokens, record 10 and release:
		// what is recorded plus what is held never exceeds the limit, so the
		// recorded total never passes it.
		sts := s.instances(t)
		const replies, max = 40, 100
		limit := tokensPerDay(0, max)
		var wg sync.WaitGroup
		var granted atomic.Int32
		for i := range replies {
			wg.Go(func() {
				st := sts[i%2]
				id := fmt.Sprintf("reply-%d", i)
				ok, err := st.ReserveUsage(t.Context(), hold(id, "alice", 10, limit))
				if err != nil {
					t.Errorf("ReserveUsage(%s): %v", id, err)
					return
				}
				if !ok {
					return
				}
				granted.Add(1)
				if err := st.RecordUsage(t.Context(), storage.UsageRecord{ID: id, UserID: "alice", Model: "model-a",
					At: day(0).Add(time.Duration(i) * time.Second), InputTokens: 6, OutputTokens: 4}); err != nil {
					t.Errorf("RecordUsage(%s): %v", id, err)
				}
				if err := st.ReleaseReservation(t.Context(), "alice", id); err != nil {
					t.Errorf("ReleaseReservation(%s): %v", id, err)
				}
			})
		}
		wg.Wait()
		got, err := sts[0].SumUsage(t.Context(), "alice", day(0), day(1))
		if err != nil {
			t.Fatal(err)
		}
		if g := int64(granted.Load()); got.Tokens() != 10*g || got.Replies != g {
			t.Errorf("recorded %+v for %d granted replies, want %d tokens", got, g, 10*g)
		}
		// A reply between its record and its release counts twice, so the
		// budget may end a little short of full, never beyond it.
		if got.Tokens() > max || got.Tokens() < max/2 {
			t.Errorf("recorded %d tokens under a budget of %d", got.Tokens(), max)
		}
	})
}

func (s usageSuite) testUsageInvalid(t *testing.T) {
	st := s.store(t)
	ctx := t.Context()
	ok := hold("a", "alice", 10, tokensPerDay(0, 100))
	for i, f := range []func(*storage.Reservation){
		func(r *storage.Reservation) { r.ID = "" },
		func(r *storage.Reservation) { r.UserID = "" },
		func(r *storage.Reservation) { r.ExpiresAt = time.Time{} },
		func(r *storage.Reservation) { r.Tokens = -1 },
		func(r *storage.Reservation) { r.CostMicros = -1 },
		func(r *storage.Reservation) { r.Limits = []storage.UsageLimit{{MaxTokens: -1}} },
		func(r *storage.Reservation) {
			r.Limits = []storage.UsageLimit{tokensPerDay(0, 100), {MaxCostMicros: -1}}
		},
	} {
		r := ok
		r.Limits = append([]storage.UsageLimit(nil), ok.Limits...)
		f(&r)
		granted, err := st.ReserveUsage(ctx, r)
		wantIs(t, err, storage.ErrInvalid, fmt.Sprintf("ReserveUsage of invalid reservation %d (%+v)", i, r))
		if granted {
			t.Errorf("invalid reservation %d granted", i)
		}
	}
	// None of them holds anything.
	wantGrant(t, st, hold("b", "alice", 100, tokensPerDay(0, 100)), true, "100 after invalid reservations")
	wantIs(t, st.ReleaseReservation(ctx, "", "b"), storage.ErrInvalid, "ReleaseReservation without a user")
	wantIs(t, st.ReleaseReservation(ctx, "alice", ""), storage.ErrInvalid, "ReleaseReservation without an id")
	for _, r := range invalidRecords() {
		wantIs(t, st.RecordUsage(ctx, r), storage.ErrInvalid, fmt.Sprintf("RecordUsage(%+v)", r))
	}
	_, err := st.SumUsage(ctx, "", time.Time{}, time.Time{})
	wantIs(t, err, storage.ErrInvalid, "SumUsage without a user")
}

func (s usageSuite) testUsageContext(t *testing.T) {
	for _, tc := range deadContexts() {
		t.Run(tc.name, func(t *testing.T) {
			st := s.store(t)
			// Every call below would succeed with a live context.
			r := record("r1", "alice", "model-a", day(0), 1)
			mustRecord(t, st, r)
			wantGrant(t, st, hold("held", "alice", 10), true, "a reservation")
			ctx := tc.ctx(t)
			wantIs(t, st.RecordUsage(ctx, record("r2", "alice", "model-a", day(0), 1)), tc.want, "RecordUsage of a new record")
			wantIs(t, st.RecordUsage(ctx, r), tc.want, "RecordUsage of a recorded one")
			_, err := st.ListUsage(ctx, storage.UsageQuery{})
			wantIs(t, err, tc.want, "ListUsage")
			_, err = st.SumUsage(ctx, "alice", day(0), day(1))
			wantIs(t, err, tc.want, "SumUsage")
			_, err = st.ReserveUsage(ctx, hold("new", "alice", 10))
			wantIs(t, err, tc.want, "ReserveUsage")
			_, err = st.ReserveUsage(ctx, hold("held", "alice", 10))
			wantIs(t, err, tc.want, "ReserveUsage of a held reservation")
			wantIs(t, st.ReleaseReservation(ctx, "alice", "held"), tc.want, "ReleaseReservation")
			// Nothing changed.
			checkUsageListing(t, "rows", st, storage.UsageQuery{}, rowsOf([]storage.UsageRecord{r}))
		})
	}
}
