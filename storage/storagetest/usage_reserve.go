package storagetest

import (
	"testing"
	"time"

	"github.com/chatboxsdk/chatbox/storage"
)

// hold returns a reservation of tokens for user, live for an hour, under
// limits.
func hold(id, user string, tokens int64, limits ...storage.UsageLimit) storage.Reservation {
	return storage.Reservation{ID: id, UserID: user, Tokens: tokens, ExpiresAt: time.Now().Add(time.Hour), Limits: limits}
}

// tokensPerDay limits the tokens of days [d, d+1).
func tokensPerDay(d int, max int64) storage.UsageLimit {
	return storage.UsageLimit{From: day(d), Before: day(d + 1), MaxTokens: max}
}

// wantGrant reserves r on st and reports an error unless the answer is
// want.
func wantGrant(t *testing.T, st storage.UsageStore, r storage.Reservation, want bool, what string) {
	t.Helper()
	granted, err := st.ReserveUsage(t.Context(), r)
	if err != nil {
		t.Fatalf("%s: ReserveUsage(%q, %d tokens, %d µ): %v", what, r.ID, r.Tokens, r.CostMicros, err)
	}
	if granted != want {
		t.Errorf("%s: ReserveUsage(%q, %d tokens, %d µ) granted %v, want %v", what, r.ID, r.Tokens, r.CostMicros, granted, want)
	}
}

func mustRelease(t *testing.T, st storage.UsageStore, user, id string) {
	t.Helper()
	if err := st.ReleaseReservation(t.Context(), user, id); err != nil {
		t.Fatalf("ReleaseReservation(%q, %q): %v", user, id, err)
	}
}

func (s usageSuite) testReserve(t *testing.T) {
	t.Run("GrantedWithinTheLimitRefusedBeyond", func(t *testing.T) {
		st := s.store(t)
		limit := tokensPerDay(0, 100)
		wantGrant(t, st, hold("a", "alice", 60, limit), true, "60 of 100")
		wantGrant(t, st, hold("b", "alice", 41, limit), false, "41 more")
		wantGrant(t, st, hold("c", "alice", 40, limit), true, "40 more, exactly the limit")
		wantGrant(t, st, hold("d", "alice", 1, limit), false, "1 beyond")
		wantGrant(t, st, hold("e", "alice", 0, limit), true, "nothing more")

		cost := storage.UsageLimit{From: day(0), Before: day(1), MaxCostMicros: 1000}
		r := hold("f", "bob", 0, cost)
		r.CostMicros = 700
		wantGrant(t, st, r, true, "700µ of 1000µ")
		r.ID, r.CostMicros = "g", 301
		wantGrant(t, st, r, false, "301µ more")
		r.ID, r.CostMicros = "h", 300
		wantGrant(t, st, r, true, "300µ more, exactly the limit")
		// bob's tokens are not limited by a cost limit, nor alice's cost by a
		// token limit.
		wantGrant(t, st, hold("i", "bob", 1_000_000, cost), true, "tokens under a cost limit")
		r = hold("j", "alice", 0, limit)
		r.CostMicros = 1_000_000
		wantGrant(t, st, r, true, "cost under a token limit")
	})

	t.Run("RecordedUsageInThePeriodCounts", func(t *testing.T) {
		st := s.store(t)
		// 70 tokens on day 0 (input plus output; cached and reasoning tokens
		// are parts of those, not more), 1,000 on day -1 and 500 by another
		// user on day 0.
		mustRecord(t, st,
			storage.UsageRecord{ID: "r1", UserID: "alice", Model: "model-a", At: day(0).Add(time.Hour),
				InputTokens: 50, OutputTokens: 20, CachedInputTokens: 40, ReasoningTokens: 15, CostMicros: 700},
			storage.UsageRecord{ID: "r2", UserID: "alice", Model: "model-b", At: day(-1), InputTokens: 1000},
			storage.UsageRecord{ID: "r3", UserID: "bob", Model: "model-a", At: day(0), InputTokens: 500, CostMicros: 5000},
		)
		today := tokensPerDay(0, 100)
		wantGrant(t, st, hold("a", "alice", 31, today), false, "31 with 70 recorded")
		wantGrant(t, st, hold("b", "alice", 30, today), true, "30 with 70 recorded")
		mustRelease(t, st, "alice", "b")
		twoDays := storage.UsageLimit{From: day(-1), Before: day(1), MaxTokens: 1100}
		wantGrant(t, st, hold("c", "alice", 31, twoDays), false, "31 with 1,070 recorded over two days")
		wantGrant(t, st, hold("d", "alice", 30, twoDays), true, "30 with 1,070 recorded over two days")
		mustRelease(t, st, "alice", "d")
		costToday := storage.UsageLimit{From: day(0), Before: day(1), MaxCostMicros: 1000}
		r := hold("e", "alice", 0, costToday)
		r.CostMicros = 301
		wantGrant(t, st, r, false, "301µ with 700µ recorded")
		r.CostMicros = 300
		wantGrant(t, st, r, true, "300µ with 700µ recorded")
		mustRelease(t, st, "alice", "e")
		// Open bounds: everything before day 0, everything from day 0, all.
		wantGrant(t, st, hold("f", "alice", 1, storage.UsageLimit{Before: day(0), MaxTokens: 1000}), false, "open From")
		wantGrant(t, st, hold("g", "alice", 30, storage.UsageLimit{From: day(0), MaxTokens: 100}), true, "open Before")
		mustRelease(t, st, "alice", "g")
		wantGrant(t, st, hold("h", "alice", 31, storage.UsageLimit{MaxTokens: 1100}), false, "no bound")
		wantGrant(t, st, hold("i", "alice", 30, storage.UsageLimit{MaxTokens: 1100}), true, "no bound")
	})

	t.Run("PeriodsAreWholeUTCDays", func(t *testing.T) {
		st := s.store(t)
		mustRecord(t, st,
			storage.UsageRecord{ID: "early", UserID: "alice", Model: "model-a", At: day(0).Add(time.Hour), InputTokens: 10},
			storage.UsageRecord{ID: "late", UserID: "alice", Model: "model-a", At: day(1).Add(time.Hour), InputTokens: 1000},
		)
		// From at 15:00 on day 0 counts day 0 from its start; Before at
		// 15:00 on day 1 leaves day 1 out.
		noon := storage.UsageLimit{From: day(0).Add(15 * time.Hour), Before: day(1).Add(15 * time.Hour), MaxTokens: 100}
		wantGrant(t, st, hold("a", "alice", 91, noon), false, "91 with 10 recorded on the period's day")
		wantGrant(t, st, hold("b", "alice", 90, noon), true, "90 with 10 recorded on the period's day")
		mustRelease(t, st, "alice", "b")
		// Bounds given in another zone are truncated to their UTC day:
		// 01:00 on day 1 in UTC+3 is 22:00 on day 0 in UTC.
		zone := time.FixedZone("UTC+3", 3*3600)
		zoned := storage.UsageLimit{From: time.Date(2031, time.March, 5, 1, 0, 0, 0, zone), Before: day(1).Add(time.Hour), MaxTokens: 100}
		wantGrant(t, st, hold("c", "alice", 91, zoned), false, "a zoned From")
		wantGrant(t, st, hold("d", "alice", 90, zoned), true, "a zoned From")
		mustRelease(t, st, "alice", "d")
		// A period without a day counts no recorded usage.
		empty := storage.UsageLimit{From: day(1), Before: day(1), MaxTokens: 100}
		wantGrant(t, st, hold("e", "alice", 100, empty), true, "an empty period")
	})

	t.Run("LiveReservationsCountInEveryLimit", func(t *testing.T) {
		st := s.store(t)
		wantGrant(t, st, hold("a", "alice", 60, tokensPerDay(0, 100)), true, "60 on day 0")
		// Whatever its period, a limit counts the live reservations.
		wantGrant(t, st, hold("b", "alice", 50, tokensPerDay(9, 100)), false, "50 more on day 9")
		wantGrant(t, st, hold("c", "alice", 40, tokensPerDay(9, 100)), true, "40 more on day 9")
		wantGrant(t, st, hold("d", "alice", 1, tokensPerDay(-9, 100)), false, "1 more on day -9")
		// Another user's reservations are theirs.
		wantGrant(t, st, hold("a", "bob", 100, tokensPerDay(0, 100)), true, "bob's 100")
	})

	t.Run("EveryLimitMustHold", func(t *testing.T) {
		st := s.store(t)
		mustRecord(t, st, storage.UsageRecord{ID: "r1", UserID: "alice", Model: "model-a", At: day(-3), InputTokens: 100})
		daily := tokensPerDay(0, 100)
		monthly := storage.UsageLimit{From: day(-3), Before: day(28), MaxTokens: 150}
		wantGrant(t, st, hold("a", "alice", 60, daily, monthly), false, "60: the month has 50 left")
		// A refused reservation holds nothing.
		wantGrant(t, st, hold("b", "alice", 50, daily, monthly), true, "50: the month has 50 left")
		wantGrant(t, st, hold("c", "alice", 1, monthly, daily), false, "1 more")
		wantGrant(t, st, hold("d", "alice", 1, daily), true, "1 more under the daily limit alone")
	})

	t.Run("ZeroMaximaAreNoLimit", func(t *testing.T) {
		st := s.store(t)
		mustRecord(t, st, storage.UsageRecord{ID: "r1", UserID: "alice", Model: "model-a", At: day(0), InputTokens: 1 << 40, CostMicros: 1 << 40})
		r := hold("a", "alice", 1<<40, storage.UsageLimit{From: day(0), Before: day(1)})
		r.CostMicros = 1 << 40
		wantGrant(t, st, r, true, "a limit without maxima")
		wantGrant(t, st, hold("b", "alice", 1<<40), true, "no limit")
	})

	t.Run("ReserveIsIdempotentByID", func(t *testing.T) {
		st := s.store(t)
		limit := tokensPerDay(0, 100)
		wantGrant(t, st, hold("a", "alice", 60, limit), true, "60")
		wantGrant(t, st, hold("a", "alice", 60, limit), true, "the same 60 again")
		wantGrant(t, st, hold("b", "alice", 40, limit), true, "40 more: a counted once")
		// Held: granted again, even with other amounts or a full budget,
		// and kept as first reserved.
		wantGrant(t, st, hold("a", "alice", 10, limit), true, "a again, for 10")
		wantGrant(t, st, hold("b", "alice", 99, limit), true, "b again, for 99")
		wantGrant(t, st, hold("c", "alice", 1, limit), false, "1 more")
		mustRelease(t, st, "alice", "b")
		wantGrant(t, st, hold("c", "alice", 40, limit), true, "40 once b is released")
		// The same id for another user is another reservation.
		wantGrant(t, st, hold("a", "bob", 100, limit), true, "bob's a")
		wantGrant(t, st, hold("d", "bob", 1, limit), false, "1 more for bob")
	})

	t.Run("ReleaseFrees", func(t *testing.T) {
		st := s.store(t)
		limit := tokensPerDay(0, 100)
		wantGrant(t, st, hold("a", "alice", 100, limit), true, "100")
		wantGrant(t, st, hold("b", "alice", 1, limit), false, "1 more")
		// Another user cannot release it.
		mustRelease(t, st, "bob", "a")
		wantGrant(t, st, hold("b", "alice", 1, limit), false, "1 more after bob released his a")
		mustRelease(t, st, "alice", "a")
		wantGrant(t, st, hold("b", "alice", 100, limit), true, "100 once a is released")
		// Releasing what is not held is a no-op.
		mustRelease(t, st, "alice", "a")
		mustRelease(t, st, "alice", "never-reserved")
		mustRelease(t, st, "nobody", "never-reserved")
		wantGrant(t, st, hold("c", "alice", 1, limit), false, "b still holds 100")
	})

	t.Run("ExpiredReservationsDoNotCount", func(t *testing.T) {
		st := s.store(t)
		limit := tokensPerDay(0, 100)
		// One that has already expired never counts.
		past := hold("past", "alice", 100, limit)
		past.ExpiresAt = time.Now().Add(-time.Second)
		if _, err := st.ReserveUsage(t.Context(), past); err != nil {
			t.Fatal(err)
		}
		wantGrant(t, st, hold("a", "alice", 100, limit), true, "100 after one that had expired")
		mustRelease(t, st, "alice", "a")

		// One that expires soon counts until then.
		soon := hold("soon", "alice", 80, limit)
		soon.ExpiresAt = time.Now().Add(500 * time.Millisecond)
		wantGrant(t, st, soon, true, "80 for half a second")
		granted, err := st.ReserveUsage(t.Context(), hold("b", "alice", 30, limit))
		if err != nil {
			t.Fatal(err)
		}
		if answered := time.Now(); answered.Before(soon.ExpiresAt) && granted {
			t.Errorf("30 more granted while 80 were held (%v before expiry)", soon.ExpiresAt.Sub(answered))
		}
		waitPast(t, soon.ExpiresAt)
		// b may have been granted above if the machine was slow; release it
		// so the check below starts from the expired reservation alone.
		mustRelease(t, st, "alice", "b")
		wantGrant(t, st, hold("c", "alice", 30, limit), true, "30 once the 80 expired")
		// An expired id is reserved anew, and counts again.
		wantGrant(t, st, hold("soon", "alice", 70, limit), true, "soon again, for 70")
		wantGrant(t, st, hold("d", "alice", 1, limit), false, "1 more with 30 and 70 held")
	})
}
