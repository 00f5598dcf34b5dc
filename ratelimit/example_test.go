package ratelimit_test

import (
	"context"
	"fmt"
	"time"

	"github.com/chatboxsdk/chatbox/ratelimit"
)

func ExampleTokenBucket() {
	// A fixed clock makes the output deterministic; leave Now unset in
	// production.
	now := time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC)
	limiter, err := ratelimit.NewTokenBucket(ratelimit.TokenBucketConfig{
		MaxKeys: 10_000,
		IdleTTL: 5 * time.Minute,
		Now:     func() time.Time { return now },
	})
	if err != nil {
		fmt.Println(err)
		return
	}

	perUser := ratelimit.Per(6, time.Minute, 2) // 6 messages a minute, 2 at once
	for range 3 {
		d, err := limiter.Allow(context.Background(), "msg:user-42", perUser)
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Printf("allowed=%v retry after %v\n", d.Allowed, d.RetryAfter)
	}
	now = now.Add(10 * time.Second)
	d, _ := limiter.Allow(context.Background(), "msg:user-42", perUser)
	fmt.Printf("10s later: allowed=%v\n", d.Allowed)
	fmt.Println("keys tracked:", limiter.Len())

	// Output:
	// allowed=true retry after 0s
	// allowed=true retry after 0s
	// allowed=false retry after 10s
	// 10s later: allowed=true
	// keys tracked: 1
}
