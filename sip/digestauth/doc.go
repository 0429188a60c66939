// Package digestauth implements the server side of SIP digest
// authentication (RFC 3261 §22, with SHA-256 per RFC 8760). sipgo only
// implements the client side; this package owns everything a registrar or
// presence server needs to challenge and verify clients:
//
//   - nonce issuance: nonces are stateless and unforgeable (an issue
//     timestamp and random bytes authenticated with HMAC-SHA256), so
//     nothing is stored when a challenge is sent;
//   - nonce expiry (Config.NonceTTL) and stale signalling;
//   - replay protection: each nonce count (nc) is accepted once per
//     nonce and user until the nonce expires, out of order within a
//     window of 64 below the highest (concurrent requests overtake each
//     other);
//   - computing and checking the expected response (qop=auth only) in
//     constant time, without revealing whether a user name exists;
//   - which algorithms each user is offered: MD5 by default, SHA-256
//     where configured, globally or per user (UserAlgorithms).
//
// Header parsing and challenge rendering are delegated to
// github.com/icholy/digest. Password storage is not owned here: callers
// supply a Credentials implementation.
//
// Flow:
//
//  1. A request arrives without an Authorization header: Verify returns
//     ErrNoCredentials and the caller answers 401 Unauthorized with one
//     WWW-Authenticate header per value of Challenges(user, false).
//  2. The client retries with an Authorization header computed from one
//     of the challenges (the first algorithm it supports).
//  3. The caller passes the request method and the Authorization header
//     value to Verify. On success it gets the authenticated user name. On
//     ErrStaleNonce it answers 401 with Challenges(user, true), so the client
//     retries with the fresh nonce without prompting for a password; on
//     ErrBadCredentials (or ErrNoCredentials) it answers 401 with
//     Challenges(user, false) (or 403, by policy).
//
// The header name is not interpreted: the same Verify works for
// Proxy-Authorization if the caller challenges with 407 and
// Proxy-Authenticate instead.
package digestauth
