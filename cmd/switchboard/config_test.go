package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestConfig_EmbeddedDefaultIsValid(t *testing.T) {
	cfg, err := loadConfig("", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.SIP.UDP != "127.0.0.1:5060" || cfg.HTTP.Addr != "127.0.0.1:8080" || !cfg.SIP.Auth.Enabled {
		t.Fatalf("unexpected default: %+v", cfg.SIP)
	}
}

func TestConfig_OverridesFromFileEnvAndFlags(t *testing.T) {
	file := filepath.Join(t.TempDir(), "sb.yaml")
	os.WriteFile(file, []byte("presence:\n  min_notify_interval: 1s\n"), 0o600)
	cfg, err := loadConfig(file,
		[]string{"SWITCHBOARD_SIP_UDP=127.0.0.1:5070", "SWITCHBOARD_SIP_AUTH_ENABLED=false", "PATH=/bin"},
		[]string{"presence.domains=a.example,b.example", "store.batch_delay=5ms"})
	if err != nil {
		t.Fatal(err)
	}
	switch {
	case cfg.Presence.MinNotifyInterval != time.Second:
		t.Fatalf("file: %s", cfg.Presence.MinNotifyInterval)
	case cfg.SIP.UDP != "127.0.0.1:5070" || cfg.SIP.Auth.Enabled:
		t.Fatalf("env: %s %v", cfg.SIP.UDP, cfg.SIP.Auth.Enabled)
	case len(cfg.Presence.Domains) != 2 || cfg.Store.BatchDelay != 5*time.Millisecond:
		t.Fatalf("flags: %v %s", cfg.Presence.Domains, cfg.Store.BatchDelay)
	case cfg.SIP.Auth.Digest.Realm != "example.com":
		t.Fatalf("inline digest settings lost: %q", cfg.SIP.Auth.Digest.Realm)
	}
}

func TestConfig_ErrorsNameTheField(t *testing.T) {
	cases := []struct {
		file, set, env string
		want           string
	}{
		{file: "sip:\n  udpp: 1\n", want: "udpp"},
		{file: "roles: [presence, billing]\n", want: "roles[1]"},
		{set: "sip.udp=nonsense", want: "sip.udp"},
		{set: "presence.publish_min_expires=3h", want: "presence.publish_min_expires"},
		{set: "sip.auth.algorithms=SHA-1", want: "sip.auth.algorithms"},
		{set: "sip.auth.trusted=carol", want: "sip.auth.trusted[0]"},
		{set: "sip.tls=0.0.0.0:5061", want: "sip.cert_file"},
		{set: "sip.tls_client_ca=/no/such/ca.pem", want: "sip.tls_client_ca"},
		{set: "tls.acme.enabled=true", want: "tls.acme.domains"},
		{file: "tls:\n  acme: {enabled: true, domains: [\"*.example.com\"]}\n", want: "tls.acme.domains[0]"},
		{file: "tls:\n  acme: {enabled: true, domains: [sb.example.com], storage: /var/lib/x}\n", want: "tls.acme.storage"},
		{file: "tls:\n  acme: {enabled: true, domains: [sb.example.com], challenges: [http-01]}\n", want: "tls.acme.http_addr"},
		{file: "tls:\n  acme: {enabled: true, domains: [sb.example.com], challenges: [dns-01]}\n", want: "tls.acme.challenges[0]"},
		{file: "tls:\n  acme: {enabled: true, domains: [sb.example.com], directory: http://ca.example.com/dir}\n", want: "tls.acme.directory"},
		{file: "http: {cert_file: c.pem, key_file: k.pem}\ntls:\n  acme: {enabled: true, domains: [sb.example.com]}\n", want: "tls.acme.challenges"},
		{set: "store.batch_delay=soon", want: "store.batch_delay"},
		{set: "store.retention=30m", want: "store.retention"},
		{set: "store.retention=-1h", want: "store.retention"},
		{set: "no.such=1", want: "no.such"},
		{env: "SWITCHBOARD_NOPE=1", want: "SWITCHBOARD_NOPE"},
		{set: "log.format=xml", want: "log.format"},
		{set: "acd.presence_server=127.0.0.1:5060", want: "acd.presence_server"},
		{set: "web.cookie_key=abcd", want: "web.cookie_key"},
		{set: "acd.publish_interval=10ms", want: "acd.publish_interval"},
		{set: "acd.estimator.weight=2", want: "acd.estimator.weight"},
		{file: "acd:\n  groups:\n    - {id: sales, skill: sales, min_proficiency: 9}\n", want: "acd.groups[0].min_proficiency"},
		{file: "acd:\n  agents:\n    - {uri: alice, skills: {x: 1}}\n", want: "acd.agents[0].uri"},
	}
	for _, c := range cases {
		var file string
		if c.file != "" {
			file = filepath.Join(t.TempDir(), "bad.yaml")
			os.WriteFile(file, []byte(c.file), 0o600)
		}
		var sets, env []string
		if c.set != "" {
			sets = []string{c.set}
		}
		if c.env != "" {
			env = []string{c.env}
		}
		_, err := loadConfig(file, env, sets)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q%q%q: error %v, want one naming %s", c.file, c.set, c.env, err, c.want)
		}
	}
}

func TestRun_InvalidConfigStopsStartWithMessage(t *testing.T) {
	var stderr bytes.Buffer
	if code := run([]string{"serve", "--set", "sip.udp=nonsense"}, &stderr, &stderr); code != 1 {
		t.Fatalf("exit %d", code)
	}
	if !strings.Contains(stderr.String(), "sip.udp") {
		t.Fatalf("message does not name the field: %s", stderr.String())
	}
}

func TestRun_Version(t *testing.T) {
	var out bytes.Buffer
	if code := run([]string{"version"}, &out, &out); code != 0 || !strings.HasPrefix(out.String(), "switchboard ") {
		t.Fatalf("exit %d: %q", code, out.String())
	}
}

// The demo secrets of the embedded default only ever serve on loopback: a
// listener beyond it with a demo or short secret refuses to start, naming
// the field.
func TestConfig_DemoSecretsOnlyOnLoopback(t *testing.T) {
	for _, tc := range []struct {
		sets []string
		want string
	}{
		{[]string{"sip.udp=0.0.0.0:5060"}, "sip.auth.users[0].password: the shipped demo value"},
		{[]string{"http.addr=192.0.2.10:8080"}, "sip.auth.users[0].password"},
		{[]string{"sip.ws=[::]:5066", "sip.auth.enabled=false"}, "acd.agents[0].token"},
	} {
		_, err := loadConfig("", nil, tc.sets)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: %v, want an error with %q", tc.sets, err, tc.want)
		}
	}
	file := filepath.Join(t.TempDir(), "sb.yaml")
	os.WriteFile(file, []byte("acd:\n  agents:\n    - {uri: \"sip:alice@example.com\", name: Alice, skills: {billing: 4, support: 3}, "+
		"token: 7c1f0e9d2b4a6c8e0f1a}\n  supervisors:\n    - {name: Sam, token: 3e5a7c9b1d2f4e6a8c0b}\n"), 0o600)
	_, err := loadConfig(file, nil, []string{"http.addr=0.0.0.0:8080", "sip.auth.enabled=false", "acd.password=short"})
	if err == nil || !strings.Contains(err.Error(), "acd.password: at least 12 characters") {
		t.Errorf("a short password beyond loopback: %v", err)
	}
}

// init-config writes a configuration that listens on every address with
// random secrets, the same one wherever the default repeats a value, and
// that loads.
func TestInitConfig_RandomSecretsThatLoad(t *testing.T) {
	out, err := initConfig()
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "switchboard.yaml")
	if err := os.WriteFile(file, out, 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := loadConfig(file, nil, nil)
	if err != nil {
		t.Fatalf("the generated configuration does not load: %v", err)
	}
	if cfg.SIP.UDP != "0.0.0.0:5060" || cfg.HTTP.Addr != "0.0.0.0:8080" || cfg.Metrics.Addr != "127.0.0.1:9464" {
		t.Errorf("listeners %s %s %s", cfg.SIP.UDP, cfg.HTTP.Addr, cfg.Metrics.Addr)
	}
	for _, demo := range []string{"alice-secret", "acd-secret", "demo-token"} {
		if strings.Contains(string(out), demo) {
			t.Errorf("the generated configuration still has %q", demo)
		}
	}
	var acdUser string
	for _, u := range cfg.SIP.Auth.Users {
		if u.Name == cfg.ACD.Username {
			acdUser = u.Password
		}
	}
	if acdUser == "" || acdUser != cfg.ACD.Password {
		t.Errorf("the ACD's password %q is not its SIP account's %q", cfg.ACD.Password, acdUser)
	}
}
