// Package sip is Switchboard's SIP adapter, over sipgo's transport and
// transaction layers. It owns what sipgo does not do for us: request checks,
// digest challenges, the registrar's REGISTER handling, PUBLISH (RFC 3903),
// and SUBSCRIBE/NOTIFY dialogs (RFC 6665), which sipgo does not model, for
// the presence and dialog event packages. It is also the B2BUA of visitors'
// calls and callbacks (b2bua.go, trunk.go: agents' and the trunk's legs,
// in-dialog requests, chat MESSAGEs to a visitor's own URI; chat.go: the
// visitors' chats as MESSAGEs outside any dialog, with RFC 3994 isComposing
// both ways), and the client of other roles: Publisher sends the ACD's
// PUBLISHes, Watcher the web role's SUBSCRIBEs, both signed by digestClient,
// which reuses a nonce. NOTIFYs are written as bytes (appendNotify); those
// that go back over UDP to the SUBSCRIBE's source run in udpclient.go's own
// non-INVITE client transactions, matched by branch in screen, the others in
// sipgo's.
//
// Edges admit before any work: wire.go reads every message before sipgo
// parses it (RFC 3261 §7, the torture tests of RFC 4475) and screen.go
// answers what it refuses; overload.go admits a request only while the
// server answers in time (requests in hand under an adaptive limit, UDP
// datagrams not left waiting in the socket: 503 at once otherwise),
// sojourn_linux.go reading the kernel's arrival stamps; answered.go
// answers a retransmission of a request answered over UDP with the bytes
// sent, sipgo's server transaction being ended as soon as it answered (one
// that passed the screen while its original was being answered gets the
// same bytes at the handler, never a second handling);
// framing.go cuts TCP and TLS streams into
// messages, each to arrive whole in time; connlimit.go caps connections per
// address and idle time, flood.go a token bucket per source address (503, then
// silence), authguard.go backs off wrong passwords, and peerlogs.go bounds
// what peers make us log. Drain stops taking requests while those in hand
// are answered. tls.go builds the TLS listeners' configurations: a
// certificate from files or from ACME (WithCertificates, tlscert), and on
// the TLS listener, with tls_client_ca, the client certificates it
// requires and verifies.
//
// The registrar keeps the Path of a REGISTER (RFC 3327) that a trusted
// proxy (sip.trusted_proxies) sent, and echoes it to phones that say
// "Supported: path"; a Path from anyone else is ignored. INVITEs and
// MESSAGEs to a binding follow its Path (routeToBinding), as NOTIFYs
// follow a trusted proxy's Record-Route (routeSet).
//
// A request enters through a sipgo handler, is checked once (checkRequest),
// authenticated (authorize), and becomes one domain call (presence.Publish,
// presence.Subscribe, location.Register). The domain's answer or error
// becomes a SIP response in one place (respondError in errors.go).
//
// The package's own name clashes with sipgo's "sip": sipgo's is imported as
// sipmsg everywhere.
package sip
