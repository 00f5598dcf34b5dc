package registry

// Test-only access to the registry's internals: probes the engine never
// needs, kept out of the production code.

func Get[V any](r *Registry[V], key string) (V, bool) { return r.get(key) }
func Touch[V any](r *Registry[V], key string)         { r.touch(key) }
func Remove[V any](r *Registry[V], key string) bool   { return r.remove(key) }

// get returns the value for key without taking a reference or marking the
// entry as used. The value may be evicted right after Get returns; use
// Acquire to keep it.
func (r *Registry[V]) get(key string) (V, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if e, ok := r.entries[key]; ok {
		return e.val, true
	}
	var zero V
	return zero, false
}

// touch marks key's entry as used now, restarting its idle time. It does
// nothing if key is absent.
func (r *Registry[V]) touch(key string) {
	now := r.now()
	r.mu.Lock()
	defer r.mu.Unlock()
	e, ok := r.entries[key]
	if !ok {
		return
	}
	e.lastUsed = now
	if e.refs == 0 {
		r.idle.MoveToFront(e.elem)
	}
}

// remove deletes key's entry if it exists and is unreferenced, and reports
// whether it did. OnEvict is not called.
func (r *Registry[V]) remove(key string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	e, ok := r.entries[key]
	if !ok || e.refs > 0 {
		return false
	}
	r.drop(e)
	return true
}
