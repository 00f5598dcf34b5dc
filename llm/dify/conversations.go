package dify

import (
	"container/list"
	"sync"
)

// convKey identifies a conversation for Dify, whose conversations belong
// to a user.
type convKey struct{ user, conversation string }

// conversations maps chatbox conversations to Dify conversation ids,
// keeping at most max of them and evicting the least recently used. It is
// safe for concurrent use.
type conversations struct {
	max int

	mu    sync.Mutex
	order *list.List // of *convEntry, most recently used first
	byKey map[convKey]*list.Element
}

type convEntry struct {
	key convKey
	id  string
}

func newConversations(max int) *conversations {
	return &conversations{max: max, order: list.New(), byKey: make(map[convKey]*list.Element)}
}

func (c *conversations) get(k convKey) (string, bool) {
	if k.conversation == "" {
		return "", false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.byKey[k]
	if !ok {
		return "", false
	}
	c.order.MoveToFront(el)
	return el.Value.(*convEntry).id, true
}

func (c *conversations) put(k convKey, id string) {
	if k.conversation == "" || id == "" {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.byKey[k]; ok {
		el.Value.(*convEntry).id = id
		c.order.MoveToFront(el)
		return
	}
	c.byKey[k] = c.order.PushFront(&convEntry{key: k, id: id})
	for c.order.Len() > c.max {
		oldest := c.order.Back()
		c.order.Remove(oldest)
		delete(c.byKey, oldest.Value.(*convEntry).key)
	}
}

func (c *conversations) forget(k convKey) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.byKey[k]; ok {
		c.order.Remove(el)
		delete(c.byKey, k)
	}
}

func (c *conversations) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.order.Len()
}
