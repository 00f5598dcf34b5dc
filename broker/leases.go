package broker

import (
	"context"
	"time"
)

// Leases coordinate work that must happen once across every instance that
// shares a broker: the one reply a conversation runs at a time, and the
// finishing of a reply whose instance died. A lease is held by a holder
// until its TTL lapses unless renewed; an instance that stops (a crash, a
// lost network) stops renewing, so its leases lapse by themselves and
// another instance takes over what they covered.
//
// Brokers shared between instances implement Leases (broker/redis); the
// memory broker implements it for one process. A Server uses it when its
// Broker implements it.
type Leases interface {
	// AcquireLease takes the lease key for holder until ttl from now. It
	// reports false while another holder has a lease on key, unexpired or
	// lapsed: a lapsed lease stays until TakeLapsedLeases hands it to the
	// one caller that finishes what it covered (or its holder releases it),
	// so no work a dead holder left is forgotten. Acquiring a lease the
	// holder already has renews it.
	AcquireLease(ctx context.Context, key, holder string, ttl time.Duration) (bool, error)

	// RenewLease extends holder's lease on key to ttl from now. It reports
	// false when the lease lapsed or another holder has it: the holder must
	// then stop the work the lease covers.
	RenewLease(ctx context.Context, key, holder string, ttl time.Duration) (bool, error)

	// ReleaseLease ends holder's lease on key. Releasing a lease the holder
	// does not have does nothing.
	ReleaseLease(ctx context.Context, key, holder string) error

	// TakeLapsedLeases removes and returns up to max leases whose TTL
	// lapsed, oldest first. Each lapsed lease is returned to exactly one
	// caller across every instance: that caller finishes what its holder
	// left.
	TakeLapsedLeases(ctx context.Context, max int) ([]Lease, error)
}

// Lease is a lapsed lease returned by TakeLapsedLeases.
type Lease struct {
	Key    string
	Holder string
}
