package ratelimit_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/chatboxsdk/chatbox/ratelimit"
)

func BenchmarkAllow(b *testing.B) {
	ctx := context.Background()
	l := ratelimit.Limit{Rate: 1e9, Burst: 1000}

	b.Run("same-key", func(b *testing.B) {
		tb := newBucket(b, ratelimit.TokenBucketConfig{})
		b.ReportAllocs()
		for b.Loop() {
			if _, err := tb.Allow(ctx, "user:42", l); err != nil {
				b.Fatal(err)
			}
		}
	})

	// Keys are prebuilt so the figure is the limiter's, not strconv's. With
	// more keys than MaxKeys every call inserts a key and evicts another.
	for _, tc := range []struct {
		name          string
		keys, maxKeys int
	}{
		{"many-keys-10k", 10_000, 100_000},
		{"many-keys-1M-evicting", 1_000_000, 100_000},
	} {
		b.Run(tc.name, func(b *testing.B) {
			keys := make([]string, tc.keys)
			for i := range keys {
				keys[i] = "user:" + strconv.Itoa(i)
			}
			tb := newBucket(b, ratelimit.TokenBucketConfig{MaxKeys: tc.maxKeys, IdleTTL: time.Hour})
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				if _, err := tb.Allow(ctx, keys[i%len(keys)], l); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
	}

	b.Run("same-key-parallel", func(b *testing.B) {
		tb := newBucket(b, ratelimit.TokenBucketConfig{})
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := tb.Allow(ctx, "user:42", l); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
}
