package main

import (
	"context"
	"encoding/binary"
	"net"
	"sync"
	"sync/atomic"
	"testing"
)

// opMsgCommand builds an OP_MSG whose body is {name: 1}.
func opMsgCommand(requestID int32, name string, flags uint32) []byte {
	doc := binary.LittleEndian.AppendUint32(nil, 0)
	doc = append(doc, 0x10) // int32 element
	doc = append(doc, name...)
	doc = append(doc, 0)
	doc = binary.LittleEndian.AppendUint32(doc, 1)
	doc = append(doc, 0)
	binary.LittleEndian.PutUint32(doc, uint32(len(doc)))

	msg := make([]byte, headerLen)
	binary.LittleEndian.PutUint32(msg[4:], uint32(requestID))
	binary.LittleEndian.PutUint32(msg[opcodeOffset:], opMsg)
	msg = binary.LittleEndian.AppendUint32(msg, flags)
	// A document sequence before the body, as the spec allows.
	seq := append(binary.LittleEndian.AppendUint32(nil, 0), "documents\x00"...)
	binary.LittleEndian.PutUint32(seq, uint32(len(seq)))
	msg = append(msg, sectionDocSeq)
	msg = append(msg, seq...)
	msg = append(msg, sectionBody)
	msg = append(msg, doc...)
	binary.LittleEndian.PutUint32(msg, uint32(len(msg)))
	return msg
}

func TestCommandName(t *testing.T) {
	for _, name := range []string{"update", "findAndModify", "find", "insert", "hello"} {
		got, err := commandName(opMsgCommand(1, name, 0))
		if err != nil || got != name {
			t.Errorf("commandName(%q) = %q, %v", name, got, err)
		}
	}
	if !serializedCommand(opMsgCommand(1, "findAndModify", 0)) || !serializedCommand(opMsgCommand(1, "update", 0)) {
		t.Error("update and findAndModify must be serialized")
	}
	if serializedCommand(opMsgCommand(1, "find", 0)) || serializedCommand(opMsgCommand(1, "insert", 0)) {
		t.Error("find and insert must not be serialized")
	}
	if !moreToCome(opMsgCommand(1, "insert", msgMoreToCome)) || moreToCome(opMsgCommand(1, "insert", 0)) {
		t.Error("moreToCome misreads the flag")
	}
	bad := opMsgCommand(1, "find", 0)
	bad = bad[:len(bad)-3]
	binary.LittleEndian.PutUint32(bad, uint32(len(bad)))
	if !serializedCommand(bad) {
		t.Error("an unreadable OP_MSG must count as serialized")
	}
}

// TestProxySerializesUpdates runs updates from many connections through
// the proxy against a backend that holds each update until a find has
// gone through: the backend never sees two updates at once, and finds are
// not held back by an update in progress.
func TestProxySerializesUpdates(t *testing.T) {
	backendLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var (
		inflight, maxInflight atomic.Int32
		finds                 = make(chan struct{}, 64)
		backendWG             sync.WaitGroup
	)
	backendWG.Go(func() {
		for {
			c, err := backendLn.Accept()
			if err != nil {
				return
			}
			backendWG.Go(func() {
				defer c.Close()
				for {
					req, err := readMessage(c)
					if err != nil {
						return
					}
					name, _ := commandName(req)
					if name == "update" {
						n := inflight.Add(1)
						for m := maxInflight.Load(); n > m && !maxInflight.CompareAndSwap(m, n); m = maxInflight.Load() {
						}
						<-finds
						inflight.Add(-1)
					} else {
						finds <- struct{}{}
					}
					if _, err := c.Write(opMsgCommand(2, "ok", 0)); err != nil {
						return
					}
				}
			})
		}
	})

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- newProxy(backendLn.Addr().String()).serve(ctx, ln) }()

	call := func(c net.Conn, name string) {
		if _, err := c.Write(opMsgCommand(1, name, 0)); err != nil {
			t.Error(err)
			return
		}
		if _, err := readMessage(c); err != nil {
			t.Error(err)
		}
	}
	const updaters = 8
	var clients sync.WaitGroup
	for range updaters {
		clients.Go(func() {
			c, err := net.Dial("tcp", ln.Addr().String())
			if err != nil {
				t.Error(err)
				return
			}
			defer c.Close()
			call(c, "update")
		})
	}
	// One find releases one update; each find passes while updates wait.
	reader, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	for range updaters {
		call(reader, "find")
	}
	clients.Wait()
	reader.Close()

	if m := maxInflight.Load(); m != 1 {
		t.Errorf("backend saw %d updates at once, want 1", m)
	}
	cancel()
	if err := <-served; err != nil {
		t.Errorf("serve: %v", err)
	}
	backendLn.Close()
	backendWG.Wait()
}
