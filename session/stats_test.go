package session_test

import (
	"math"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"
	"time"
	"unsafe"

	"github.com/chatboxsdk/chatbox/session"
)

func TestStatsZeroValue(t *testing.T) {
	var s session.Stats
	if s.Count() != 0 || s.Sum() != 0 || s.Min() != 0 || s.Max() != 0 || s.Mean() != 0 || s.Quantile(0.5) != 0 {
		t.Fatalf("zero Stats reports non-zero figures: %+v", s)
	}
}

func TestStatsExactFigures(t *testing.T) {
	var s session.Stats
	for _, d := range []time.Duration{30 * time.Millisecond, 5 * time.Millisecond, 2 * time.Second, 65 * time.Millisecond} {
		s.Observe(d)
	}
	s.Observe(-time.Second) // recorded as zero
	if s.Count() != 5 {
		t.Errorf("Count = %d, want 5", s.Count())
	}
	if want := 2100 * time.Millisecond; s.Sum() != want {
		t.Errorf("Sum = %v, want %v", s.Sum(), want)
	}
	if s.Min() != 0 || s.Max() != 2*time.Second {
		t.Errorf("Min, Max = %v, %v; want 0, 2s", s.Min(), s.Max())
	}
	if want := 420 * time.Millisecond; s.Mean() != want {
		t.Errorf("Mean = %v, want %v", s.Mean(), want)
	}
	if s.Quantile(0) != s.Min() || s.Quantile(-1) != s.Min() || s.Quantile(math.NaN()) != s.Min() {
		t.Error("Quantile(q <= 0) is not Min")
	}
	if s.Quantile(1) != s.Max() || s.Quantile(2) != s.Max() {
		t.Error("Quantile(q >= 1) is not Max")
	}
}

func TestStatsSumSaturates(t *testing.T) {
	var s session.Stats
	s.Observe(math.MaxInt64 - 1)
	s.Observe(time.Hour)
	if s.Sum() != math.MaxInt64 {
		t.Fatalf("Sum = %d, want saturation at MaxInt64", s.Sum())
	}
}

func TestStatsQuantileEqualValuesIsExact(t *testing.T) {
	var s session.Stats
	for range 1000 {
		s.Observe(1234 * time.Millisecond)
	}
	for _, q := range []float64{0.01, 0.5, 0.99} {
		if got := s.Quantile(q); got != 1234*time.Millisecond {
			t.Errorf("Quantile(%v) = %v, want 1.234s", q, got)
		}
	}
}

// bucket mirrors the documented histogram: [0,1ms), then doubling ranges
// [2^(i-1)ms, 2^i ms) up to 2^22ms, then everything above.
func bucket(d time.Duration) (lo, hi time.Duration) {
	if d < time.Millisecond {
		return 0, time.Millisecond
	}
	lo = time.Millisecond
	for i := 1; i < 23; i++ {
		if d < 2*lo {
			return lo, 2 * lo
		}
		lo *= 2
	}
	return lo, math.MaxInt64
}

func TestStatsQuantileAccuracy(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	dists := map[string]func() time.Duration{
		// log-uniform from 100µs to 2h: every bucket, including both ends
		"log-uniform": func() time.Duration {
			return time.Duration(math.Exp(rng.Float64()*math.Log(7.2e10)) * 1e5)
		},
		// typical model latencies: 200ms to 20s
		"uniform-200ms-20s": func() time.Duration {
			return 200*time.Millisecond + time.Duration(rng.Int64N(int64(19800*time.Millisecond)))
		},
		"exponential-1s": func() time.Duration {
			return time.Duration(rng.ExpFloat64() * float64(time.Second))
		},
	}
	for name, gen := range dists {
		t.Run(name, func(t *testing.T) {
			var s session.Stats
			vals := make([]time.Duration, 20_000)
			for i := range vals {
				vals[i] = gen()
				s.Observe(vals[i])
			}
			slices.Sort(vals)
			for _, q := range []float64{0.001, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 0.999} {
				exact := vals[int(math.Ceil(q*float64(len(vals))))-1] // nearest rank
				got := s.Quantile(q)
				lo, hi := bucket(exact)
				lo, hi = max(lo, s.Min()), min(hi, s.Max())
				if got < lo || got > hi {
					t.Errorf("Quantile(%v) = %v, exact %v: outside its bucket [%v, %v]", q, got, exact, lo, hi)
				}
				if exact >= time.Millisecond && exact < time.Millisecond<<22 {
					if r := float64(got) / float64(exact); r <= 0.5 || r >= 2 {
						t.Errorf("Quantile(%v) = %v, exact %v: not within a factor of two", q, got, exact)
					}
				}
			}
		})
	}
}

func TestStatsQuantileMonotonic(t *testing.T) {
	var s session.Stats
	rng := rand.New(rand.NewPCG(3, 4))
	for range 5000 {
		s.Observe(time.Duration(rng.ExpFloat64() * float64(300*time.Millisecond)))
	}
	prev := time.Duration(-1)
	for q := 0.0; q <= 1.0; q += 0.001 {
		got := s.Quantile(q)
		if got < prev {
			t.Fatalf("Quantile(%v) = %v < Quantile of a smaller q = %v", q, got, prev)
		}
		prev = got
	}
}

func TestStatsMerge(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	var a, b, all session.Stats
	for i := range 10_000 {
		d := time.Duration(rng.Int64N(int64(10 * time.Second)))
		all.Observe(d)
		if i%3 == 0 {
			a.Observe(d)
		} else {
			b.Observe(d)
		}
	}
	merged := a
	merged.Merge(b)
	if merged != all {
		t.Fatalf("merge of two halves differs from observing everything once:\n%+v\n%+v", merged, all)
	}
	var empty session.Stats
	empty.Merge(a)
	if empty != a {
		t.Fatal("merging into an empty Stats did not copy")
	}
	before := a
	a.Merge(session.Stats{})
	if a != before {
		t.Fatal("merging an empty Stats changed the receiver")
	}
}

func TestStatsConstantSize(t *testing.T) {
	// No pointer, slice, map or string inside: nothing can grow.
	var walk func(reflect.Type)
	walk = func(typ reflect.Type) {
		switch typ.Kind() {
		case reflect.Struct:
			for i := range typ.NumField() {
				walk(typ.Field(i).Type)
			}
		case reflect.Array:
			walk(typ.Elem())
		case reflect.Int64, reflect.Int, reflect.Uint64:
		default:
			t.Errorf("Stats holds a %v, which may grow or alias", typ)
		}
	}
	walk(reflect.TypeFor[session.Stats]())

	var s session.Stats
	size := unsafe.Sizeof(s)
	if size > 256 {
		t.Errorf("Stats is %d bytes, want at most 256", size)
	}
	allocs := testing.AllocsPerRun(1000, func() { s.Observe(time.Duration(s.Count()) * time.Microsecond) })
	if allocs != 0 {
		t.Errorf("Observe allocates %v times per call", allocs)
	}

	n := s.Count()
	base := heapAlloc()
	for i := range 1_000_000 {
		s.Observe(time.Duration(i) * time.Millisecond)
	}
	if grown := int64(heapAlloc()) - int64(base); grown > 64<<10 {
		t.Errorf("heap grew by %d bytes over 1e6 observations", grown)
	}
	if s.Count() != n+1_000_000 {
		t.Errorf("Count = %d", s.Count())
	}
}
