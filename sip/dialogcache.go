package sip

import (
	"fmt"
	"sync"

	sipmsg "github.com/emiago/sipgo/sip"
)

// parsedDialog is a subscription dialog decoded once, with its URIs
// parsed, for the NOTIFYs that follow.
type parsedDialog struct {
	*subDialog
	sum                   uint64 // of the stored bytes it was decoded from (rawSum)
	target, local, remote sipmsg.Uri
	event                 string
}

// rawSum tells a dialog's stored bytes from others (FNV-1a, 64 bits): the
// cache keeps it rather than a second copy of the bytes, which the
// presence service keeps already.
func rawSum(raw []byte) uint64 { return fnv1a(fnvOffset, raw) }

// dialogCache keeps parsed dialogs by subscription ID, so a NOTIFY fan-out
// does not decode JSON and parse three URIs per watcher. An entry is
// valid while the stored bytes are unchanged (a refresh replaces them):
// their checksum is compared.
// The SUBSCRIBE handlers put what they build; entries are decoded from
// the stored bytes only after a restart.
type dialogCache struct {
	mu sync.Mutex
	m  map[string]*parsedDialog
}

func (c *dialogCache) get(id string, raw []byte) (*parsedDialog, error) {
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
	if pd, err = newParsedDialog(d, raw); err != nil {
		return nil, err
	}
	c.store(id, pd)
	return pd, nil
}

// put caches d, just created or changed, under id, with raw its encoding.
func (c *dialogCache) put(id string, d *subDialog, raw []byte) error {
	pd, err := newParsedDialog(d, raw)
	if err != nil {
		return err
	}
	c.store(id, pd)
	return nil
}

func (c *dialogCache) store(id string, pd *parsedDialog) {
	c.mu.Lock()
	if c.m == nil {
		c.m = make(map[string]*parsedDialog)
	}
	c.m[id] = pd
	c.mu.Unlock()
}

func (c *dialogCache) drop(id string) {
	c.mu.Lock()
	delete(c.m, id)
	c.mu.Unlock()
}

func newParsedDialog(d *subDialog, raw []byte) (*parsedDialog, error) {
	pd := &parsedDialog{subDialog: d, sum: rawSum(raw), event: "presence"}
	for _, u := range []struct {
		text string
		dst  *sipmsg.Uri
	}{{d.RemoteTarget, &pd.target}, {d.LocalURI, &pd.local}, {d.RemoteURI, &pd.remote}} {
		if err := sipmsg.ParseUri(u.text, u.dst); err != nil {
			return nil, fmt.Errorf("dialog uri %q: %w", u.text, err)
		}
	}
	if d.EventID != "" {
		pd.event += ";id=" + d.EventID
	}
	return pd, nil
}
