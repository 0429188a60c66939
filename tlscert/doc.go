// Package tlscert obtains and renews TLS certificates with ACME (RFC 8555)
// for Switchboard's HTTPS, SIP TLS and WSS listeners, through certmagic.
//
// Flow: cmd/switchboard builds a Manager from the tls.acme section (New
// binds the HTTP-01 listener), hands TLSConfig to the SIP listeners and
// HTTPSConfig to the HTTPS one, binds them, then runs the Manager with the
// HTTPS address. Run loads what storage holds, obtains what is missing in
// the background (the listeners must be up: TLS-ALPN-01 is answered by the
// HTTPS listener itself, HTTP-01 by the Manager's own), renews before
// expiry as certificate lifetime and ACME Renewal Information (ARI) say,
// and staples OCSP where the CA runs a responder. All listeners share one
// GetCertificate, so a renewed certificate is served everywhere at once.
//
// Files:
//   - config.go: the tls.acme settings and their validation; LoadPool
//     reads a PEM bundle of CA certificates (also for sip.tls_client_ca).
//   - manager.go: the Manager, its TLS configurations, the HTTP-01 handler
//     that redirects everything else to HTTPS, and event logging.
//   - storage.go: certmagic's Storage over Files, the bbolt store's
//     tls_files bucket (tls.acme.storage: store); "dir:/path" uses
//     certmagic's own FileStorage instead.
//   - zaplog.go: certmagic logs through zap; this hands them to slog
//     (its info lines at debug).
//
// Caveats: the locks of the store-backed storage are this process's only
// (bbolt's file lock keeps other processes out); to share certificates
// between hosts, use a directory on shared storage. Only HTTP-01 and
// TLS-ALPN-01 are offered, so no wildcard names. Before Run, and while
// the first certificate is being obtained, handshakes fail with
// ErrNoCertificate or certmagic's "no certificate available".
package tlscert
