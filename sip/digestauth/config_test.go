package digestauth

import (
	"slices"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

func TestConfigValidate(t *testing.T) {
	for _, tc := range []struct {
		cfg  Config
		want string // substring of the error; "" for valid
	}{
		{Config{Realm: "example.com"}, ""},
		{Config{Realm: "Switchboard ünïcode", NonceTTL: time.Minute, Algorithms: []string{"md5", "Sha-256"}}, ""},
		{Config{}, "auth.realm: must not be empty"},
		{Config{Realm: `ex"ample`}, "auth.realm:"},
		{Config{Realm: "a\r\nb"}, "auth.realm:"},
		{Config{Realm: "a\\b"}, "auth.realm:"},
		{Config{Realm: "x", NonceTTL: -time.Second}, "auth.nonce_ttl: must not be negative"},
		{Config{Realm: "x", Algorithms: []string{"SHA-1"}}, `auth.algorithms: "SHA-1" is not supported (use SHA-256 or MD5)`},
		{Config{Realm: "x", Algorithms: []string{"MD5-sess"}}, `auth.algorithms: "MD5-sess" is not supported`},
		{Config{Realm: "x", Algorithms: []string{"MD5", "md5"}}, `auth.algorithms: "md5" is listed more than once`},
	} {
		err := tc.cfg.Validate()
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%+v: unexpected error %v", tc.cfg, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%+v: error %v, want %q", tc.cfg, err, tc.want)
		}
	}
}

func TestNew(t *testing.T) {
	if _, err := New(Config{Realm: "x", Algorithms: []string{"SHA-1"}}, newUsers(), nil); err == nil {
		t.Error("invalid config accepted")
	}
	if _, err := New(Config{Realm: "x"}, nil, nil); err == nil {
		t.Error("nil Credentials accepted")
	}
	if _, err := New(Config{Realm: "x"}, newUsers(), []byte("short")); err == nil {
		t.Error("short key accepted")
	}
	key := []byte("0123456789abcdef")
	a, err := New(Config{Realm: "x", Algorithms: []string{"md5"}}, newUsers(), key)
	if err != nil {
		t.Fatal(err)
	}
	key[0] = 'X' // the key is copied
	if a.key[0] != '0' || a.ttl != DefaultNonceTTL || !slices.Equal(a.algs, []string{"MD5"}) {
		t.Errorf("key %q ttl %v algs %v", a.key, a.ttl, a.algs)
	}
	if d := newAuth(t, Config{}); !slices.Equal(d.algs, DefaultAlgorithms) || len(d.key) != 32 {
		t.Errorf("defaults: algs %v key len %d", d.algs, len(d.key))
	}
}

func TestConfigYAML(t *testing.T) {
	var doc struct {
		Auth Config `yaml:"auth"`
	}
	src := "auth:\n  realm: example.com\n  nonce_ttl: 2m\n  algorithms: [MD5]\n"
	if err := yaml.Unmarshal([]byte(src), &doc); err != nil {
		t.Fatal(err)
	}
	want := Config{Realm: "example.com", NonceTTL: 2 * time.Minute, Algorithms: []string{"MD5"}}
	if doc.Auth.Realm != want.Realm || doc.Auth.NonceTTL != want.NonceTTL || !slices.Equal(doc.Auth.Algorithms, want.Algorithms) {
		t.Errorf("got %+v, want %+v", doc.Auth, want)
	}
}
