package registry_test

import (
	"strconv"
	"testing"

	"github.com/chatboxsdk/chatbox/internal/registry"
)

func BenchmarkAcquireRelease(b *testing.B) {
	create := func() *conv { return &conv{} }

	b.Run("existing-key", func(b *testing.B) {
		r := newRegistry(b, registry.Config{})
		_, hold := acquire(b, r, "conv-1")
		defer hold()
		b.ReportAllocs()
		for b.Loop() {
			_, release, err := r.Acquire("conv-1", create)
			if err != nil {
				b.Fatal(err)
			}
			release()
		}
	})

	b.Run("existing-key-parallel", func(b *testing.B) {
		r := newRegistry(b, registry.Config{})
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				_, release, err := r.Acquire("conv-1", create)
				if err != nil {
					b.Error(err)
					return
				}
				release()
			}
		})
	})

	b.Run("10k-keys", func(b *testing.B) {
		keys := make([]string, 10_000)
		for i := range keys {
			keys[i] = "conv-" + strconv.Itoa(i)
		}
		r := newRegistry(b, registry.Config{})
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			_, release, err := r.Acquire(keys[i%len(keys)], create)
			if err != nil {
				b.Fatal(err)
			}
			release()
			i++
		}
	})

	// Every Acquire creates an entry and evicts the least recently used.
	b.Run("new-keys-evicting", func(b *testing.B) {
		keys := make([]string, 1_000_000)
		for i := range keys {
			keys[i] = "conv-" + strconv.Itoa(i)
		}
		r := newRegistry(b, registry.Config{MaxEntries: 10_000})
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			_, release, err := r.Acquire(keys[i%len(keys)], create)
			if err != nil {
				b.Fatal(err)
			}
			release()
			i++
		}
	})
}
