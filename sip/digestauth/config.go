package digestauth

import (
	"errors"
	"fmt"
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
// empty: SHA-256 first (preferred by RFC 8760), MD5 for older clients.
var DefaultAlgorithms = []string{AlgSHA256, AlgMD5}

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
	// duplicates). Default ["SHA-256", "MD5"].
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
	seen := make(map[string]bool, len(c.Algorithms))
	for _, alg := range c.Algorithms {
		canon, ok := canonicalAlgorithm(alg)
		if !ok {
			errs = append(errs, fmt.Errorf("auth.algorithms: %q is not supported (use %s or %s)", alg, AlgSHA256, AlgMD5))
			continue
		}
		if seen[canon] {
			errs = append(errs, fmt.Errorf("auth.algorithms: %q is listed more than once", alg))
		}
		seen[canon] = true
	}
	return errors.Join(errs...)
}

// withDefaults returns a copy of c with defaults applied and algorithm names
// canonicalised. c must be valid.
func (c Config) withDefaults() Config {
	if c.NonceTTL == 0 {
		c.NonceTTL = DefaultNonceTTL
	}
	algs := c.Algorithms
	if len(algs) == 0 {
		algs = DefaultAlgorithms
	}
	c.Algorithms = make([]string, len(algs))
	for i, alg := range algs {
		c.Algorithms[i], _ = canonicalAlgorithm(alg)
	}
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
