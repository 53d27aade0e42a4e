package payload

import (
	"container/list"
	"crypto/sha256"
	"sync"
)

// ImageCache remembers the images Build scaled down. A client resends the
// whole conversation on every turn, so a screenshot in the history would
// otherwise be decoded and scaled again each time (hundreds of
// milliseconds and tens of megabytes per image). It holds only the small
// results, keyed by a hash of the client's bytes and the budget, up to a
// byte limit, evicting the least recently used. Safe for concurrent use; a
// nil *ImageCache caches nothing.
type ImageCache struct {
	mu    sync.Mutex
	limit int
	size  int
	lru   *list.List // of *cachedImage, most recent first
	items map[imageKey]*list.Element
}

type imageKey struct {
	sum    [sha256.Size]byte
	budget int
}

type cachedImage struct {
	key    imageKey
	format string
	data   string
	note   string
}

// NewImageCache returns a cache holding at most limit bytes of scaled
// images.
func NewImageCache(limit int) *ImageCache {
	return &ImageCache{limit: limit, lru: list.New(), items: map[imageKey]*list.Element{}}
}

// get returns the scaled copy stored under key.
func (c *ImageCache) get(key imageKey) (*cachedImage, bool) {
	if c == nil {
		return nil, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.items[key]
	if !ok {
		return nil, false
	}
	c.lru.MoveToFront(el)
	return el.Value.(*cachedImage), true
}

// put stores a scaled copy, evicting the least recently used beyond the
// limit. Only scaled images are stored: one that passes unchanged costs a
// header read, not a decode.
func (c *ImageCache) put(e *cachedImage) {
	n := len(e.data)
	if c == nil || n > c.limit {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.items[e.key]; ok {
		return // a concurrent request scaled the same image
	}
	c.items[e.key] = c.lru.PushFront(e)
	c.size += n
	for c.size > c.limit {
		last := c.lru.Back()
		old := last.Value.(*cachedImage)
		c.lru.Remove(last)
		delete(c.items, old.key)
		c.size -= len(old.data)
	}
}

// hashString hashes s through a small buffer rather than a copy of a
// string that may be megabytes long.
func hashString(s string) [sha256.Size]byte {
	h := sha256.New()
	var buf [32 << 10]byte
	for len(s) > 0 {
		n := copy(buf[:], s)
		h.Write(buf[:n]) // a hash's Write never fails
		s = s[n:]
	}
	var sum [sha256.Size]byte
	h.Sum(sum[:0])
	return sum
}
