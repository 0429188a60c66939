package sip

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	sipmsg "github.com/emiago/sipgo/sip"

	"github.com/switchboard/switchboard/presence"
)

// Publisher sends PUBLISH requests (RFC 3903) for presentities to one
// presence server, as the ACD does for its groups and agents, for the
// presence and dialog event packages. It keeps each publication's entity
// tag: later PUBLISHes modify it with SIP-If-Match, and a 412 (the server
// lost it) starts a fresh one.
type Publisher struct {
	srv     *Server
	target  sipmsg.Uri
	user    string
	auth    *digestClient
	expires time.Duration

	mu    sync.Mutex
	etags map[string]string // by event and presentity
}

// NewPublisher returns a Publisher to the presence server at target (a
// SIP URI such as "sip:10.0.0.5:5060;transport=tcp"), authenticating as
// user when challenged, with publications that lapse after expires unless
// published again. It sends through srv, which must be started.
func NewPublisher(srv *Server, target, user, password string, expires time.Duration) (*Publisher, error) {
	p := &Publisher{srv: srv, user: user, auth: &digestClient{user: user, password: password}, expires: expires,
		etags: map[string]string{}}
	if err := sipmsg.ParseUri(target, &p.target); err != nil {
		return nil, fmt.Errorf("presence server %q: %w", target, err)
	}
	return p, nil
}

// Publish implements acd.Publisher.
func (p *Publisher) Publish(ctx context.Context, event, presentity string, doc []byte) error {
	key := event + " " + presentity
	p.mu.Lock()
	etag := p.etags[key]
	p.mu.Unlock()
	res, err := p.send(ctx, event, presentity, etag, doc)
	if err == nil && res.StatusCode == 412 && etag != "" {
		res, err = p.send(ctx, event, presentity, "", doc) // RFC 3903 §6: start over
	}
	if err != nil {
		return fmt.Errorf("publish %s %s: %w", event, presentity, err)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if res.StatusCode != 200 {
		delete(p.etags, key)
		return fmt.Errorf("publish %s %s: %d %s", event, presentity, res.StatusCode, res.Reason)
	}
	p.etags[key] = sipHeader(res, "SIP-ETag")
	return nil
}

// send sends one PUBLISH, signed with the last challenge's nonce when
// there is one, answering a new challenge once.
func (p *Publisher) send(ctx context.Context, event, presentity, etag string, doc []byte) (*sipmsg.Response, error) {
	return p.auth.do(ctx, p.srv, func() (*sipmsg.Request, error) { return p.request(event, presentity, etag, doc) })
}

func (p *Publisher) request(event, presentity, etag string, doc []byte) (*sipmsg.Request, error) {
	var ruri sipmsg.Uri
	if err := sipmsg.ParseUri(presentity, &ruri); err != nil {
		return nil, err
	}
	req := sipmsg.NewRequest(sipmsg.PUBLISH, ruri)
	from := &sipmsg.FromHeader{Address: sipmsg.Uri{Scheme: "sip", User: p.user, Host: ruri.Host}}
	from.Params.Add("tag", sipmsg.GenerateTagN(16))
	req.AppendHeader(from)
	req.AppendHeader(&sipmsg.ToHeader{Address: ruri})
	req.AppendHeader(sipmsg.NewHeader("Event", event))
	req.AppendHeader(sipmsg.NewHeader("Expires", strconv.Itoa(int(p.expires.Seconds()))))
	if etag != "" {
		req.AppendHeader(sipmsg.NewHeader("SIP-If-Match", etag))
	}
	req.AppendHeader(sipmsg.NewHeader("Content-Type", presence.ContentType(event)))
	req.SetBody(doc)
	sendTo(req, p.target)
	return req, nil
}

// authAllowance is room for the Authorization header a challenge adds
// after the request is built.
const authAllowance = 400

// sendTo directs req to the server at target, a SIP URI whose transport
// parameter (UDP by default) and port (the transport's default) it honours.
// A request too large for UDP with its credentials goes over TCP to the
// same host and port (RFC 3261 §18.1.1): a group's document with its
// figures passes 1300 bytes.
func sendTo(req *sipmsg.Request, target sipmsg.Uri) {
	transport := "UDP"
	if t, ok := target.UriParams.Get("transport"); ok {
		transport = strings.ToUpper(t)
	}
	if transport == "UDP" && messageSize(req)+authAllowance > udpLimit {
		transport = "TCP"
	}
	req.SetTransport(transport)
	port := target.Port
	if port == 0 {
		port = sipmsg.DefaultPort(transport)
	}
	req.SetDestination(net.JoinHostPort(target.Host, strconv.Itoa(port)))
}

func sipHeader(m interface{ GetHeader(string) sipmsg.Header }, name string) string {
	if h := m.GetHeader(name); h != nil {
		return h.Value()
	}
	return ""
}
