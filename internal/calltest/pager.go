package calltest

import (
	"context"
	"fmt"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
)

// Page is a MESSAGE (RFC 3428) an agent received outside any call, as a
// visitor's chat reaches it.
type Page struct {
	// From is the sender's URI, where answers go.
	From sip.Uri
	// Display is the sender's display name.
	Display string
	// ContentType is the body's type: text/plain, or
	// application/im-iscomposing+xml (RFC 3994).
	ContentType string
	Body        string
}

// Pages delivers every MESSAGE received outside a call.
func (a *Agent) Pages() <-chan Page { return a.pages }

// onPage takes a MESSAGE outside any dialog, as a softphone shows it,
// unless the agent refuses text (RefuseChat).
func (a *Agent) onPage(req *sip.Request, tx sip.ServerTransaction) {
	if a.opts.RefuseChat != 0 {
		respond(tx, req, a.opts.RefuseChat, "No text here")
		return
	}
	respond(tx, req, 200, "OK")
	p := Page{From: req.From().Address, Display: req.From().DisplayName, Body: string(req.Body())}
	if ct := req.ContentType(); ct != nil {
		p.ContentType = ct.Value()
	}
	send(a, a.pages, p)
}

// SendPage sends a MESSAGE of contentType to uri through the server,
// outside any call, as softphones answer a MESSAGE, and returns the final
// status (after a digest challenge, answered with the agent's password).
func (a *Agent) SendPage(ctx context.Context, uri sip.Uri, contentType, body string) (int, error) {
	req := sip.NewRequest(sip.MESSAGE, uri)
	from := &sip.FromHeader{Address: a.aor, Params: sip.NewParams()}
	from.Params.Add("tag", sip.GenerateTagN(10))
	req.AppendHeader(from)
	req.AppendHeader(&sip.ToHeader{Address: uri, Params: sip.NewParams()})
	req.AppendHeader(sip.NewHeader("Content-Type", contentType))
	req.SetBody([]byte(body))
	req.SetDestination(a.opts.Server)
	res, err := do(ctx, a.client, req)
	if err == nil && (res.StatusCode == 401 || res.StatusCode == 407) && a.opts.Password != "" {
		res, err = a.client.DoDigestAuth(ctx, req, res, sipgo.DigestAuth{Username: a.opts.User, Password: a.opts.Password})
		if err == nil && res == nil {
			err = errNoAnswer
		}
	}
	if err != nil {
		return 0, fmt.Errorf("MESSAGE %s: %w", uri.String(), err)
	}
	return res.StatusCode, nil
}
