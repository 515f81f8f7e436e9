package main

import (
	"encoding/json"
	"fmt"
	"os"
	"time"
)

// Config is rendered by the deploy from the cloud's model (core/monitoring.ts): every host, app,
// replica and router backend name is given, so the monitor discovers nothing on its own.
type Config struct {
	Cloud           string     `json:"cloud"`
	Listen          string     `json:"listen"`
	IntervalSeconds float64    `json:"intervalSeconds"`
	HistorySeconds  float64    `json:"historySeconds"`
	Varnish         VarnishCfg `json:"varnish"`
	Hosts           []HostCfg  `json:"hosts"`
	Apps            []AppCfg   `json:"apps"`
}

// VarnishCfg: varnishd's working directory (its -n), shared read-only with the monitor.
type VarnishCfg struct {
	Workdir string `json:"workdir"`
}

type HostCfg struct {
	Name     string `json:"name"`
	Role     string `json:"role"` // "manager" or "node"
	Address  string `json:"address"`
	Cadvisor string `json:"cadvisor"` // base URL, e.g. http://10.10.10.11:8081
}

type AppCfg struct {
	Name     string       `json:"name"`
	Version  string       `json:"version"`
	Image    string       `json:"image"`
	Replicas []ReplicaCfg `json:"replicas"`
}

type ReplicaCfg struct {
	Node    string `json:"node"`
	Address string `json:"address"`
	Backend string `json:"backend"` // VCL backend name, without the VCL prefix
}

func (c Config) Interval() time.Duration {
	return time.Duration(c.IntervalSeconds * float64(time.Second))
}

// HistoryLen is how many samples the ring buffer keeps.
func (c Config) HistoryLen() int {
	n := int(c.HistorySeconds / c.IntervalSeconds)
	if n < 2 {
		n = 2
	}
	return n
}

func LoadConfig(path string) (Config, error) {
	var c Config
	b, err := os.ReadFile(path)
	if err != nil {
		return c, err
	}
	if err := json.Unmarshal(b, &c); err != nil {
		return c, fmt.Errorf("%s: %w", path, err)
	}
	if c.Listen == "" || c.IntervalSeconds <= 0 || c.HistorySeconds <= 0 {
		return c, fmt.Errorf("%s: listen, intervalSeconds and historySeconds are required", path)
	}
	return c, nil
}
