package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
)

// MongoDB updates one document atomically: concurrent $inc, $max or
// findAndModify calls on one document never lose each other's effect.
// FerretDB v1 runs such a command as a query followed by a separate write,
// so two concurrent updates of one document can lose one. The proxy puts
// that guarantee back for the tests: it forwards the wire protocol
// unchanged and runs the read-modify-write commands (update and
// findAndModify) one at a time. Everything else, reads and inserts
// included, still runs concurrently.

const (
	headerLen      = 16
	maxMessageLen  = 48 << 20 // MongoDB's maxMessageSizeBytes
	opMsg          = 2013
	msgMoreToCome  = 1 << 1
	msgChecksum    = 1 << 0
	sectionBody    = 0
	sectionDocSeq  = 1
	opCompressed   = 2012
	opcodeOffset   = 12
	msgFlagsOffset = headerLen
)

// serialized names the commands that read and then write a document.
var serialized = map[string]bool{"update": true, "findandmodify": true}

type proxy struct {
	backend string // FerretDB's own address

	writes sync.Mutex // held for one serialized command's round trip

	mu     sync.Mutex
	conns  map[net.Conn]struct{}
	closed bool
	wg     sync.WaitGroup
}

func newProxy(backend string) *proxy {
	return &proxy{backend: backend, conns: make(map[net.Conn]struct{})}
}

// serve accepts connections on ln until ctx ends, then closes every
// connection and waits for their goroutines.
func (p *proxy) serve(ctx context.Context, ln net.Listener) error {
	stop := context.AfterFunc(ctx, func() {
		ln.Close()
		p.mu.Lock()
		p.closed = true
		for c := range p.conns {
			c.Close()
		}
		p.mu.Unlock()
	})
	defer stop()
	defer p.wg.Wait()
	for {
		c, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("proxy accept: %w", err)
		}
		p.wg.Go(func() { p.relay(c) })
	}
}

// track registers c for closing at shutdown; false means shutdown began.
func (p *proxy) track(c net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return false
	}
	p.conns[c] = struct{}{}
	return true
}

func (p *proxy) untrack(c net.Conn) {
	p.mu.Lock()
	delete(p.conns, c)
	p.mu.Unlock()
	c.Close()
}

// relay forwards one client connection: each request is sent to FerretDB
// and its reply sent back before the next request is read, as the
// MongoDB drivers use a connection.
func (p *proxy) relay(client net.Conn) {
	if !p.track(client) {
		client.Close()
		return
	}
	defer p.untrack(client)
	server, err := net.Dial("tcp", p.backend)
	if err != nil {
		return
	}
	if !p.track(server) {
		server.Close()
		return
	}
	defer p.untrack(server)
	for {
		req, err := readMessage(client)
		if err != nil {
			return
		}
		if err := p.roundTrip(req, client, server); err != nil {
			return
		}
	}
}

func (p *proxy) roundTrip(req []byte, client, server net.Conn) error {
	if serializedCommand(req) {
		p.writes.Lock()
		defer p.writes.Unlock()
	}
	if _, err := server.Write(req); err != nil {
		return err
	}
	if moreToCome(req) {
		return nil // the client expects no reply
	}
	for {
		reply, err := readMessage(server)
		if err != nil {
			return err
		}
		if _, err := client.Write(reply); err != nil {
			return err
		}
		if !moreToCome(reply) {
			return nil
		}
	}
}

// readMessage reads one whole wire-protocol message.
func readMessage(r io.Reader) ([]byte, error) {
	var header [headerLen]byte
	if _, err := io.ReadFull(r, header[:]); err != nil {
		return nil, err
	}
	n := int(int32(binary.LittleEndian.Uint32(header[:4])))
	if n < headerLen || n > maxMessageLen {
		return nil, fmt.Errorf("message length %d out of range", n)
	}
	msg := make([]byte, n)
	copy(msg, header[:])
	if _, err := io.ReadFull(r, msg[headerLen:]); err != nil {
		return nil, err
	}
	return msg, nil
}

// moreToCome reports an OP_MSG sent with the moreToCome flag: a request
// that expects no reply, or a reply that more replies follow.
func moreToCome(msg []byte) bool {
	if opcode(msg) != opMsg || len(msg) < msgFlagsOffset+4 {
		return false
	}
	return binary.LittleEndian.Uint32(msg[msgFlagsOffset:])&msgMoreToCome != 0
}

func opcode(msg []byte) int32 {
	return int32(binary.LittleEndian.Uint32(msg[opcodeOffset:]))
}

// serializedCommand reports whether msg runs a read-modify-write command.
// A message it cannot read (compressed, legacy or malformed) counts as one:
// serializing it is merely slower.
func serializedCommand(msg []byte) bool {
	switch opcode(msg) {
	case opMsg:
		name, err := commandName(msg)
		return err != nil || serialized[string(bytes.ToLower([]byte(name)))]
	case opCompressed:
		return true
	default:
		return false
	}
}

// commandName returns the first key of an OP_MSG's body section, which
// names the command.
func commandName(msg []byte) (string, error) {
	if len(msg) < msgFlagsOffset+4 {
		return "", errors.New("short OP_MSG")
	}
	flags := binary.LittleEndian.Uint32(msg[msgFlagsOffset:])
	sections := msg[msgFlagsOffset+4:]
	if flags&msgChecksum != 0 {
		if len(sections) < 4 {
			return "", errors.New("short OP_MSG checksum")
		}
		sections = sections[:len(sections)-4]
	}
	for len(sections) > 0 {
		kind := sections[0]
		sections = sections[1:]
		if len(sections) < 4 {
			return "", errors.New("truncated OP_MSG section")
		}
		size := int(int32(binary.LittleEndian.Uint32(sections)))
		if size < 5 || size > len(sections) {
			return "", errors.New("bad OP_MSG section size")
		}
		switch kind {
		case sectionBody:
			return firstKey(sections[:size])
		case sectionDocSeq:
			sections = sections[size:]
		default:
			return "", fmt.Errorf("unknown OP_MSG section kind %d", kind)
		}
	}
	return "", errors.New("OP_MSG without a body section")
}

// firstKey returns the name of a BSON document's first element.
func firstKey(doc []byte) (string, error) {
	// int32 length, element type, then the key as a NUL-terminated string.
	if len(doc) < 6 || doc[4] == 0 {
		return "", errors.New("empty BSON document")
	}
	key := doc[5:]
	end := bytes.IndexByte(key, 0)
	if end < 0 {
		return "", errors.New("unterminated BSON key")
	}
	return string(key[:end]), nil
}
