package digestauth

import (
	"errors"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/icholy/digest"
)

func TestVerifyForgedNonce(t *testing.T) {
	a := newAuth(t, Config{})
	other := newAuth(t, Config{})
	good := a.Challenges("alice", false)[0]
	c, _ := digest.ParseChallenge(good)
	raw, _ := nonceEncoding.DecodeString(c.Nonce)
	raw[0] ^= 0x7f // move the issue time
	tampered := nonceEncoding.EncodeToString(raw)
	for name, chal := range map[string]string{
		"other key": other.Challenges("alice", false)[0],
		"tampered":  strings.Replace(good, c.Nonce, tampered, 1),
		"garbage":   strings.Replace(good, c.Nonce, strings.Repeat("A", nonceLen), 1),
		"short":     strings.Replace(good, c.Nonce, "abc", 1),
		"not b64":   strings.Replace(good, c.Nonce, strings.Repeat("!", nonceLen), 1),
	} {
		_, err := a.Verify("REGISTER", authorize(t, chal, opts("alice", "wonderland", 1)))
		t.Logf("%s: %v", name, err)
		if !errors.Is(err, ErrBadCredentials) {
			t.Errorf("%s: err = %v", name, err)
		}
	}
	// Instances sharing a key accept each other's nonces.
	key := []byte("0123456789abcdef0123456789abcdef")
	a1, _ := New(Config{Realm: testRealm}, newUsers(), key)
	a2, _ := New(Config{Realm: testRealm}, newUsers(), key)
	if _, err := a2.Verify("REGISTER", authorize(t, a1.Challenges("alice", false)[0], opts("alice", "wonderland", 1))); err != nil {
		t.Errorf("shared key: %v", err)
	}
}

func TestVerifyStaleNonce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const ttl = 10 * time.Second
		a := newAuth(t, Config{NonceTTL: ttl})
		chal := a.Challenges("alice", false)[0]
		time.Sleep(ttl) // virtual time; exactly at the TTL is still valid
		if _, err := a.Verify("REGISTER", authorize(t, chal, opts("alice", "wonderland", 1))); err != nil {
			t.Fatalf("at TTL: %v", err)
		}
		time.Sleep(time.Nanosecond)
		if _, err := a.Verify("REGISTER", authorize(t, chal, opts("alice", "wonderland", 2))); err != ErrStaleNonce {
			t.Errorf("expired: err = %v, want ErrStaleNonce", err)
		}
		// stale is only reported when the digest is right.
		if _, err := a.Verify("REGISTER", authorize(t, chal, opts("alice", "nope", 3))); err != ErrBadCredentials {
			t.Errorf("expired, wrong password: err = %v", err)
		}
		if _, err := a.Verify("REGISTER", authorize(t, chal, opts("mallory", "nope", 3))); err != ErrBadCredentials {
			t.Errorf("expired, unknown user: err = %v", err)
		}
		fresh := a.Challenges("alice", true)
		if c, _ := digest.ParseChallenge(fresh[0]); !c.Stale {
			t.Errorf("challenge not stale: %q", fresh[0])
		}
		if _, err := a.Verify("REGISTER", authorize(t, fresh[0], opts("alice", "wonderland", 1))); err != nil {
			t.Errorf("fresh nonce: %v", err)
		}
		// The expired nonce's replay entry is pruned on the next insertion.
		time.Sleep(2 * ttl)
		if _, err := a.Verify("REGISTER", authorize(t, a.Challenges("alice", false)[0], opts("bob", "builder", 1))); err != nil {
			t.Fatal(err)
		}
		if n := a.replay.len(); n != 1 {
			t.Errorf("replay cache has %d entries, want 1", n)
		}
	})
}

func TestVerifyNoCredentials(t *testing.T) {
	a := newAuth(t, Config{})
	for _, h := range []string{"", "  \t"} {
		if _, err := a.Verify("REGISTER", h); err != ErrNoCredentials {
			t.Errorf("Verify(%q) err = %v", h, err)
		}
	}
}

func TestVerifyRejects(t *testing.T) {
	a := newAuth(t, Config{Algorithms: []string{"SHA-256"}})
	chal := a.Challenges("alice", false)[0]
	good := authorize(t, chal, opts("alice", "wonderland", 1))
	c, _ := digest.ParseChallenge(chal)
	withAlg := func(alg string) string {
		cc := *c
		cc.Algorithm = alg
		return authorize(t, cc.String(), opts("alice", "wonderland", 1))
	}
	cases := map[string]string{
		"basic":           "Basic YWxpY2U6d29uZGVybGFuZA==",
		"prefix only":     "Digest",
		"no params":       "Digest ",
		"unterminated":    `Digest username="alice`,
		"no comma":        `Digest username="alice" realm="x"`,
		"bad nc":          strings.Replace(good, "nc=00000001", "nc=zz", 1),
		"zero nc":         strings.Replace(good, "nc=00000001", "nc=00000000", 1),
		"negative nc":     strings.Replace(good, "nc=00000001", "nc=-1", 1),
		"no qop":          editCred(t, good, func(c *digest.Credentials) { c.QOP = "" }),
		"qop absent":      strings.Replace(good, "qop=auth, ", "", 1),
		"auth-int":        editCred(t, good, func(c *digest.Credentials) { c.QOP = "auth-int" }),
		"no uri":          editCred(t, good, func(c *digest.Credentials) { c.URI = "" }),
		"no username":     editCred(t, good, func(c *digest.Credentials) { c.Username = "" }),
		"no cnonce":       strings.Replace(good, `cnonce="0a4f113b"`, `cnonce=""`, 1),
		"non-hex resp":    editCred(t, good, func(c *digest.Credentials) { c.Response = strings.Repeat("zz", 32) }),
		"short resp":      editCred(t, good, func(c *digest.Credentials) { c.Response = c.Response[:32] }),
		"userhash":        editCred(t, good, func(c *digest.Credentials) { c.Userhash = true }),
		"realm mismatch":  authorize(t, strings.Replace(chal, testRealm, "evil.test", 1), opts("alice", "wonderland", 1)),
		"SHA-512":         withAlg("SHA-512"),
		"MD5 not offered": withAlg("MD5"),
		"MD5-sess":        strings.Replace(good, "algorithm=SHA-256", "algorithm=MD5-sess", 1),
	}
	for name, h := range cases {
		_, err := a.Verify("REGISTER", h)
		t.Logf("%s: %v", name, err)
		if !errors.Is(err, ErrBadCredentials) {
			t.Errorf("%s: Verify(%q) err = %v", name, h, err)
		}
	}
	if _, err := a.Verify("REGISTER", good); err != nil {
		t.Errorf("good header after rejects: %v", err)
	}
}

func TestDigestURINotComparedToRequestURI(t *testing.T) {
	a := newAuth(t, Config{})
	o := opts("alice", "wonderland", 1)
	o.URI = "sip:rewritten.by.proxy;transport=tcp"
	if _, err := a.Verify("REGISTER", authorize(t, a.Challenges("alice", false)[0], o)); err != nil {
		t.Error(err)
	}
}

func TestReplayCacheBounded(t *testing.T) {
	c := newReplayCache(3)
	for i, k := range []string{"a", "b", "c", "d"} {
		if !c.accept(k, int64(100+i), 0, 1) {
			t.Fatalf("accept %s", k)
		}
	}
	if c.len() != 3 {
		t.Fatalf("len = %d", c.len())
	}
	if !c.accept("a", 100, 0, 1) { // "a" expired first, so it was evicted
		t.Error("evicted entry still present")
	}
	if c.accept("d", 103, 0, 1) {
		t.Error("replay of live entry accepted")
	}
	c.accept("e", 1000, 500, 1) // prunes everything expiring before 500
	if c.len() != 1 {
		t.Errorf("after prune len = %d, want 1", c.len())
	}
}

// Counts of one nonce may arrive out of order (requests in flight at once
// overtake each other): each is accepted once, within the window below the
// highest.
func TestReplayCacheWindow(t *testing.T) {
	c := newReplayCache(8)
	for _, tc := range []struct {
		nc   int
		want bool
	}{
		{5, true}, {3, true}, {3, false}, {5, false}, {4, true}, {1, true},
		{200, true}, {200 - replayWindow + 1, true}, {200 - replayWindow, false}, {137, false}, {199, true}, {201, true},
	} {
		if got := c.accept("k", 1000, 0, tc.nc); got != tc.want {
			t.Errorf("nc %d accepted %v, want %v", tc.nc, got, tc.want)
		}
	}
}
