package main

import (
	"bytes"
	"crypto/rand"
	"fmt"
	"net"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/switchboard/switchboard/configs"
)

// minSecretLen is the shortest password or token accepted while a
// listener faces the network.
const minSecretLen = 12

// secret is one secret setting of the configuration.
type secret struct{ path, value string }

// secrets lists the configuration's secret settings that are set.
func (c Config) secrets() []secret {
	var out []secret
	add := func(path, v string) {
		if v != "" {
			out = append(out, secret{path, v})
		}
	}
	if c.SIP.Auth.Enabled {
		for i, u := range c.SIP.Auth.Users {
			add(fmt.Sprintf("sip.auth.users[%d].password", i), u.Password)
		}
	}
	for i, a := range c.ACD.Agents {
		add(fmt.Sprintf("acd.agents[%d].token", i), a.Token)
	}
	for i, sv := range c.ACD.Supervisors {
		add(fmt.Sprintf("acd.supervisors[%d].token", i), sv.Token)
	}
	add("acd.password", c.ACD.Password)
	add("web.password", c.Web.Password)
	add("web.cookie_key", c.Web.CookieKey)
	add("web.customer_token_key", c.Web.CustomerTokenKey)
	add("trunk.password", c.Trunk.Password)
	return out
}

// exposed names the first listener beyond loopback, "" when all are on it.
func (c Config) exposed() string {
	for _, l := range []secret{{"sip.udp", c.SIP.UDP}, {"sip.tcp", c.SIP.TCP}, {"sip.tls", c.SIP.TLS},
		{"sip.ws", c.SIP.WS}, {"sip.wss", c.SIP.WSS}, {"http.addr", c.HTTP.Addr}, {"tls.acme.http_addr", c.TLS.ACME.HTTPAddr}} {
		if l.value == "" {
			continue
		}
		host, _, _ := net.SplitHostPort(l.value)
		if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
			return l.path + " " + l.value
		}
	}
	return ""
}

// checkSecrets refuses, while a listener faces the network, a secret left
// at the embedded default's demo value or shorter than minSecretLen.
func (c Config) checkSecrets() error {
	listener := c.exposed()
	if listener == "" {
		return nil
	}
	var demo Config
	if err := decodeYAML(configs.Default, &demo); err != nil {
		return fmt.Errorf("embedded default: %w", err)
	}
	demoValues := map[string]bool{}
	for _, s := range demo.secrets() {
		demoValues[s.value] = true
	}
	for _, s := range c.secrets() {
		switch {
		case demoValues[s.value]:
			return fmt.Errorf("%s: the shipped demo value must not be used while %s listens beyond loopback; "+
				"`switchboard init-config` writes a configuration with random secrets", s.path, listener)
		case len(s.value) < minSecretLen:
			return fmt.Errorf("%s: at least %d characters while %s listens beyond loopback", s.path, minSecretLen, listener)
		}
	}
	return nil
}

// initConfig is the embedded default made fit for the network: its
// listeners on every address, and each demo secret replaced by a random
// one (the same one wherever a value repeats, as acd's password does).
func initConfig() ([]byte, error) {
	var demo Config
	if err := decodeYAML(configs.Default, &demo); err != nil {
		return nil, err
	}
	out := bytes.Clone(configs.Default)
	for _, l := range []string{"udp: ", "tcp: ", "ws: ", "addr: 127.0.0.1:8080"} {
		from := "  " + l
		if !strings.HasPrefix(l, "addr") {
			from += "127.0.0.1:"
		}
		out = bytes.ReplaceAll(out, []byte(from), []byte(strings.Replace(from, "127.0.0.1", "0.0.0.0", 1)))
	}
	done := map[string]bool{}
	for _, s := range demo.secrets() {
		if done[s.value] {
			continue
		}
		done[s.value] = true
		out = bytes.ReplaceAll(out, []byte(s.value), []byte(rand.Text()))
	}
	return out, nil
}

// secretMask stands for a secret in what check prints.
const secretMask = "********"

// masked is the configuration as YAML, each secret's value replaced by
// secretMask.
func (c Config) masked() ([]byte, error) {
	out, err := yaml.Marshal(c)
	if err != nil {
		return nil, err
	}
	values := map[string]bool{}
	for _, s := range c.secrets() {
		values[s.value] = true
	}
	lines := strings.SplitAfter(string(out), "\n")
	for i, l := range lines {
		key, v, ok := strings.Cut(l, ": ")
		if !ok {
			continue
		}
		if values[strings.Trim(strings.TrimSpace(v), `"'`)] {
			lines[i] = key + ": " + secretMask + "\n"
		}
	}
	return []byte(strings.Join(lines, "")), nil
}
