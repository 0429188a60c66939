package digestauth

import (
	"bytes"
	"crypto/md5"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/icholy/digest"
)

// Credentials looks up a user's password; ok=false for an unknown user.
type Credentials interface {
	Password(user string) (password string, ok bool)
}

// UserAlgorithms, when the Credentials implement it too, chooses the
// algorithms offered to one user, in order (canonical names); nil or empty
// means Config.Algorithms. A user whose phone handles SHA-256 can so be
// challenged with it while MD5-only phones of other users still register.
// Unknown users get Config.Algorithms, like users without a list of their
// own, so a challenge reveals a user only when that user has one.
type UserAlgorithms interface {
	Algorithms(user string) []string
}

var (
	// ErrNoCredentials is returned by Verify when the Authorization header
	// is missing or empty. The caller answers 401 with Challenges(user, false).
	ErrNoCredentials = errors.New("digestauth: no credentials")

	// ErrStaleNonce is returned by Verify when the nonce was issued by this
	// Authenticator and the response is correct, but the nonce is older
	// than NonceTTL. The caller answers 401 with Challenges(user, true) so the
	// client retries without prompting the user (RFC 7616 §3.3: stale is
	// only set when the digest itself is valid).
	ErrStaleNonce = errors.New("digestauth: stale nonce")

	// ErrBadCredentials is returned by Verify for an unknown user, a wrong
	// password or response, a realm mismatch, an unsupported algorithm or
	// qop, a malformed header, a nonce not issued by this Authenticator,
	// and a replayed nonce count. Unknown users and wrong passwords yield
	// this exact value (never wrapped), so they are indistinguishable;
	// other cases wrap it with a reason for logging (test with errors.Is).
	// Reasons must not be sent to the client.
	ErrBadCredentials = errors.New("digestauth: bad credentials")
)

// minKeyLen is the minimum accepted length of a caller-supplied nonce key.
const minKeyLen = 16

// unknownUserPassword is hashed in place of the password of an unknown user,
// so that unknown users cost the same work as wrong passwords.
const unknownUserPassword = "digestauth: no such user"

// Authenticator issues digest challenges and verifies Authorization
// headers. It is safe for concurrent use.
type Authenticator struct {
	realm  string
	ttl    time.Duration
	algs   []string // canonical names, in offer order
	creds  Credentials
	key    []byte
	macs   sync.Pool // of hash.Hash: HMAC-SHA256 keyed with key
	replay *replayCache
}

// New returns an Authenticator for cfg (which is validated; zero fields
// take their defaults). key is the HMAC key that makes nonces unforgeable;
// share it between instances that must accept each other's nonces. If key
// is empty a random key is generated, so nonces do not survive a restart.
// A non-empty key must be at least 16 bytes.
func New(cfg Config, creds Credentials, key []byte) (*Authenticator, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if creds == nil {
		return nil, errors.New("digestauth: nil Credentials")
	}
	switch {
	case len(key) == 0:
		key = make([]byte, 32)
		rand.Read(key)
	case len(key) < minKeyLen:
		return nil, fmt.Errorf("digestauth: nonce key must be at least %d bytes, got %d", minKeyLen, len(key))
	default:
		key = bytes.Clone(key)
	}
	cfg = cfg.withDefaults()
	return &Authenticator{
		realm:  cfg.Realm,
		ttl:    cfg.NonceTTL,
		algs:   cfg.Algorithms,
		creds:  creds,
		key:    key,
		replay: newReplayCache(maxReplayEntries),
	}, nil
}

// Challenges returns the WWW-Authenticate header values to send with a
// 401 to a request claiming to come from user (the From user part): one
// per algorithm offered to that user, in order (RFC 8760 §2.4), sharing
// one fresh nonce, each offering qop="auth". stale marks the challenges as
// answering an ErrStaleNonce failure.
func (a *Authenticator) Challenges(user string, stale bool) []string {
	nonce := a.newNonce()
	algs := a.algorithms(user)
	out := make([]string, len(algs))
	for i, alg := range algs {
		c := digest.Challenge{
			Realm:     a.realm,
			Nonce:     nonce,
			Stale:     stale,
			Algorithm: alg,
			QOP:       []string{"auth"},
		}
		out[i] = c.String()
	}
	return out
}

// Verify checks the Authorization header value of a request with the given
// method and returns the authenticated user name. See ErrNoCredentials,
// ErrStaleNonce and ErrBadCredentials for the failure cases.
func (a *Authenticator) Verify(method, authorization string) (user string, err error) {
	authorization = strings.TrimSpace(authorization)
	if authorization == "" {
		return "", ErrNoCredentials
	}
	cred, err := digest.ParseCredentials(authorization)
	if err != nil {
		return "", badf("malformed header: %v", err)
	}
	// The digest-uri is only required to be present, not to equal the
	// Request-URI: proxies may rewrite the Request-URI on the way here.
	// It is covered by the response hash, so it cannot be altered in transit.
	if cred.Username == "" || cred.Nonce == "" || cred.URI == "" || cred.Response == "" || cred.Cnonce == "" {
		return "", badf("missing parameter")
	}
	if cred.Realm != a.realm {
		return "", badf("realm %q does not match", cred.Realm)
	}
	alg, ok := a.offered(cred.Username, cred.Algorithm)
	if !ok {
		return "", badf("algorithm %q not offered", cred.Algorithm)
	}
	if cred.QOP != "auth" {
		return "", badf("qop %q not supported (want auth)", cred.QOP)
	}
	if cred.Nc < 1 {
		return "", badf("invalid nonce count %d", cred.Nc)
	}
	if cred.Userhash {
		return "", badf("userhash not supported")
	}
	issued, ok := a.parseNonce(cred.Nonce)
	if !ok {
		return "", badf("nonce not issued by this server")
	}
	got, err := hex.DecodeString(cred.Response)
	if err != nil || len(got) != hashSize(alg) {
		return "", badf("malformed response")
	}

	password, known := a.creds.Password(cred.Username)
	if !known {
		password = unknownUserPassword
	}
	want := response(alg, cred, method, password)
	match := subtle.ConstantTimeCompare(want, got) == 1
	if !known || !match {
		return "", ErrBadCredentials
	}

	now := time.Now().UnixNano()
	expires := issued + int64(a.ttl)
	if now < issued || now > expires {
		return "", ErrStaleNonce
	}
	// Nonces have a fixed length, so nonce+username is unambiguous.
	if !a.replay.accept(cred.Nonce+cred.Username, expires, now, cred.Nc) {
		return "", badf("nonce count %08x replayed", cred.Nc)
	}
	return cred.Username, nil
}

// offered maps the algorithm parameter of a credential to a canonical
// algorithm this Authenticator offers user. An absent algorithm means MD5
// (RFC 3261 §22.4, RFC 2617 §3.2.1).
func (a *Authenticator) offered(user, alg string) (string, bool) {
	if alg == "" {
		alg = AlgMD5
	}
	canon, ok := canonicalAlgorithm(alg)
	return canon, ok && slices.Contains(a.algorithms(user), canon)
}

// algorithms are the algorithms offered to user.
func (a *Authenticator) algorithms(user string) []string {
	if ua, ok := a.creds.(UserAlgorithms); ok {
		if algs := ua.Algorithms(user); len(algs) > 0 {
			return algs
		}
	}
	return a.algs
}

func badf(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrBadCredentials}, args...)...)
}

func hashSize(alg string) int {
	if alg == AlgMD5 {
		return md5.Size
	}
	return sha256.Size
}

// response computes the raw qop=auth digest response (RFC 2617 §3.2.2.1,
// RFC 8760): H(H(A1):nonce:nc:cnonce:qop:H(A2)) with
// A1 = user:realm:password and A2 = method:digest-uri.
func response(alg string, c *digest.Credentials, method, password string) []byte {
	var scratch [512]byte
	var ha1, ha2 [2 * sha256.Size]byte
	b := join(scratch[:0], c.Username, c.Realm, password)
	h1 := hexSum(ha1[:0], alg, b)
	b = join(scratch[:0], method, c.URI)
	h2 := hexSum(ha2[:0], alg, b)
	b = append(scratch[:0], h1...)
	b = append(b, ':')
	b = append(b, c.Nonce...)
	b = append(b, ':')
	b = appendNC(b, c.Nc)
	b = append(b, ':')
	b = join(b, c.Cnonce, c.QOP)
	b = append(b, ':')
	b = append(b, h2...)
	return sum(nil, alg, b)
}

// join appends parts separated by colons.
func join(b []byte, parts ...string) []byte {
	for i, p := range parts {
		if i > 0 {
			b = append(b, ':')
		}
		b = append(b, p...)
	}
	return b
}

// appendNC appends nc as 8 lower-case hex digits (RFC 2617 nc-value).
func appendNC(b []byte, nc int) []byte {
	const digits = "0123456789abcdef"
	for shift := 28; shift >= 0; shift -= 4 {
		b = append(b, digits[(nc>>shift)&0xf])
	}
	return b
}

func sum(dst []byte, alg string, msg []byte) []byte {
	if alg == AlgMD5 {
		s := md5.Sum(msg)
		return append(dst, s[:]...)
	}
	s := sha256.Sum256(msg)
	return append(dst, s[:]...)
}

func hexSum(dst []byte, alg string, msg []byte) []byte {
	var raw [sha256.Size]byte
	return hex.AppendEncode(dst, sum(raw[:0], alg, msg))
}
