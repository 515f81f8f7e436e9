package main

import (
	"encoding/json"
	"fmt"
	"strings"
)

// BackendHealth is one backend of the active VCL as `varnishadm backend.list -j` reports it.
type BackendHealth struct {
	VCL         string  `json:"vcl"`
	Name        string  `json:"name"`        // without the VCL prefix
	AdminHealth string  `json:"adminHealth"` // probe | healthy | sick (set by hand)
	Probe       string  `json:"probe"`       // "good/window"
	ProbeHealth string  `json:"probeHealth"` // healthy | sick
	Healthy     bool    `json:"healthy"`     // what the router acts on
	LastChange  float64 `json:"lastChange"`
}

// ParseBackendList reads `backend.list -j` (Varnish 7): [3, [argv], time, {"<vcl>.<backend>": {...}}].
// Without a pattern it lists the active VCL's backends (and directors, skipped here).
func ParseBackendList(b []byte) (map[string]BackendHealth, error) {
	var top []json.RawMessage
	if err := json.Unmarshal(b, &top); err != nil {
		return nil, fmt.Errorf("backend.list: %w", err)
	}
	if len(top) < 4 {
		return nil, fmt.Errorf("backend.list: expected [version, argv, time, backends], got %d elements", len(top))
	}
	var raw map[string]struct {
		Type         string            `json:"type"`
		AdminHealth  string            `json:"admin_health"`
		ProbeMessage []json.RawMessage `json:"probe_message"`
		LastChange   float64           `json:"last_change"`
	}
	if err := json.Unmarshal(top[3], &raw); err != nil {
		return nil, fmt.Errorf("backend.list: %w", err)
	}
	out := map[string]BackendHealth{}
	for full, v := range raw {
		if v.Type != "backend" {
			continue
		}
		dot := strings.IndexByte(full, '.')
		if dot < 0 {
			continue
		}
		h := BackendHealth{VCL: full[:dot], Name: full[dot+1:], AdminHealth: v.AdminHealth, LastChange: v.LastChange}
		// probe_message: [good, window, "healthy"|"sick"]; a backend without a probe has a plain string.
		if len(v.ProbeMessage) == 3 {
			var good, window int
			_ = json.Unmarshal(v.ProbeMessage[0], &good)
			_ = json.Unmarshal(v.ProbeMessage[1], &window)
			_ = json.Unmarshal(v.ProbeMessage[2], &h.ProbeHealth)
			h.Probe = fmt.Sprintf("%d/%d", good, window)
		}
		switch v.AdminHealth {
		case "healthy":
			h.Healthy = true
		case "sick":
			h.Healthy = false
		default:
			h.Healthy = h.ProbeHealth == "healthy"
		}
		out[h.Name] = h
	}
	return out, nil
}

// VarnishStats are the counters of `varnishstat -1 -j` (Varnish ≥ 6.5: {"version": 1, "counters": {...}}).
type VarnishStats map[string]uint64

func ParseVarnishstat(b []byte) (VarnishStats, error) {
	var v struct {
		Version  int `json:"version"`
		Counters map[string]struct {
			Value uint64 `json:"value"`
		} `json:"counters"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return nil, fmt.Errorf("varnishstat: %w", err)
	}
	if v.Version != 1 {
		return nil, fmt.Errorf("varnishstat: unknown JSON version %d (expected 1)", v.Version)
	}
	out := VarnishStats{}
	for k, c := range v.Counters {
		out[k] = c.Value
	}
	return out, nil
}

// BackendRequests is the backend's request counter in one VCL (VBE.<vcl>.<backend>.req).
func (s VarnishStats) BackendRequests(vcl, backend string) (uint64, bool) {
	v, ok := s["VBE."+vcl+"."+backend+".req"]
	return v, ok
}
