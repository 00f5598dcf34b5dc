package redis_test

import (
	"context"
	"crypto/rand"
	"strconv"
	"testing"

	"github.com/chatboxsdk/chatbox/ratelimit"
	redislimiter "github.com/chatboxsdk/chatbox/ratelimit/redis"
)

// BenchmarkAllow measures one decision (one script round trip), on one key
// and on 10,000 keys, sequential and from parallel goroutines.
func BenchmarkAllow(b *testing.B) {
	ctx := context.Background()
	l := newLimiter(b, redislimiter.Config{KeyPrefix: "bench-" + rand.Text()[:8] + ":"})
	lim := ratelimit.Limit{Rate: 1e9, Burst: 1000}
	keys := make([]string, 10_000)
	for i := range keys {
		keys[i] = "user:" + strconv.Itoa(i)
	}
	b.Run("same-key", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := l.Allow(ctx, "user:42", lim); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("many-keys-10k", func(b *testing.B) {
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			if _, err := l.Allow(ctx, keys[i%len(keys)], lim); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
	b.Run("parallel", func(b *testing.B) {
		b.ReportAllocs()
		b.SetParallelism(4)
		b.RunParallel(func(pb *testing.PB) {
			i := 0
			for pb.Next() {
				if _, err := l.Allow(ctx, keys[i%len(keys)], lim); err != nil {
					b.Error(err)
					return
				}
				i++
			}
		})
	})
}
