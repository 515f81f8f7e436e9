package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"sync"
	"time"
)

// Status is GET /api/status (see API.md).
type Status struct {
	Cloud           string       `json:"cloud"`
	GeneratedAt     time.Time    `json:"generatedAt"`
	IntervalSeconds float64      `json:"intervalSeconds"`
	Hosts           []HostStatus `json:"hosts"`
	Router          RouterStatus `json:"router"`
	Apps            []AppStatus  `json:"apps"`
}

type HostStatus struct {
	Name       string             `json:"name"`
	Role       string             `json:"role"`
	Address    string             `json:"address"`
	Up         bool               `json:"up"`
	LastSeen   *time.Time         `json:"lastSeen"`
	Error      string             `json:"error,omitempty"`
	Metrics    *HostMetrics       `json:"metrics"`
	Containers []ContainerMetrics `json:"containers"`
}

type RouterStatus struct {
	Up                      bool       `json:"up"`
	LastSeen                *time.Time `json:"lastSeen"`
	Error                   string     `json:"error,omitempty"`
	VCL                     string     `json:"vcl,omitempty"`
	ClientRequestsPerSecond *float64   `json:"clientRequestsPerSecond"`
}

type AppStatus struct {
	Name              string          `json:"name"`
	Version           string          `json:"version"`
	Image             string          `json:"image"`
	RequestsPerSecond *float64        `json:"requestsPerSecond"`
	ReplicasHealthy   int             `json:"replicasHealthy"`
	Replicas          []ReplicaStatus `json:"replicas"`
}

type ReplicaStatus struct {
	Node        string            `json:"node"`
	Address     string            `json:"address"`
	Backend     string            `json:"backend"`
	NodeUp      bool              `json:"nodeUp"`
	Health      string            `json:"health"` // healthy | sick | unknown (router not answering, backend not in the active VCL)
	Probe       string            `json:"probe,omitempty"`
	AdminHealth string            `json:"adminHealth,omitempty"`
	Container   *ContainerMetrics `json:"container"`
}

// Sample is one point of GET /api/history.
type Sample struct {
	T     time.Time             `json:"t"`
	Hosts map[string]HostSample `json:"hosts"`
	Apps  map[string]*float64   `json:"apps"` // requests/s, null when unknown
}

type HostSample struct {
	Up            bool    `json:"up"`
	CpuPercent    float64 `json:"cpuPercent"`
	MemoryPercent float64 `json:"memoryPercent"`
	MemoryUsed    uint64  `json:"memoryUsed"`
}

// Collector polls every host's cAdvisor and the router, keeps the latest Status and a bounded history.
type Collector struct {
	cfg Config
	// Fixed at start (a reload keeps the ticker's): read by the API without the lock.
	interval float64
	client   *http.Client
	varnish  func(ctx context.Context, tool string, args ...string) ([]byte, error)
	now      func() time.Time
	reload   func() (Config, bool) // a changed config file, if any

	mu       sync.RWMutex
	status   Status
	lastSeen map[string]time.Time
	routerAt *time.Time
	counters map[string]counter // by "<vcl>.<backend>" and "client"
	history  *Ring[Sample]
}

type counter struct {
	value uint64
	at    time.Time
}

func NewCollector(cfg Config) *Collector {
	timeout := cfg.Interval()
	if timeout > 3*time.Second {
		timeout = 3 * time.Second // a dead host must not hold up the round
	}
	return &Collector{
		cfg:      cfg,
		interval: cfg.IntervalSeconds,
		// Until the first round ends the API answers this: empty lists, never null (the page
		// iterates them) and the interval the page refreshes at (0 would make it spin).
		status:   Status{Cloud: cfg.Cloud, IntervalSeconds: cfg.IntervalSeconds, Hosts: []HostStatus{}, Apps: []AppStatus{}},
		client:   &http.Client{Timeout: timeout},
		varnish:  runVarnishTool,
		now:      time.Now,
		lastSeen: map[string]time.Time{},
		counters: map[string]counter{},
		history:  NewRing[Sample](cfg.HistoryLen()),
	}
}

func runVarnishTool(ctx context.Context, tool string, args ...string) ([]byte, error) {
	out, err := exec.CommandContext(ctx, tool, args...).Output()
	if err != nil {
		if ee, ok := err.(*exec.ExitError); ok && len(ee.Stderr) > 0 {
			return nil, fmt.Errorf("%s: %v: %s", tool, err, ee.Stderr)
		}
		return nil, fmt.Errorf("%s: %v (stdout: %.200s)", tool, err, out)
	}
	return out, nil
}

// Run polls until ctx ends.
func (c *Collector) Run(ctx context.Context) {
	t := time.NewTicker(c.cfg.Interval())
	defer t.Stop()
	for {
		if c.reload != nil {
			if next, ok := c.reload(); ok {
				c.mu.Lock()
				next.IntervalSeconds, next.HistorySeconds = c.cfg.IntervalSeconds, c.cfg.HistorySeconds // the ticker and ring keep theirs
				c.cfg = next
				c.mu.Unlock()
			}
		}
		c.Poll(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

type hostResult struct {
	metrics    *HostMetrics
	containers []ContainerMetrics
	err        error
}

// Poll does one round: all hosts and the router at once, then one new Status and Sample.
func (c *Collector) Poll(ctx context.Context) {
	results := make([]hostResult, len(c.cfg.Hosts))
	var wg sync.WaitGroup
	for i, h := range c.cfg.Hosts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = c.pollHost(ctx, h)
		}()
	}
	var backends map[string]BackendHealth
	var stats VarnishStats
	var routerErr error
	var statsAt time.Time
	wg.Add(1)
	go func() {
		defer wg.Done()
		backends, stats, routerErr = c.pollRouter(ctx)
		// Rates are over the time between counter readings, not between rounds' ends: a round
		// held up by a dead host's timeout would otherwise show the requests/s dropping.
		statsAt = c.now()
	}()
	wg.Wait()
	now := c.now()

	c.mu.Lock()
	defer c.mu.Unlock()
	st := Status{Cloud: c.cfg.Cloud, GeneratedAt: now, IntervalSeconds: c.cfg.IntervalSeconds, Hosts: []HostStatus{}, Apps: []AppStatus{}}
	byNode := map[string]*HostStatus{}
	sample := Sample{T: now, Hosts: map[string]HostSample{}, Apps: map[string]*float64{}}
	for i, h := range c.cfg.Hosts {
		r := results[i]
		hs := HostStatus{Name: h.Name, Role: h.Role, Address: h.Address, Up: r.err == nil, Metrics: r.metrics, Containers: r.containers}
		if r.err != nil {
			hs.Error = r.err.Error()
			hs.Containers = []ContainerMetrics{}
		} else {
			c.lastSeen[h.Name] = now
		}
		if t, ok := c.lastSeen[h.Name]; ok {
			hs.LastSeen = &t
		}
		st.Hosts = append(st.Hosts, hs)
		byNode[h.Name] = &st.Hosts[len(st.Hosts)-1]
		s := HostSample{Up: hs.Up}
		if hs.Up && hs.Metrics != nil {
			s.CpuPercent, s.MemoryPercent, s.MemoryUsed = hs.Metrics.CpuPercent, hs.Metrics.MemoryPercent, hs.Metrics.MemoryUsed
		}
		sample.Hosts[h.Name] = s
	}

	st.Router = RouterStatus{Up: routerErr == nil}
	vcl := ""
	if routerErr != nil {
		st.Router.Error = routerErr.Error()
	} else {
		t := now
		c.routerAt = &t
		for _, b := range backends {
			vcl = b.VCL
			break
		}
		st.Router.VCL = vcl
		if v, ok := stats["MAIN.client_req"]; ok {
			st.Router.ClientRequestsPerSecond = c.rate("client", v, statsAt)
		}
	}
	st.Router.LastSeen = c.routerAt

	for _, a := range c.cfg.Apps {
		as := AppStatus{Name: a.Name, Version: a.Version, Image: a.Image, Replicas: []ReplicaStatus{}}
		var total float64
		known := routerErr == nil
		for _, r := range a.Replicas {
			rs := ReplicaStatus{Node: r.Node, Address: r.Address, Backend: r.Backend, Health: "unknown"}
			if h := byNode[r.Node]; h != nil {
				rs.NodeUp = h.Up
				for i := range h.Containers {
					if h.Containers[i].App == a.Name && h.Containers[i].Node == r.Node {
						ct := h.Containers[i]
						rs.Container = &ct
					}
				}
			}
			if b, ok := backends[r.Backend]; ok {
				rs.Probe, rs.AdminHealth = b.Probe, b.AdminHealth
				rs.Health = map[bool]string{true: "healthy", false: "sick"}[b.Healthy]
				if rs.Health == "healthy" {
					as.ReplicasHealthy++
				}
			}
			if routerErr == nil {
				// Every counter is sampled, also once the app's total is known to be incomplete.
				var rps *float64
				if v, ok := stats.BackendRequests(vcl, r.Backend); ok {
					rps = c.rate(vcl+"."+r.Backend, v, statsAt)
				}
				if rps != nil {
					total += *rps
				} else {
					known = false // first sample of this VCL (no rate yet), or no counter
				}
			}
			as.Replicas = append(as.Replicas, rs)
		}
		if known {
			as.RequestsPerSecond = &total
		}
		sample.Apps[a.Name] = as.RequestsPerSecond
		st.Apps = append(st.Apps, as)
	}
	c.status = st
	c.history.Add(sample)
}

// rate of a counter since its previous sample; nil on the first one or after a reset (a new
// VCL's counters start at zero under a new name, a restarted varnishd's too).
func (c *Collector) rate(key string, v uint64, now time.Time) *float64 {
	prev, ok := c.counters[key]
	c.counters[key] = counter{v, now}
	dt := now.Sub(prev.at).Seconds()
	if !ok || v < prev.value || dt <= 0 {
		return nil
	}
	r := float64(v-prev.value) / dt
	return &r
}

func (c *Collector) pollHost(ctx context.Context, h HostCfg) hostResult {
	attrs, err := getJSON[Attributes](ctx, c.client, h.Cadvisor+"/api/v2.0/attributes")
	if err != nil {
		return hostResult{err: err}
	}
	machine, err := getJSON[[]MachineStats](ctx, c.client, h.Cadvisor+"/api/v2.1/machinestats?count=2")
	if err != nil {
		return hostResult{err: err}
	}
	docker, err := getJSON[map[string]ContainerInfo](ctx, c.client, h.Cadvisor+"/api/v2.1/stats/?type=docker&recursive=true&count=2")
	if err != nil {
		return hostResult{err: err}
	}
	m, _, ok := ParseHost(attrs, machine)
	if !ok {
		return hostResult{err: fmt.Errorf("cAdvisor on %s has no machine sample yet", h.Name)}
	}
	return hostResult{metrics: &m, containers: ParseContainers(docker)}
}

func (c *Collector) pollRouter(ctx context.Context) (map[string]BackendHealth, VarnishStats, error) {
	ctx, cancel := context.WithTimeout(ctx, c.client.Timeout)
	defer cancel()
	n := c.cfg.Varnish.Workdir
	out, err := c.varnish(ctx, "varnishadm", "-n", n, "-t", "2", "backend.list", "-j")
	if err != nil {
		return nil, nil, err
	}
	backends, err := ParseBackendList(out)
	if err != nil {
		return nil, nil, err
	}
	out, err = c.varnish(ctx, "varnishstat", "-n", n, "-1", "-j", "-f", "VBE.*.req", "-f", "MAIN.client_req")
	if err != nil {
		return nil, nil, err
	}
	stats, err := ParseVarnishstat(out)
	if err != nil {
		return nil, nil, err
	}
	return backends, stats, nil
}

func getJSON[T any](ctx context.Context, client *http.Client, url string) (T, error) {
	var zero T
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return zero, err
	}
	res, err := client.Do(req)
	if err != nil {
		return zero, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(io.LimitReader(res.Body, 32<<20))
	if err != nil {
		return zero, err
	}
	if res.StatusCode != http.StatusOK {
		return zero, fmt.Errorf("GET %s: %s: %.200s", url, res.Status, b)
	}
	v, err := decode[T](b)
	if err != nil {
		return zero, fmt.Errorf("GET %s: %w", url, err)
	}
	return v, nil
}

// Snapshot: the latest Status.
func (c *Collector) Snapshot() Status {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.status
}

func (c *Collector) History() []Sample { return c.history.Items() }
