package admin_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/chatboxsdk/chatbox/admin"
	"github.com/chatboxsdk/chatbox/storage"
)

// GET /usage pages 100,000 rows (1,000 users, 10 models, 10 days) without
// gaps or repeats, newest day first, and totals a user's days.
func TestUsagePagesAHundredThousandRowsWithoutGaps(t *testing.T) {
	f := newFixture(t, nil)
	ctx := context.Background()
	for d := range 10 {
		for u := range 1000 {
			for m := range 10 {
				err := f.store.RecordUsage(ctx, storage.UsageRecord{
					ID: fmt.Sprintf("r-%d-%d-%d", d, u, m), UserID: fmt.Sprintf("u-%04d", u), Model: fmt.Sprintf("m%d", m),
					At: t0.AddDate(0, 0, -d), InputTokens: int64(u + 1), OutputTokens: 2, CostMicros: 1500,
				})
				if err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	seen := make(map[string]bool, 100_000)
	var prev *admin.UsageRow
	cursor := ""
	for pages := 0; ; pages++ {
		if pages > 100_000 {
			t.Fatal("the listing does not end")
		}
		target := "/usage?limit=500"
		if cursor != "" {
			target += "&cursor=" + url.QueryEscape(cursor)
		}
		var list admin.UsageList
		f.getOK(t, target, &list)
		for _, r := range list.Rows {
			key := r.Day + "/" + r.UserID + "/" + r.Model
			if seen[key] {
				t.Fatalf("page %d: %s listed twice", pages, key)
			}
			seen[key] = true
			if prev != nil && (prev.Day < r.Day || prev.Day == r.Day && (prev.UserID > r.UserID || prev.UserID == r.UserID && prev.Model >= r.Model)) {
				t.Fatalf("page %d: %s after %s/%s/%s breaks the order", pages, key, prev.Day, prev.UserID, prev.Model)
			}
			prev = &r
		}
		if list.NextCursor == "" {
			break
		}
		cursor = list.NextCursor
	}
	if len(seen) != 100_000 {
		t.Fatalf("listed %d rows, want 100000", len(seen))
	}

	var one admin.UsageList
	f.getOK(t, "/usage?user=u-0041&from="+url.QueryEscape(t0.AddDate(0, 0, -4).Format(time.RFC3339)), &one)
	if len(one.Rows) != 50 || one.Totals == nil || one.Totals.Replies != 50 || one.Totals.InputTokens != 50*42 || one.Totals.Cost != 0.075 {
		t.Fatalf("u-0041 over five days: %d rows, totals %+v", len(one.Rows), one.Totals)
	}
}

func TestUsageAnswers501WithoutAUsageStore(t *testing.T) {
	f := newFixture(t, func(c *admin.Config) { c.Store = storeWithoutUsage{c.Store} })
	r := f.get("/usage", opToken)
	r.wantError(t, http.StatusNotImplemented, "unavailable", "")
}

// storeWithoutUsage hides the memory store's UsageStore.
type storeWithoutUsage struct{ storage.Store }
