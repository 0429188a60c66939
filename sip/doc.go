// Package sip is Switchboard's SIP adapter, over sipgo's transport and
// transaction layers. It owns what sipgo does not do for us: request checks,
// digest challenges, the registrar's REGISTER handling, PUBLISH (RFC 3903),
// and SUBSCRIBE/NOTIFY dialogs (RFC 6665), which sipgo does not model.
//
// A request enters through a sipgo handler, is checked once (checkRequest),
// authenticated (authorize), and becomes one domain call (presence.Publish,
// presence.Subscribe, location.Register). The domain's answer or error
// becomes a SIP response in one place (respondError in errors.go).
//
// The package's own name clashes with sipgo's "sip": sipgo's is imported as
// sipmsg everywhere.
package sip
