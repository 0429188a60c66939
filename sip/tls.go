package sip

import (
	"crypto/tls"
	"errors"
	"fmt"

	"github.com/switchboard/switchboard/tlscert"
)

// Option changes how NewServer builds the server.
type Option func(*options)

type options struct {
	certificates func(*tls.ClientHelloInfo) (*tls.Certificate, error)
}

// WithCertificates serves TLS and WSS with the certificates get returns
// (ACME: tlscert.Manager) when the configuration names no cert_file.
func WithCertificates(get func(*tls.ClientHelloInfo) (*tls.Certificate, error)) Option {
	return func(o *options) { o.certificates = get }
}

// errNoCertificate is NewServer's error for a TLS or WSS listener with
// neither a certificate file nor certificates from ACME.
var errNoCertificate = errors.New("sip: tls and wss need cert_file and key_file, or certificates from ACME")

// serverTLS builds the TLS configurations of the listeners: stream, for
// WSS (and the client side of outgoing TLS), and forTLS, for the TLS
// listener, which asks for and verifies client certificates when
// tls_client_ca is set. Both are nil when no certificate is configured.
func (c Config) serverTLS(o options) (stream, forTLS *tls.Config, err error) {
	switch {
	case c.CertFile != "":
		cert, err := tls.LoadX509KeyPair(c.CertFile, c.KeyFile)
		if err != nil {
			return nil, nil, fmt.Errorf("sip: load certificate: %w", err)
		}
		stream = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	case o.certificates != nil:
		stream = &tls.Config{GetCertificate: o.certificates, MinVersion: tls.VersionTLS12}
	case c.TLS != "" || c.WSS != "":
		return nil, nil, errNoCertificate
	default:
		return nil, nil, nil
	}
	forTLS = stream
	if c.TLSClientCA != "" {
		pool, err := tlscert.LoadPool(c.TLSClientCA)
		if err != nil {
			return nil, nil, fmt.Errorf("sip: tls_client_ca: %w", err)
		}
		forTLS = stream.Clone()
		forTLS.ClientCAs = pool
		forTLS.ClientAuth = tls.RequireAndVerifyClientCert
	}
	return stream, forTLS, nil
}
