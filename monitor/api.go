package main

import (
	"embed"
	"encoding/json"
	"net/http"
	"time"
)

//go:embed page/index.html
var page embed.FS

// CloudStats is GET /api/cloud: the seed's cloud-stats, totals across the cloud.
type CloudStats struct {
	Cloud             string    `json:"cloud"`
	GeneratedAt       time.Time `json:"generatedAt"`
	Hosts             int       `json:"hosts"`
	HostsUp           int       `json:"hostsUp"`
	Cores             int       `json:"cores"`
	CpuCoresUsed      float64   `json:"cpuCoresUsed"`
	CpuPercent        float64   `json:"cpuPercent"`
	MemoryTotal       uint64    `json:"memoryTotal"`
	MemoryUsed        uint64    `json:"memoryUsed"`
	MemoryPercent     float64   `json:"memoryPercent"`
	DiskTotal         uint64    `json:"diskTotal"`
	DiskUsed          uint64    `json:"diskUsed"`
	Containers        int       `json:"containers"`
	Apps              int       `json:"apps"`
	Replicas          int       `json:"replicas"`
	ReplicasHealthy   int       `json:"replicasHealthy"`
	RequestsPerSecond *float64  `json:"requestsPerSecond"`
}

// Totals over the hosts that answered this round.
func Totals(s Status) CloudStats {
	t := CloudStats{Cloud: s.Cloud, GeneratedAt: s.GeneratedAt, Hosts: len(s.Hosts), Apps: len(s.Apps)}
	for _, h := range s.Hosts {
		if !h.Up || h.Metrics == nil {
			continue
		}
		t.HostsUp++
		t.Cores += h.Metrics.NumCores
		t.CpuCoresUsed += h.Metrics.CpuCores
		t.MemoryTotal += h.Metrics.MemoryTotal
		t.MemoryUsed += h.Metrics.MemoryUsed
		t.DiskTotal += h.Metrics.DiskTotal
		t.DiskUsed += h.Metrics.DiskUsed
		t.Containers += len(h.Containers)
	}
	if t.Cores > 0 {
		t.CpuPercent = 100 * t.CpuCoresUsed / float64(t.Cores)
	}
	if t.MemoryTotal > 0 {
		t.MemoryPercent = 100 * float64(t.MemoryUsed) / float64(t.MemoryTotal)
	}
	var rps float64
	known := len(s.Apps) > 0
	for _, a := range s.Apps {
		t.Replicas += len(a.Replicas)
		t.ReplicasHealthy += a.ReplicasHealthy
		if a.RequestsPerSecond == nil {
			known = false
		} else {
			rps += *a.RequestsPerSecond
		}
	}
	if known {
		t.RequestsPerSecond = &rps
	}
	return t
}

// Handler serves the API and the page; static holds the chart library's files.
func Handler(c *Collector, static http.Handler) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/status", func(w http.ResponseWriter, _ *http.Request) { writeJSON(w, c.Snapshot()) })
	mux.HandleFunc("GET /api/cloud", func(w http.ResponseWriter, _ *http.Request) { writeJSON(w, Totals(c.Snapshot())) })
	mux.HandleFunc("GET /api/history", func(w http.ResponseWriter, _ *http.Request) {
		samples := c.History()
		if samples == nil {
			samples = []Sample{} // [] before the first round, not null
		}
		writeJSON(w, struct {
			IntervalSeconds float64  `json:"intervalSeconds"`
			Samples         []Sample `json:"samples"`
		}{c.interval, samples})
	})
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok\n")) })
	mux.Handle("GET /static/", http.StripPrefix("/static/", static))
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		http.ServeFileFS(w, r, page, "page/index.html")
	})
	return mux
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	enc := json.NewEncoder(w)
	enc.SetIndent("", " ")
	_ = enc.Encode(v)
}
