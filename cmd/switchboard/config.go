package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/switchboard/switchboard/acd"
	"github.com/switchboard/switchboard/calls"
	"github.com/switchboard/switchboard/configs"
	"github.com/switchboard/switchboard/httpapi"
	"github.com/switchboard/switchboard/location"
	"github.com/switchboard/switchboard/media"
	"github.com/switchboard/switchboard/presence"
	"github.com/switchboard/switchboard/sip"
	"github.com/switchboard/switchboard/tlscert"
)

// Config is the whole configuration file; each section belongs to the
// package that uses it.
type Config struct {
	// Roles this process runs: any of presence, acd, web.
	Roles     []string              `yaml:"roles"`
	Log       LogConfig             `yaml:"log"`
	Store     StoreConfig           `yaml:"store"`
	Cluster   ClusterConfig         `yaml:"cluster"`
	SIP       sip.Config            `yaml:"sip"`
	Presence  presence.Config       `yaml:"presence"`
	Registrar location.Config       `yaml:"registrar"`
	Shutdown  ShutdownConfig        `yaml:"shutdown"`
	ACD       acd.Config            `yaml:"acd"`
	Calls     calls.Config          `yaml:"calls"`
	Callbacks calls.CallbackConfig  `yaml:"callbacks"`
	Trunk     sip.TrunkConfig       `yaml:"trunk"`
	Media     media.Config          `yaml:"media"`
	Web       httpapi.WebConfig     `yaml:"web"`
	HTTP      httpapi.Config        `yaml:"http"`
	Metrics   httpapi.MetricsConfig `yaml:"metrics"`
	TLS       tlscert.Config        `yaml:"tls"`
}

// ShutdownConfig says how the first SIGTERM drains (see drain); a second
// signal exits at once.
type ShutdownConfig struct {
	// Grace is how long /readyz answers 503 while everything else still
	// serves, so that load balancers stop sending before anything closes.
	Grace time.Duration `yaml:"grace"`
	// CallsTimeout bounds the wait for live calls to end by themselves
	// once no new ones are taken; those still up then end with reason
	// shutdown.
	CallsTimeout time.Duration `yaml:"calls_timeout"`
}

// Validate names the first bad field under prefix.
func (c ShutdownConfig) Validate(prefix string) error {
	switch {
	case c.Grace < 0 || c.Grace > time.Minute:
		return fmt.Errorf("%s.grace: %s must lie between 0 and 1m", prefix, c.Grace)
	case c.CallsTimeout < 0 || c.CallsTimeout > time.Hour:
		return fmt.Errorf("%s.calls_timeout: %s must lie between 0 and 1h", prefix, c.CallsTimeout)
	}
	return nil
}

// LogConfig chooses the log format and level.
type LogConfig struct {
	// Format is text or json.
	Format string `yaml:"format"`
	// Level is debug, info, warn or error.
	Level string `yaml:"level"`
}

var knownRoles = []string{"presence", "acd", "web"}

// loadConfig reads the embedded default, then the file at path (when not
// empty) over it, then SWITCHBOARD_* environment variables, then the
// --set overrides, and validates the result.
func loadConfig(path string, environ []string, sets []string) (Config, error) {
	var cfg Config
	if err := decodeYAML(configs.Default, &cfg); err != nil {
		return cfg, fmt.Errorf("embedded default: %w", err)
	}
	if path != "" {
		data, err := os.ReadFile(path)
		if err != nil {
			return cfg, err
		}
		if err := decodeYAML(data, &cfg); err != nil {
			return cfg, fmt.Errorf("%s: %w", path, err)
		}
	}
	leaves := fields(reflect.ValueOf(&cfg).Elem(), "")
	for _, kv := range environ {
		k, v, _ := strings.Cut(kv, "=")
		name, ok := strings.CutPrefix(k, "SWITCHBOARD_")
		if !ok {
			continue
		}
		path := envPath(leaves, name)
		if path == "" {
			return cfg, fmt.Errorf("%s: no such setting", k)
		}
		if err := setField(leaves[path], v); err != nil {
			return cfg, fmt.Errorf("%s (%s): %w", k, path, err)
		}
	}
	for _, s := range sets {
		path, v, ok := strings.Cut(s, "=")
		f, known := leaves[path]
		if !ok || !known {
			return cfg, fmt.Errorf("--set %s: want path=value with a known path such as sip.udp", s)
		}
		if err := setField(f, v); err != nil {
			return cfg, fmt.Errorf("--set %s: %w", path, err)
		}
	}
	return cfg, cfg.Validate()
}

// decodeYAML decodes strictly: an unknown field is an error that names it.
func decodeYAML(data []byte, cfg *Config) error {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	err := dec.Decode(cfg)
	var te *yaml.TypeError
	if !errors.As(err, &te) {
		return err
	}
	// yaml's errors give lines: name the setting of each as well.
	var root yaml.Node
	if yaml.Unmarshal(data, &root) != nil {
		return err
	}
	msgs := make([]string, len(te.Errors))
	for i, m := range te.Errors {
		var line int
		if _, scanErr := fmt.Sscanf(m, "line %d:", &line); scanErr == nil {
			value := "" // the value yaml quotes, to tell settings on one line apart
			if _, rest, ok := strings.Cut(m, "`"); ok {
				value, _, _ = strings.Cut(rest, "`")
			}
			if path := settingAt(&root, line, value, ""); path != "" {
				m = path + ": " + m
			}
		}
		msgs[i] = m
	}
	return errors.New(strings.Join(msgs, "; "))
}

// settingAt is the dotted path of the setting on line of the document
// under n (prefix: n's own path) whose value is value, or, when none is,
// the first setting on that line; "" if the line has none.
func settingAt(n *yaml.Node, line int, value, prefix string) string {
	first, exact := "", ""
	var walk func(n *yaml.Node, prefix string)
	walk = func(n *yaml.Node, prefix string) {
		switch n.Kind {
		case yaml.DocumentNode:
			for _, c := range n.Content {
				walk(c, prefix)
			}
		case yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				key, val := n.Content[i], n.Content[i+1]
				path := key.Value
				if prefix != "" {
					path = prefix + "." + key.Value
				}
				if key.Line == line && first == "" {
					first = path
				}
				if val.Kind == yaml.ScalarNode && val.Line == line && val.Value == value && exact == "" {
					exact = path
				}
				walk(val, path)
			}
		case yaml.SequenceNode:
			for i, c := range n.Content {
				walk(c, fmt.Sprintf("%s[%d]", prefix, i))
			}
		}
	}
	walk(n, prefix)
	if exact != "" {
		return exact
	}
	return first
}

// Validate names the first bad field.
func (c Config) Validate() error {
	if len(c.Roles) == 0 {
		return errors.New("roles: at least one role is required")
	}
	for i, r := range c.Roles {
		if !slices.Contains(knownRoles, r) {
			return fmt.Errorf("roles[%d]: %q is not one of %s", i, r, strings.Join(knownRoles, ", "))
		}
	}
	if c.Log.Format != "text" && c.Log.Format != "json" {
		return fmt.Errorf("log.format: %q is not text or json", c.Log.Format)
	}
	if _, err := parseLevel(c.Log.Level); err != nil {
		return fmt.Errorf("log.level: %w", err)
	}
	for _, v := range []func() error{
		func() error {
			if !c.runs("acd") {
				return nil
			}
			if c.ACD.PresenceServer == "" && !c.runs("presence") {
				return errors.New("acd.presence_server: required when the presence role runs on another host")
			}
			if err := c.ACD.Validate("acd"); err != nil {
				return err
			}
			if err := c.Calls.Validate("calls"); err != nil {
				return err
			}
			if err := c.Callbacks.Validate("callbacks"); err != nil {
				return err
			}
			if c.Callbacks.Enabled {
				if err := c.Trunk.Validate("trunk"); err != nil {
					return err
				}
			}
			return c.Media.Validate("media")
		},
		func() error {
			if !c.runs("web") {
				return nil
			}
			if !c.runs("presence") && !strings.HasPrefix(c.Web.PresenceServer, "sip:") {
				return fmt.Errorf("web.presence_server: %q is not a sip: URI; it is required when the presence role runs on another host",
					c.Web.PresenceServer)
			}
			return c.Web.Validate("web")
		},
		func() error { return c.Store.Validate("store") },
		func() error { return c.Cluster.Validate("cluster") },
		func() error { return c.SIP.Validate("sip") },
		func() error { return c.Presence.Validate("presence") },
		func() error { return c.Registrar.Validate("registrar") },
		func() error { return c.Shutdown.Validate("shutdown") },
		func() error { return c.HTTP.Validate("http") },
		func() error { return c.Metrics.Validate("metrics") },
		func() error { return c.TLS.Validate("tls") },
		c.checkCertificates,
		c.checkSecrets,
	} {
		if err := v(); err != nil {
			return err
		}
	}
	return nil
}

// checkCertificates checks that every TLS listener has a certificate, from
// its own files or from ACME, and that ACME's TLS-ALPN-01 challenge has a
// listener to answer it.
func (c Config) checkCertificates() error {
	acme := c.TLS.ACME
	if (c.SIP.TLS != "" || c.SIP.WSS != "") && c.SIP.CertFile == "" && !acme.Enabled {
		return errors.New("sip.cert_file: tls and wss need cert_file and key_file, or tls.acme.enabled")
	}
	if acme.OffersTLSALPN() && c.HTTP.CertFile != "" {
		return errors.New("tls.acme.challenges: tls-alpn-01 is answered on http.addr, which serves http.cert_file instead: drop one of them")
	}
	return nil
}

func (c Config) runs(role string) bool { return slices.Contains(c.Roles, role) }

// fields maps every settable leaf of v by its dotted YAML path.
func fields(v reflect.Value, prefix string) map[string]reflect.Value {
	out := map[string]reflect.Value{}
	t := v.Type()
	for i := range t.NumField() {
		tag := t.Field(i).Tag.Get("yaml")
		name, opts, _ := strings.Cut(tag, ",")
		f := v.Field(i)
		path := prefix
		if opts != "inline" {
			path = strings.TrimPrefix(prefix+"."+name, ".")
		}
		if f.Kind() == reflect.Struct {
			for k, leaf := range fields(f, path) {
				out[k] = leaf
			}
			continue
		}
		out[path] = f
	}
	return out
}

// envPath finds the path whose upper-cased, underscore-joined form is name.
func envPath(leaves map[string]reflect.Value, name string) string {
	for path := range leaves {
		if strings.ToUpper(strings.NewReplacer(".", "_").Replace(path)) == name {
			return path
		}
	}
	return ""
}

var durationType = reflect.TypeFor[time.Duration]()

// setField parses s into f: strings, booleans, integers, durations, and
// comma-separated string lists.
func setField(f reflect.Value, s string) error {
	switch {
	case f.Type() == durationType:
		d, err := time.ParseDuration(s)
		if err != nil {
			return err
		}
		f.SetInt(int64(d))
	case f.Kind() == reflect.String:
		f.SetString(s)
	case f.Kind() == reflect.Bool:
		b, err := strconv.ParseBool(s)
		if err != nil {
			return err
		}
		f.SetBool(b)
	case f.Kind() == reflect.Int:
		n, err := strconv.Atoi(s)
		if err != nil {
			return err
		}
		f.SetInt(int64(n))
	case f.Kind() == reflect.Slice && f.Type().Elem().Kind() == reflect.String:
		var items []string
		if s != "" {
			items = strings.Split(s, ",")
		}
		f.Set(reflect.ValueOf(items))
	default:
		return fmt.Errorf("cannot be set from text (%s)", f.Type())
	}
	return nil
}
