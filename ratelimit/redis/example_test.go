package redis_test

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/chatboxsdk/chatbox/ratelimit"
	redislimiter "github.com/chatboxsdk/chatbox/ratelimit/redis"
)

// Every instance creates its limiter on the same Redis; a user's budget is
// then one budget, whichever instance the request reaches (pass it with
// chatbox.WithLimiter). When Redis cannot answer, this one refuses.
func Example() {
	l, err := redislimiter.New(redislimiter.Config{
		Addr:            "127.0.0.1:6379",
		WhenUnavailable: redislimiter.RefuseWhenUnavailable,
	})
	if err != nil {
		log.Fatal(err)
	}
	defer l.Close()

	d, err := l.Allow(context.Background(), "send:user-42", ratelimit.Per(10, time.Minute, 5))
	if err != nil {
		log.Fatal(err)
	}
	if !d.Allowed {
		fmt.Println("retry in", d.RetryAfter)
	}
}
