package memory

// window is a conversation's replay window: the encoded data of its most
// recent events, oldest first, in a ring that grows on demand up to the
// configured event limit and is then reused, so a steady stream of events
// does not allocate.
//
// The events held are contiguous, so their sequence numbers are not stored:
// the newest has the conversation's last number.
type window struct {
	buf   [][]byte // ring storage; len(buf) is its capacity
	head  int      // index in buf of the oldest event
	n     int      // number of events held
	bytes int      // total length of the data held
}

// minRing is the first ring capacity allocated.
const minRing = 8

// push appends data as the newest event, then drops the oldest events while
// more than maxEvents are held or their data exceeds maxBytes. An event
// larger than maxBytes is therefore not held at all.
func (w *window) push(data []byte, maxEvents, maxBytes int) {
	if w.n == maxEvents {
		w.popOldest()
	}
	if w.n == len(w.buf) {
		w.grow(maxEvents)
	}
	i := w.head + w.n
	if i >= len(w.buf) {
		i -= len(w.buf)
	}
	w.buf[i] = data
	w.n++
	w.bytes += len(data)
	for w.bytes > maxBytes && w.n > 0 {
		w.popOldest()
	}
}

// popOldest drops the oldest event and releases its data.
func (w *window) popOldest() {
	w.bytes -= len(w.buf[w.head])
	w.buf[w.head] = nil
	w.head++
	if w.head == len(w.buf) {
		w.head = 0
	}
	w.n--
}

// grow enlarges the ring (doubling, capped at maxEvents), keeping order.
func (w *window) grow(maxEvents int) {
	size := min(max(2*len(w.buf), minRing), maxEvents)
	buf := make([][]byte, size)
	for i := range w.n {
		buf[i] = w.at(i)
	}
	w.buf = buf
	w.head = 0
}

// at returns the i-th oldest event held, 0 <= i < n.
func (w *window) at(i int) []byte {
	j := w.head + i
	if j >= len(w.buf) {
		j -= len(w.buf)
	}
	return w.buf[j]
}

// reset drops every event and the ring itself.
func (w *window) reset() {
	*w = window{}
}
