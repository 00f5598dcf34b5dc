package session

import (
	"math"
	"math/bits"
	"time"
)

// statsBuckets is the number of histogram buckets in Stats. Bucket 0 holds
// durations below 1ms; bucket i (1 to 22) holds [2^(i-1)ms, 2^i ms); bucket
// 23 holds 2^22ms (about 70 minutes) and above.
const statsBuckets = 24

// Stats is a fixed-size summary of durations (response times, for
// instance): exact count, sum, minimum and maximum, plus a log-scale
// histogram for quantile estimates. Its size is constant, whatever the
// number of observations, and it holds no pointers, so it can be copied and
// compared with ==.
//
// The zero value is an empty Stats ready for use. Stats is NOT safe for
// concurrent use: guard it with the lock of the structure that owns it, and
// hand out copies.
type Stats struct {
	count   int64
	sum     time.Duration
	min     time.Duration
	max     time.Duration
	buckets [statsBuckets]int64
}

// Observe records one duration. Negative durations are recorded as zero.
func (s *Stats) Observe(d time.Duration) {
	d = max(d, 0)
	if s.count == 0 || d < s.min {
		s.min = d
	}
	if d > s.max {
		s.max = d
	}
	s.count++
	s.sum = addSat(s.sum, d)
	s.buckets[bucketOf(d)]++
}

// Merge adds every observation of o to s, as if each had been observed on
// s. Count, Sum, Min and Max stay exact.
func (s *Stats) Merge(o Stats) {
	if o.count == 0 {
		return
	}
	if s.count == 0 {
		*s = o
		return
	}
	s.count += o.count
	s.sum = addSat(s.sum, o.sum)
	s.min = min(s.min, o.min)
	s.max = max(s.max, o.max)
	for i, n := range o.buckets {
		s.buckets[i] += n
	}
}

// Count returns the number of observations.
func (s Stats) Count() int64 { return s.count }

// Sum returns the total of all observations, saturating at the largest
// Duration (about 292 years).
func (s Stats) Sum() time.Duration { return s.sum }

// Min returns the smallest observation, or 0 if there is none.
func (s Stats) Min() time.Duration { return s.min }

// Max returns the largest observation, or 0 if there is none.
func (s Stats) Max() time.Duration { return s.max }

// Mean returns the average observation, or 0 if there is none.
func (s Stats) Mean() time.Duration {
	if s.count == 0 {
		return 0
	}
	return s.sum / time.Duration(s.count)
}

// Quantile estimates the q-quantile of the observations (q = 0.5 for the
// median, 0.99 for p99), or returns 0 if there is none. q is clamped to
// [0, 1]; Quantile(0) is exactly Min and Quantile(1) exactly Max.
//
// Accuracy: the estimate lies in the same histogram bucket as the exact
// nearest-rank quantile, interpolated linearly within the part of that
// bucket between Min and Max. So below 1ms it is off by less than 1ms; from
// 1ms to about 70 minutes it is within a factor of two of the exact value
// (usually much closer); above about 70 minutes it lies between 2^22ms and
// Max. When all observations are equal it is exact.
func (s Stats) Quantile(q float64) time.Duration {
	switch {
	case s.count == 0:
		return 0
	case q <= 0 || math.IsNaN(q):
		return s.min
	case q >= 1:
		return s.max
	}
	rank := q * float64(s.count) // the answer is the ceil(rank)-th smallest value
	var below float64
	for i, n := range s.buckets {
		if n == 0 {
			continue
		}
		if below+float64(n) >= rank {
			lo, hi := bucketBounds(i)
			lo, hi = max(lo, s.min), min(hi, s.max)
			frac := (rank - below) / float64(n)
			return lo + time.Duration(frac*float64(hi-lo))
		}
		below += float64(n)
	}
	return s.max
}

// bucketOf returns the histogram bucket holding d (d >= 0).
func bucketOf(d time.Duration) int {
	return min(bits.Len64(uint64(d/time.Millisecond)), statsBuckets-1)
}

// bucketBounds returns the range [lo, hi) of bucket i; the last bucket has
// no upper bound and reports the largest Duration.
func bucketBounds(i int) (lo, hi time.Duration) {
	switch {
	case i == 0:
		return 0, time.Millisecond
	case i == statsBuckets-1:
		return time.Millisecond << (i - 1), math.MaxInt64
	default:
		return time.Millisecond << (i - 1), time.Millisecond << i
	}
}

// addSat returns a+b for non-negative a and b, saturating at the largest
// Duration.
func addSat(a, b time.Duration) time.Duration {
	if a > math.MaxInt64-b {
		return math.MaxInt64
	}
	return a + b
}
