package sip

import (
	"fmt"
	"sync"

	sipmsg "github.com/emiago/sipgo/sip"
)

// cachedDialog is a subscription dialog decoded once, for the NOTIFYs
// that follow.
type cachedDialog struct {
	*subDialog
	sum uint64 // of the stored bytes it was decoded from (rawSum)
}

// rawSum tells a dialog's stored bytes from others (FNV-1a, 64 bits): the
// cache keeps it rather than a second copy of the bytes, which the
// presence service keeps already.
func rawSum(raw []byte) uint64 { return fnv1a(fnvOffset, raw) }

// dialogCache keeps decoded dialogs by subscription ID, so a NOTIFY
// fan-out does not decode JSON per watcher. An entry is
// valid while the stored bytes are unchanged (a refresh replaces them):
// their checksum is compared.
// The SUBSCRIBE handlers put what they build; entries are decoded from
// the stored bytes only after a restart.
type dialogCache struct {
	mu sync.Mutex
	m  map[string]*cachedDialog
}

func (c *dialogCache) get(id string, raw []byte) (*cachedDialog, error) {
	c.mu.Lock()
	pd := c.m[id]
	c.mu.Unlock()
	if pd != nil && pd.sum == rawSum(raw) {
		return pd, nil
	}
	d, err := decodeSubDialog(raw)
	if err != nil {
		return nil, fmt.Errorf("dialog: %w", err)
	}
	if pd, err = newCachedDialog(d, raw); err != nil {
		return nil, err
	}
	c.store(id, pd)
	return pd, nil
}

// put caches d, just created or changed, under id, with raw its encoding.
func (c *dialogCache) put(id string, d *subDialog, raw []byte) error {
	pd, err := newCachedDialog(d, raw)
	if err != nil {
		return err
	}
	c.store(id, pd)
	return nil
}

func (c *dialogCache) store(id string, pd *cachedDialog) {
	c.mu.Lock()
	if c.m == nil {
		c.m = make(map[string]*cachedDialog)
	}
	c.m[id] = pd
	c.mu.Unlock()
}

func (c *dialogCache) drop(id string) {
	c.mu.Lock()
	delete(c.m, id)
	c.mu.Unlock()
}

// newCachedDialog checks that d's URIs parse, which every NOTIFY's
// recipient needs, and caches it with the checksum of raw.
func newCachedDialog(d *subDialog, raw []byte) (*cachedDialog, error) {
	for _, text := range []string{d.RemoteTarget, d.LocalURI, d.RemoteURI} {
		var u sipmsg.Uri
		if err := sipmsg.ParseUri(text, &u); err != nil {
			return nil, fmt.Errorf("dialog uri %q: %w", text, err)
		}
	}
	return &cachedDialog{subDialog: d, sum: rawSum(raw)}, nil
}
