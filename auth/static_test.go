package auth_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/chatboxsdk/chatbox/auth"
)

func TestStaticTokens(t *testing.T) {
	a, err := auth.NewStaticTokens(map[string]auth.Identity{"t1": {UserID: "u1", Roles: []string{"operator"}}})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	id, err := a.Authenticate(ctx, "t1")
	if err != nil || id.UserID != "u1" || !id.HasRole("operator") || id.HasRole("admin") {
		t.Fatalf("t1: %+v %v", id, err)
	}
	id.Roles[0] = "changed"
	if again, _ := a.Authenticate(ctx, "t1"); !again.HasRole("operator") {
		t.Fatal("returned identity shares its roles with the authenticator")
	}
	for _, tok := range []string{"", "t2", "T1", "t1 "} {
		if _, err := a.Authenticate(ctx, tok); !errors.Is(err, auth.ErrInvalidToken) {
			t.Errorf("token %q: %v", tok, err)
		}
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := a.Authenticate(cancelled, "t1"); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled ctx: %v", err)
	}
}

func TestStaticTokensRejectsBadInput(t *testing.T) {
	if _, err := auth.NewStaticTokens(nil); err == nil {
		t.Fatal("no tokens accepted")
	}
	_, err := auth.NewStaticTokens(map[string]auth.Identity{"": {UserID: "a"}, "x": {}})
	if err == nil {
		t.Fatal("empty token and empty user accepted")
	}
}

func ExampleNewStaticTokens() {
	a, _ := auth.NewStaticTokens(map[string]auth.Identity{"demo-token": {UserID: "demo", Name: "Demo"}})
	id, err := a.Authenticate(context.Background(), "demo-token")
	fmt.Println(id.UserID, err)
	_, err = a.Authenticate(context.Background(), "guess")
	fmt.Println(err)
	// Output:
	// demo <nil>
	// auth: invalid token
}
