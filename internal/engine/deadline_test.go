package engine

import (
	"context"
	"errors"
	"testing"
	"time"
)

type deadlineKey struct{}

func TestLazyDeadlineBehavesAsWithTimeout(t *testing.T) {
	t.Run("live", func(t *testing.T) {
		parent := context.WithValue(context.Background(), deadlineKey{}, "v")
		ctx, cancel := withDeadline(parent, time.Hour)
		defer cancel()
		if ctx.Err() != nil {
			t.Fatalf("Err = %v", ctx.Err())
		}
		if d, ok := ctx.Deadline(); !ok || time.Until(d) < 59*time.Minute {
			t.Fatalf("Deadline = %v, %v", d, ok)
		}
		if ctx.Value(deadlineKey{}) != "v" {
			t.Fatal("the parent's value is lost")
		}
		select {
		case <-ctx.Done():
			t.Fatal("done early")
		default:
		}
		if ctx.Value(deadlineKey{}) != "v" {
			t.Fatal("the parent's value is lost once Done was called")
		}
	})
	t.Run("deadline passes without Done", func(t *testing.T) {
		ctx, cancel := withDeadline(context.Background(), -time.Millisecond) // already past
		defer cancel()
		if !errors.Is(ctx.Err(), context.DeadlineExceeded) {
			t.Fatalf("Err = %v", ctx.Err())
		}
		<-ctx.Done() // made after the deadline: closed at once
		if !errors.Is(ctx.Err(), context.DeadlineExceeded) {
			t.Fatalf("Err after Done = %v", ctx.Err())
		}
	})
	t.Run("deadline passes while waiting on Done", func(t *testing.T) {
		ctx, cancel := withDeadline(context.Background(), 5*time.Millisecond)
		defer cancel()
		<-ctx.Done()
		if !errors.Is(ctx.Err(), context.DeadlineExceeded) {
			t.Fatalf("Err = %v", ctx.Err())
		}
	})
	t.Run("the parent's earlier deadline", func(t *testing.T) {
		parent, cancelParent := context.WithTimeout(context.Background(), time.Minute)
		defer cancelParent()
		ctx, cancel := withDeadline(parent, time.Hour)
		defer cancel()
		pd, _ := parent.Deadline()
		if d, _ := ctx.Deadline(); !d.Equal(pd) {
			t.Fatalf("Deadline = %v, want the parent's %v", d, pd)
		}
	})
	for _, doneFirst := range []bool{false, true} {
		name := map[bool]string{false: "cancel", true: "cancel after Done"}[doneFirst]
		t.Run(name, func(t *testing.T) {
			ctx, cancel := withDeadline(context.Background(), time.Hour)
			var done <-chan struct{}
			if doneFirst {
				done = ctx.Done()
			}
			cancel()
			cancel() // more than once is fine
			if !errors.Is(ctx.Err(), context.Canceled) {
				t.Fatalf("Err = %v", ctx.Err())
			}
			if done == nil {
				done = ctx.Done()
			}
			<-done
		})
		name = map[bool]string{false: "parent cancelled", true: "parent cancelled after Done"}[doneFirst]
		t.Run(name, func(t *testing.T) {
			parent, cancelParent := context.WithCancelCause(context.Background())
			ctx, cancel := withDeadline(parent, time.Hour)
			defer cancel()
			var done <-chan struct{}
			if doneFirst {
				done = ctx.Done()
			}
			cause := errors.New("gone")
			cancelParent(cause)
			if done == nil {
				done = ctx.Done()
			}
			<-done
			if !errors.Is(ctx.Err(), context.Canceled) || !errors.Is(context.Cause(ctx), cause) {
				t.Fatalf("Err = %v, Cause = %v", ctx.Err(), context.Cause(ctx))
			}
		})
	}
	t.Run("a child context follows it", func(t *testing.T) {
		ctx, cancel := withDeadline(context.Background(), time.Hour)
		child, cancelChild := context.WithCancel(ctx)
		defer cancelChild()
		cancel()
		<-child.Done()
	})
}
