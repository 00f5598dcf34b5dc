package chatbox_test

// jwtAttacks are added once the JWT verifier is wired into the suite's
// server.
func jwtAttacks() []attack { return nil }
