package digestauth

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Supported algorithm names, as they appear in challenges (RFC 8760 §2.2).
const (
	AlgSHA256 = "SHA-256"
	AlgMD5    = "MD5"
)

// Defaults applied by New for zero-valued Config fields.
const (
	DefaultNonceTTL = 5 * time.Minute
)

// DefaultAlgorithms is the algorithm list offered when Config.Algorithms is
// empty: MD5 alone. Clients that only do MD5 (baresip 1.0 with libre 1.1,
// SIPVicious, older desk phones) give up on a 401 that carries any other
// algorithm, wherever it stands, so SHA-256 is offered only where it is
// configured, for all users or per user (UserAlgorithms), as Kamailio and
// Asterisk also default to MD5.
var DefaultAlgorithms = []string{AlgMD5}

// Config configures an Authenticator. Zero values select the defaults.
type Config struct {
	// Realm is the protection domain shown to users and mixed into
	// H(A1) (RFC 3261 §22.1), typically the SIP domain. Required. It must
	// not contain quotes, backslashes or control characters.
	Realm string `yaml:"realm"`

	// NonceTTL is how long an issued nonce stays valid. After that a
	// request using it is answered with a stale=true challenge. Default
	// 5 minutes; must not be negative.
	NonceTTL time.Duration `yaml:"nonce_ttl"`

	// Algorithms lists the digest algorithms offered, one challenge per
	// entry in this order (RFC 8760 §2.4: most preferred first). Allowed
	// values: "SHA-256", "MD5" (matched case-insensitively, no
	// duplicates). Default ["MD5"]; a user's own list, when the
	// Credentials implement UserAlgorithms, replaces it for that user.
	Algorithms []string `yaml:"algorithms"`
}

// Validate reports configuration errors. Error messages name the field as
// it appears in the configuration file under the "auth" section.
func (c Config) Validate() error {
	var errs []error
	switch {
	case c.Realm == "":
		errs = append(errs, errors.New("auth.realm: must not be empty"))
	case !validRealm(c.Realm):
		errs = append(errs, fmt.Errorf("auth.realm: %q must not contain quotes, backslashes or control characters", c.Realm))
	}
	if c.NonceTTL < 0 {
		errs = append(errs, fmt.Errorf("auth.nonce_ttl: must not be negative, got %v", c.NonceTTL))
	}
	if _, err := CanonicalAlgorithms(c.Algorithms); err != nil {
		errs = append(errs, fmt.Errorf("auth.algorithms: %w", err))
	}
	return errors.Join(errs...)
}

// CanonicalAlgorithms checks a list of algorithm names and returns them
// canonical ("sha-256" becomes "SHA-256"), in the same order. The error
// names the first unsupported or repeated one.
func CanonicalAlgorithms(algs []string) ([]string, error) {
	out := make([]string, 0, len(algs))
	for _, alg := range algs {
		canon, ok := canonicalAlgorithm(alg)
		switch {
		case !ok:
			return nil, fmt.Errorf("%q is not supported (use %s or %s)", alg, AlgSHA256, AlgMD5)
		case slices.Contains(out, canon):
			return nil, fmt.Errorf("%q is listed more than once", alg)
		}
		out = append(out, canon)
	}
	return out, nil
}

// withDefaults returns a copy of c with defaults applied and algorithm names
// canonicalised. c must be valid.
func (c Config) withDefaults() Config {
	if c.NonceTTL == 0 {
		c.NonceTTL = DefaultNonceTTL
	}
	if len(c.Algorithms) == 0 {
		c.Algorithms = DefaultAlgorithms
	}
	c.Algorithms, _ = CanonicalAlgorithms(c.Algorithms)
	return c
}

func canonicalAlgorithm(alg string) (string, bool) {
	switch {
	case strings.EqualFold(alg, AlgSHA256):
		return AlgSHA256, true
	case strings.EqualFold(alg, AlgMD5):
		return AlgMD5, true
	}
	return "", false
}

// validRealm rejects characters that icholy/digest would render with Go
// escapes (which SIP parsers do not understand) or as quoted-pairs.
func validRealm(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if !strconv.IsPrint(r) || r == '"' || r == '\\' {
			return false
		}
	}
	return true
}
