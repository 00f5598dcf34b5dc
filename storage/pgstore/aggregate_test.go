package pgstore_test

import (
	"testing"

	"github.com/chatboxsdk/chatbox/storage"
	"github.com/chatboxsdk/chatbox/storage/pgstore"
)

// TestPercentileDiscIsTheNearestRank asks PostgreSQL's percentile_disc,
// with the fractions Aggregate passes, for the percentiles of 1..n for
// every n up to 1,000: the value of each is its rank, which must be
// storage.PercentileRank's. Floating-point fractions such as 0.9 could
// otherwise land one rank off for some n.
func TestPercentileDiscIsTheNearestRank(t *testing.T) {
	p := pool(t)
	const maxN = 1000
	rows, err := p.Query(t.Context(), `SELECT n, percentile_disc($1::float8[]) WITHIN GROUP (ORDER BY v)
		FROM generate_series(1, $2::int) n, LATERAL generate_series(1, n) v GROUP BY n ORDER BY n`, pgstore.Percentiles, maxN)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	checked := 0
	for rows.Next() {
		var (
			n    int64
			got  []int64
			pcts = []int{50, 90, 99}
		)
		if err := rows.Scan(&n, &got); err != nil {
			t.Fatal(err)
		}
		if len(got) != len(pcts) || len(pgstore.Percentiles) != len(pcts) {
			t.Fatalf("n=%d: %d percentiles, want %d", n, len(got), len(pcts))
		}
		for i, pct := range pcts {
			if pgstore.Percentiles[i]*100 != float64(pct) {
				t.Fatalf("fraction %d is %v, want %d%%", i, pgstore.Percentiles[i], pct)
			}
			if want := storage.PercentileRank(n, pct); got[i] != want {
				t.Errorf("n=%d: percentile_disc(%v) is rank %d, storage.PercentileRank(%d, %d) = %d", n, pgstore.Percentiles[i], got[i], n, pct, want)
			}
		}
		checked++
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if checked != maxN {
		t.Fatalf("checked %d sizes, want %d", checked, maxN)
	}
}
