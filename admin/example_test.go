package admin_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/chatboxsdk/chatbox/admin"
	"github.com/chatboxsdk/chatbox/auth"
	"github.com/chatboxsdk/chatbox/ratelimit"
	"github.com/chatboxsdk/chatbox/storage"
	"github.com/chatboxsdk/chatbox/storage/memory"
)

func ExampleNew() {
	store := memory.New()
	created := time.Date(2030, 1, 2, 9, 0, 0, 0, time.UTC)
	_ = store.CreateConversation(context.Background(), storage.Conversation{
		ID: "c-1", UserID: "u-42", Title: "Refund", Model: "demo", CreatedAt: created})

	authn, _ := auth.NewStaticTokens(map[string]auth.Identity{
		"operator-token": {UserID: "op-7", Roles: []string{"operator"}},
	})
	limiter, _ := ratelimit.NewTokenBucket(ratelimit.TokenBucketConfig{})
	h, err := admin.New(admin.Config{
		Store:         store,
		Authenticator: authn,
		Limiter:       limiter,
		Limit:         ratelimit.Per(10, time.Second, 20),
		OperatorRoles: []string{"operator"},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	mux := http.NewServeMux()
	mux.Handle("/admin/", http.StripPrefix("/admin", h))

	req := httptest.NewRequest(http.MethodGet, "/admin/conversations?user=u-42", nil)
	req.Header.Set("Authorization", "Bearer operator-token")
	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, req)

	body, _ := io.ReadAll(rec.Body)
	fmt.Println(rec.Code, rec.Header().Get("Content-Type"))
	fmt.Print(string(body))
	// Output:
	// 200 application/json
	// {"conversations":[{"id":"c-1","user_id":"u-42","title":"Refund","model":"demo","status":"active","mode":"ai","created_at":"2030-01-02T09:00:00Z","updated_at":"2030-01-02T09:00:00Z","stats":{"message_count":0,"operator_assisted":false,"input_tokens":0,"output_tokens":0,"responses":0,"response_ms_avg":0,"response_ms_min":0,"response_ms_max":0}}],"total":1}
}
