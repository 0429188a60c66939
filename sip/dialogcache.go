package sip

import (
	"bytes"
	"fmt"
	"sync"

	sipmsg "github.com/emiago/sipgo/sip"
)

// parsedDialog is a subscription dialog decoded once, with its URIs
// parsed, for the NOTIFYs that follow.
type parsedDialog struct {
	*subDialog
	raw                   []byte
	target, local, remote sipmsg.Uri
	event                 string
}

// dialogCache keeps parsed dialogs by subscription ID, so a NOTIFY fan-out
// does not decode JSON and parse three URIs per watcher. An entry is
// valid while the stored bytes are unchanged (a refresh replaces them).
type dialogCache struct {
	mu sync.Mutex
	m  map[string]*parsedDialog
}

func (c *dialogCache) get(id string, raw []byte) (*parsedDialog, error) {
	c.mu.Lock()
	pd := c.m[id]
	c.mu.Unlock()
	if pd != nil && bytes.Equal(pd.raw, raw) {
		return pd, nil
	}
	pd, err := parseDialog(raw)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	if c.m == nil {
		c.m = make(map[string]*parsedDialog)
	}
	c.m[id] = pd
	c.mu.Unlock()
	return pd, nil
}

func (c *dialogCache) drop(id string) {
	c.mu.Lock()
	delete(c.m, id)
	c.mu.Unlock()
}

func parseDialog(raw []byte) (*parsedDialog, error) {
	d, err := decodeSubDialog(raw)
	if err != nil {
		return nil, fmt.Errorf("dialog: %w", err)
	}
	pd := &parsedDialog{subDialog: d, raw: bytes.Clone(raw), event: "presence"}
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
