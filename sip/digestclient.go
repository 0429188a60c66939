package sip

import (
	"context"
	"sync"

	sipmsg "github.com/emiago/sipgo/sip"
	"github.com/icholy/digest"
)

// digestClient signs our own requests to one server as one account (the
// ACD's PUBLISHes, the web role's SUBSCRIBEs). It keeps the last challenge
// and reuses its nonce with a counting nc (RFC 7616 §3.4.5), so that steady
// traffic is answered at once instead of being challenged every time; a
// 401 (stale nonce, a restarted server) brings a new challenge and one
// retry. It is safe for concurrent use: each request takes its own nc.
type digestClient struct {
	user, password string

	mu     sync.Mutex
	chal   *digest.Challenge // nil until the first 401 or 407
	header string            // Authorization, or Proxy-Authorization after a 407
	nc     int               // last nonce count used with chal
}

// do sends the request that build makes, signed when a challenge is known,
// and answers a 401 or 407 once with the fresh challenge. build must make
// a new request each time (a new transaction).
func (d *digestClient) do(ctx context.Context, srv *Server, build func() (*sipmsg.Request, error)) (*sipmsg.Response, error) {
	for attempt := 0; ; attempt++ {
		req, err := build()
		if err != nil {
			return nil, err
		}
		if err := d.sign(req); err != nil {
			return nil, err
		}
		res, err := srv.do(ctx, req)
		if err != nil || (res.StatusCode != 401 && res.StatusCode != 407) || attempt > 0 {
			return res, err
		}
		if !d.learn(res) {
			return res, nil
		}
	}
}

// sign adds credentials for the known challenge, with the next nonce count.
func (d *digestClient) sign(req *sipmsg.Request) error {
	d.mu.Lock()
	chal, header := d.chal, d.header
	d.nc++
	nc := d.nc
	d.mu.Unlock()
	if chal == nil {
		return nil
	}
	cred, err := digest.Digest(chal, digest.Options{Method: string(req.Method), URI: req.Recipient.String(),
		Username: d.user, Password: d.password, Count: nc})
	if err != nil {
		return err
	}
	req.AppendHeader(sipmsg.NewHeader(header, cred.String()))
	return nil
}

// learn takes the first challenge of a 401 or 407 we can answer (RFC 8760
// §2.4: the server lists them by preference) and reports whether there
// was one.
func (d *digestClient) learn(res *sipmsg.Response) bool {
	name, header := "WWW-Authenticate", "Authorization"
	if res.StatusCode == 407 {
		name, header = "Proxy-Authenticate", "Proxy-Authorization"
	}
	for _, h := range res.GetHeaders(name) {
		chal, err := digest.ParseChallenge(h.Value())
		if err != nil || !digest.CanDigest(chal) {
			continue
		}
		d.mu.Lock()
		d.chal, d.header, d.nc = chal, header, 0
		d.mu.Unlock()
		return true
	}
	return false
}
