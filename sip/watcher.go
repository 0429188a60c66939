package sip

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	sipmsg "github.com/emiago/sipgo/sip"
)

// Watcher subscribes to presentities on a remote presence server (RFC 6665,
// RFC 3856) and keeps the latest document of each: the web role uses it
// when the presence server runs on another host. Each subscription is a
// dialog of its own, refreshed inside that dialog before it expires, and
// made anew when the server ends it or a refresh fails.
type Watcher struct {
	srv     *Server
	target  sipmsg.Uri
	user    string
	auth    *digestClient
	expires time.Duration

	mu   sync.Mutex
	subs map[string]*watch // by presentity
	byID map[string]*watch // by Call-ID
}

// watch is our side of one subscription dialog.
type watch struct {
	presentity string
	callID     string
	fromTag    string
	toTag      string // empty until the first 2xx
	cseq       uint32
	refreshAt  time.Time // zero: subscribe (again) at once
	doc        []byte
}

// NewWatcher returns a Watcher of presentities on the presence server at
// target ("sip:10.0.0.5:5060"), authenticating as user when challenged.
// srv receives the NOTIFYs; call ServeWatcher on it before it starts.
func NewWatcher(srv *Server, target, user, password string, presentities []string) (*Watcher, error) {
	w := &Watcher{srv: srv, user: user, auth: &digestClient{user: user, password: password}, expires: time.Hour,
		subs: map[string]*watch{}, byID: map[string]*watch{}}
	if err := sipmsg.ParseUri(target, &w.target); err != nil {
		return nil, fmt.Errorf("presence server %q: %w", target, err)
	}
	for _, p := range presentities {
		w.subs[p] = &watch{presentity: p}
	}
	return w, nil
}

// ServeWatcher has the server hand NOTIFYs to w.
func (s *Server) ServeWatcher(w *Watcher) {
	s.srv.OnNotify(s.handle(w.onNotify))
	s.methods = append(s.methods, "NOTIFY")
}

// Document returns the latest document of presentity, if any came.
func (w *Watcher) Document(presentity string) ([]byte, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	s := w.subs[presentity]
	if s == nil || s.doc == nil {
		return nil, false
	}
	return s.doc, true
}

// Run keeps every subscription alive until ctx ends, checking each second.
func (w *Watcher) Run(ctx context.Context) {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		w.mu.Lock()
		due := make([]*watch, 0)
		for _, s := range w.subs {
			if !time.Now().Before(s.refreshAt) {
				due = append(due, s)
			}
		}
		w.mu.Unlock()
		for _, s := range due {
			if err := w.subscribe(ctx, s); err != nil {
				w.srv.log.Warn("watch presentity", "presentity", s.presentity, "error", err)
				w.mu.Lock()
				s.toTag, s.refreshAt = "", time.Now().Add(5*time.Second) // start over, later
				w.mu.Unlock()
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// subscribe sends the initial SUBSCRIBE of a dialog, or a refresh inside it.
func (w *Watcher) subscribe(ctx context.Context, s *watch) error {
	w.mu.Lock()
	if s.toTag == "" { // a new dialog
		delete(w.byID, s.callID)
		s.callID, s.fromTag, s.cseq = sipmsg.GenerateTagN(24), sipmsg.GenerateTagN(16), 0
		w.byID[s.callID] = s
	}
	w.mu.Unlock()
	res, err := w.auth.do(ctx, w.srv, func() (*sipmsg.Request, error) {
		w.mu.Lock()
		defer w.mu.Unlock()
		s.cseq++ // a retry after a challenge is a new transaction of the dialog
		return w.request(s)
	})
	if err != nil {
		return err
	}
	if res.StatusCode/100 != 2 {
		return fmt.Errorf("SUBSCRIBE %s: %d %s", s.presentity, res.StatusCode, res.Reason)
	}
	granted := w.expires
	if v, err := strconv.Atoi(strings.TrimSpace(sipHeader(res, "Expires"))); err == nil && v > 0 {
		granted = time.Duration(v) * time.Second
	}
	w.mu.Lock()
	s.toTag, _ = res.To().Params.Get("tag")
	s.refreshAt = time.Now().Add(granted * 4 / 5)
	w.mu.Unlock()
	return nil
}

// request builds a SUBSCRIBE for s. w.mu must be held.
func (w *Watcher) request(s *watch) (*sipmsg.Request, error) {
	var ruri sipmsg.Uri
	if err := sipmsg.ParseUri(s.presentity, &ruri); err != nil {
		return nil, err
	}
	req := sipmsg.NewRequest(sipmsg.SUBSCRIBE, ruri)
	from := &sipmsg.FromHeader{Address: sipmsg.Uri{Scheme: "sip", User: w.user, Host: ruri.Host}}
	from.Params.Add("tag", s.fromTag)
	to := &sipmsg.ToHeader{Address: ruri}
	if s.toTag != "" {
		to.Params.Add("tag", s.toTag)
	}
	cid := sipmsg.CallIDHeader(s.callID)
	req.AppendHeader(from)
	req.AppendHeader(to)
	req.AppendHeader(&cid)
	req.AppendHeader(&sipmsg.CSeqHeader{SeqNo: s.cseq, MethodName: sipmsg.SUBSCRIBE})
	sendTo(req, w.target)
	req.AppendHeader(&sipmsg.ContactHeader{Address: w.srv.contactURI(req.Transport())})
	req.AppendHeader(sipmsg.NewHeader("Event", "presence"))
	req.AppendHeader(sipmsg.NewHeader("Accept", pidfType))
	req.AppendHeader(sipmsg.NewHeader("Expires", strconv.Itoa(int(w.expires.Seconds()))))
	return req, nil
}

// onNotify keeps the document a NOTIFY carries; a terminated subscription
// is made anew at the next check.
func (w *Watcher) onNotify(x *exchange) {
	w.mu.Lock()
	s := w.byID[callID(x.req)]
	if s == nil {
		w.mu.Unlock()
		x.respond(481, "Subscription Does Not Exist", nil)
		return
	}
	if len(x.req.Body()) > 0 {
		s.doc = append([]byte(nil), x.req.Body()...)
	}
	if strings.HasPrefix(sipHeader(x.req, "Subscription-State"), "terminated") {
		s.toTag, s.refreshAt = "", time.Time{}
	}
	w.mu.Unlock()
	x.respond(200, "OK", nil)
}
