package engine

// Control events travel on a conversation's feed like its other events but
// are meant for the instances, not the clients: stop, takeover and end must
// reach the reply wherever it runs, and a typing signal must reach every
// socket but its sender's. They are broker signals (no sequence number, not
// replayed) whose first byte, 0, can never start an encoded frame (JSON),
// so a feed tells them apart without parsing: the kind is the second byte.
//
//	0x00 kind len(origin) origin payload

// controlKind says what a control event asks for.
type controlKind byte

const (
	controlStop     controlKind = iota + 1 // stop the running reply (finish reason abort)
	controlHandoff                         // an operator took over (finish reason handoff)
	controlEnd                             // the conversation ended (finish reason abort)
	controlTyping                          // payload is a typing frame for the other sockets
	controlAwaiting                        // payload is the id of a reply now waiting for approvals
	controlAnswered                        // payload is the id of a reply no longer waiting
)

const controlMarker = 0x00

type control struct {
	kind    controlKind
	origin  string // the sending socket's ref (typing), so it is not echoed back
	payload []byte
}

func (c control) encode() []byte {
	b := make([]byte, 0, 3+len(c.origin)+len(c.payload))
	b = append(b, controlMarker, byte(c.kind), byte(len(c.origin)))
	b = append(b, c.origin...)
	return append(b, c.payload...)
}

// decodeControl reads a control event; ok is false for any other event.
func decodeControl(data []byte) (control, bool) {
	if len(data) < 3 || data[0] != controlMarker {
		return control{}, false
	}
	n := int(data[2])
	if len(data) < 3+n {
		return control{}, false
	}
	kind := controlKind(data[1])
	if kind < controlStop || kind > controlAnswered {
		return control{}, false
	}
	return control{kind: kind, origin: string(data[3 : 3+n]), payload: data[3+n:]}, true
}

// cause is the cancellation cause a stop, handoff or end gives the reply.
func (c control) cause() error {
	switch c.kind {
	case controlHandoff:
		return errHandoff
	case controlEnd:
		return errEnded
	default:
		return errStopped
	}
}
