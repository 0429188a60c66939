package sip

import (
	"encoding/json"
	"math/rand/v2"
	"strings"

	sipmsg "github.com/emiago/sipgo/sip"
)

// subDialog is the notifier's side of a subscription dialog (RFC 6665
// §4.1.1, RFC 3261 §12.1.1), created by the initial SUBSCRIBE. sipgo models
// only INVITE dialogs, so this one is ours. It is stored, as JSON, inside
// the domain's presence.Subscription.
type subDialog struct {
	CallID       string   `json:"call_id"`
	LocalTag     string   `json:"local_tag"`     // our To tag
	RemoteTag    string   `json:"remote_tag"`    // the subscriber's From tag
	LocalURI     string   `json:"local_uri"`     // the To URI: the presentity
	RemoteURI    string   `json:"remote_uri"`    // the From URI: the watcher
	RemoteTarget string   `json:"remote_target"` // the subscriber's Contact
	RouteSet     []string `json:"route_set"`     // Record-Route, in order
	RemoteCSeq   uint32   `json:"remote_cseq"`
	CSeqBase     uint32   `json:"cseq_base"` // NOTIFY CSeq = base + sequence number
	EventID      string   `json:"event_id"`
	Transport    string   `json:"transport"` // UDP, TCP, TLS, WS, WSS
	Source       string   `json:"source"`    // where the SUBSCRIBE came from
}

// newSubDialog builds the dialog state of an initial SUBSCRIBE; localTag
// is the To tag we answer with.
func newSubDialog(req *sipmsg.Request, localTag, eventID string) *subDialog {
	fromTag, _ := req.From().Params.Get("tag")
	d := &subDialog{
		CallID:       callID(req),
		LocalTag:     localTag,
		RemoteTag:    fromTag,
		LocalURI:     req.To().Address.String(),
		RemoteURI:    req.From().Address.String(),
		RemoteTarget: req.Contact().Address.String(),
		RemoteCSeq:   req.CSeq().SeqNo,
		CSeqBase:     1 + rand.Uint32N(1<<16), // leaves 2^31 − 2^16 NOTIFYs before CSeq overflows
		EventID:      eventID,
		Transport:    strings.ToUpper(req.Transport()),
		Source:       req.Source(),
	}
	for _, h := range req.GetHeaders("Record-Route") {
		d.RouteSet = append(d.RouteSet, h.Value())
	}
	return d
}

// dialogID identifies a subscription: the dialog (Call-ID and both tags)
// and the Event id, since one dialog may hold several subscriptions
// (RFC 6665 §4.5.2).
func dialogID(callID, remoteTag, localTag, eventID string) string {
	return callID + ";" + remoteTag + ";" + localTag + ";" + eventID
}

func (d *subDialog) id() string { return dialogID(d.CallID, d.RemoteTag, d.LocalTag, d.EventID) }

func (d *subDialog) encode() []byte {
	b, _ := json.Marshal(d) // a struct of strings cannot fail to encode
	return b
}

func decodeSubDialog(b []byte) (*subDialog, error) {
	var d subDialog
	err := json.Unmarshal(b, &d)
	return &d, err
}
