package httpstream

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
)

// MaxEventBytes bounds one server-sent event (all its data lines), so a
// broken upstream cannot grow memory without limit.
const MaxEventBytes = 1 << 20

// ErrEventTooLarge is returned (wrapped) by SSEReader.Next for an event
// over MaxEventBytes.
var ErrEventTooLarge = errors.New("server-sent event too large")

// SSEReader reads server-sent events (the text/event-stream format):
// "event:" and "data:" fields, events ended by a blank line, comments
// (lines starting with ':') and other fields ignored.
type SSEReader struct {
	r    *bufio.Reader
	data []byte
}

// NewSSEReader returns a reader of the events in r.
func NewSSEReader(r io.Reader) *SSEReader {
	return &SSEReader{r: bufio.NewReaderSize(r, 16<<10)}
}

// Next returns the next event's name ("" when it had no event field) and
// its data lines joined with "\n". The data slice is valid until the next
// call. At the end of the input it returns io.EOF; an event cut short by
// the end of the input is dropped, as the format requires.
func (s *SSEReader) Next() (event string, data []byte, err error) {
	s.data = s.data[:0]
	hasData := false
	for {
		line, err := s.line()
		if err != nil {
			return "", nil, err
		}
		if len(line) == 0 {
			if hasData || event != "" {
				return event, s.data, nil
			}
			continue
		}
		if line[0] == ':' {
			continue
		}
		name, value, _ := bytes.Cut(line, []byte(":"))
		value = bytes.TrimPrefix(value, []byte(" "))
		switch string(name) {
		case "event":
			event = string(value)
		case "data":
			if hasData {
				s.data = append(s.data, '\n')
			}
			hasData = true
			if len(s.data)+len(value) > MaxEventBytes {
				return "", nil, fmt.Errorf("%w (over %d bytes)", ErrEventTooLarge, MaxEventBytes)
			}
			s.data = append(s.data, value...)
		}
	}
}

// line reads one line without its end (\n or \r\n), bounded by
// MaxEventBytes.
func (s *SSEReader) line() ([]byte, error) {
	var long []byte
	for {
		frag, err := s.r.ReadSlice('\n')
		if err == bufio.ErrBufferFull {
			if len(long)+len(frag) > MaxEventBytes {
				return nil, fmt.Errorf("%w (a line over %d bytes)", ErrEventTooLarge, MaxEventBytes)
			}
			long = append(long, frag...)
			continue
		}
		if err != nil {
			if err == io.EOF && len(frag)+len(long) > 0 {
				err = io.ErrUnexpectedEOF
			}
			return nil, err
		}
		if long != nil {
			frag = append(long, frag...)
		}
		frag = bytes.TrimSuffix(frag, []byte("\n"))
		return bytes.TrimSuffix(frag, []byte("\r")), nil
	}
}
