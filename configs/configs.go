// Package configs embeds Switchboard's default configuration file.
package configs

import _ "embed"

// Default is configs/switchboard.yaml, the configuration `make run` uses.
//
//go:embed switchboard.yaml
var Default []byte
