package main

import "sync"

// Ring keeps the last n values; older ones are overwritten, so memory stays bounded.
type Ring[T any] struct {
	mu   sync.RWMutex
	buf  []T
	next int
	full bool
}

func NewRing[T any](n int) *Ring[T] {
	if n < 1 {
		panic("ring: size must be ≥ 1")
	}
	return &Ring[T]{buf: make([]T, n)}
}

func (r *Ring[T]) Add(v T) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.buf[r.next] = v
	r.next = (r.next + 1) % len(r.buf)
	if r.next == 0 {
		r.full = true
	}
}

// Items returns the kept values, oldest first (a copy).
func (r *Ring[T]) Items() []T {
	r.mu.RLock()
	defer r.mu.RUnlock()
	if !r.full {
		return append([]T(nil), r.buf[:r.next]...)
	}
	out := make([]T, 0, len(r.buf))
	out = append(out, r.buf[r.next:]...)
	return append(out, r.buf[:r.next]...)
}

func (r *Ring[T]) Len() int {
	r.mu.RLock()
	defer r.mu.RUnlock()
	if r.full {
		return len(r.buf)
	}
	return r.next
}
