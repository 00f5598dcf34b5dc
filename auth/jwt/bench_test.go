package jwt_test

import (
	"context"
	"crypto/ecdsa"
	"testing"

	"github.com/lestrrat-go/jwx/v3/jwa"

	"github.com/chatboxsdk/chatbox/auth/jwt"
)

func benchmarkAuthenticate(b *testing.B, j *jwt.Verifier, tok string) {
	b.Helper()
	ctx := context.Background()
	if _, err := j.Authenticate(ctx, tok); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := j.Authenticate(ctx, tok); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkAuthenticateHS256(b *testing.B) {
	j, _ := newHS256(b, nil)
	benchmarkAuthenticate(b, j, signToken(b, jwa.HS256(), testSecret, "", claims(nil)))
}

func BenchmarkAuthenticateES256(b *testing.B) {
	k := newECKey(b)
	j, err := jwt.New(context.Background(), jwt.Config{PublicKey: &k.PublicKey, Algorithm: "ES256", Now: newFakeClock().Now})
	if err != nil {
		b.Fatal(err)
	}
	benchmarkAuthenticate(b, j, signToken(b, jwa.ES256(), k, "", claims(nil)))
}

func BenchmarkAuthenticateES256FromJWKS(b *testing.B) {
	ks := newKeyServer(b)
	k := newECKey(b)
	ks.serve(b, map[string]*ecdsa.PrivateKey{"k": k})
	j := newJWKSVerifier(b, ks.srv.URL, newFakeClock())
	benchmarkAuthenticate(b, j, signToken(b, jwa.ES256(), k, "k", claims(nil)))
}

func BenchmarkAuthenticateHS256Parallel(b *testing.B) {
	j, _ := newHS256(b, nil)
	tok := signToken(b, jwa.HS256(), testSecret, "", claims(nil))
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := j.Authenticate(context.Background(), tok); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
