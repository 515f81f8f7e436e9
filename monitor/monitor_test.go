package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func read(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestParseHost(t *testing.T) {
	attrs, err := decode[Attributes](read(t, "attributes.json"))
	if err != nil {
		t.Fatal(err)
	}
	stats, err := decode[[]MachineStats](read(t, "machinestats.json"))
	if err != nil {
		t.Fatal(err)
	}
	m, at, ok := ParseHost(attrs, stats)
	if !ok || at.IsZero() {
		t.Fatal("no sample")
	}
	if m.NumCores != 2 || m.MemoryTotal != 25276502016 {
		t.Errorf("attributes: %d cores, %d bytes", m.NumCores, m.MemoryTotal)
	}
	// cpu_inst of the second sample: 1963934272 nanocores.
	if m.CpuCores < 1.96 || m.CpuCores > 1.97 || m.CpuPercent < 98 || m.CpuPercent > 98.3 {
		t.Errorf("cpu: %v cores, %v %%", m.CpuCores, m.CpuPercent)
	}
	if m.MemoryUsed != stats[1].Memory.WorkingSet || m.MemoryPercent <= 0 {
		t.Errorf("memory: %d (%v %%)", m.MemoryUsed, m.MemoryPercent)
	}
	if m.DiskDevice != "/dev/vda1" || m.DiskTotal != 268435456000 || m.DiskPercent != 20 {
		t.Errorf("disk: the largest filesystem, got %s %d %v", m.DiskDevice, m.DiskTotal, m.DiskPercent)
	}
	if _, _, ok := ParseHost(attrs, nil); ok {
		t.Error("no samples must not count as a sample")
	}
}

func TestParseContainers(t *testing.T) {
	raw, err := decode[map[string]ContainerInfo](read(t, "docker-stats.json"))
	if err != nil {
		t.Fatal(err)
	}
	cs := ParseContainers(raw)
	if len(cs) != 2 {
		t.Fatalf("want 2 containers, got %d", len(cs))
	}
	cad, shop := cs[0], cs[1]
	if shop.Name != "matrix-shop-node1-3f2a9c1d" || shop.App != "shop" || shop.Node != "node1" || !strings.HasPrefix(shop.Image, "10.10.10.2:5000/shop@sha256:") {
		t.Errorf("shop: %+v", shop)
	}
	if cad.Name != "matrix-cadvisor" || cad.App != "" {
		t.Errorf("cadvisor container: %+v", cad)
	}
	if len(shop.ID) != 64 {
		t.Errorf("id %q", shop.ID)
	}
	if shop.CpuCores < 0.214 || shop.CpuCores > 0.215 {
		t.Errorf("cpu_inst 214087227 nanocores, got %v cores", shop.CpuCores)
	}
	if shop.MemoryUsed == 0 || shop.DiskUsed != 12288 {
		t.Errorf("memory %d, disk %d", shop.MemoryUsed, shop.DiskUsed)
	}
	// 50000 bytes received and 100000 sent between the two samples (2.87 s apart).
	if shop.NetRxBytes != 1050000 || shop.NetRxRate < 17000 || shop.NetRxRate > 18000 || shop.NetTxRate < 34000 || shop.NetTxRate > 36000 {
		t.Errorf("network: %d bytes, %v/%v B/s", shop.NetRxBytes, shop.NetRxRate, shop.NetTxRate)
	}
}

func TestParseBackendList(t *testing.T) {
	b, err := ParseBackendList(read(t, "backend-list.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(b) != 2 {
		t.Fatalf("directors are not backends: %v", b)
	}
	n1, n2 := b["shop__node1"], b["shop__node2"]
	if n1.VCL != "matrix_abc123" || n1.Probe != "3/3" || n1.ProbeHealth != "healthy" || n1.AdminHealth != "sick" || n1.Healthy {
		t.Errorf("node1 is set sick by hand over a healthy probe: %+v", n1)
	}
	if n2.Probe != "0/3" || n2.Healthy {
		t.Errorf("node2: %+v", n2)
	}
	if _, err := ParseBackendList([]byte(`{"not": "a list"}`)); err == nil {
		t.Error("want an error for a wrong shape")
	}
}

func TestParseVarnishstat(t *testing.T) {
	s, err := ParseVarnishstat(read(t, "varnishstat.json"))
	if err != nil {
		t.Fatal(err)
	}
	if s["MAIN.client_req"] != 15 {
		t.Errorf("client_req %d", s["MAIN.client_req"])
	}
	if v, ok := s.BackendRequests("matrix_abc123", "shop__node1"); !ok || v != 9 {
		t.Errorf("VBE.matrix_abc123.shop__node1.req = %d, %v", v, ok)
	}
	if _, ok := s.BackendRequests("matrix_abc123", "nope"); ok {
		t.Error("unknown backend")
	}
	if _, err := ParseVarnishstat([]byte(`{"version": 2, "counters": {}}`)); err == nil {
		t.Error("want an error for an unknown version")
	}
}

func TestRing(t *testing.T) {
	r := NewRing[int](3)
	if len(r.Items()) != 0 {
		t.Fatal("empty")
	}
	r.Add(1)
	r.Add(2)
	if got := fmt.Sprint(r.Items()); got != "[1 2]" {
		t.Errorf("got %s", got)
	}
	for i := 3; i <= 7; i++ {
		r.Add(i)
	}
	if got := fmt.Sprint(r.Items()); got != "[5 6 7]" || r.Len() != 3 {
		t.Errorf("oldest first, bounded: got %s", got)
	}
}

// A cloud of two nodes: node1's cAdvisor answers (test data), node2's does not.
func testCollector(t *testing.T) (*Collector, *time.Time) {
	t.Helper()
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/api/v2.0/attributes":
			_, _ = w.Write(read(t, "attributes.json"))
		case "/api/v2.1/machinestats":
			_, _ = w.Write(read(t, "machinestats.json"))
		case "/api/v2.1/stats/":
			if r.URL.Query().Get("type") != "docker" || r.URL.Query().Get("recursive") != "true" {
				http.Error(w, "want type=docker&recursive=true", 400)
				return
			}
			_, _ = w.Write(read(t, "docker-stats.json"))
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(up.Close)
	down := httptest.NewServer(http.NotFoundHandler())
	down.Close() // connection refused, like a dead node
	cfg := Config{
		Cloud: "matrix", Listen: "127.0.0.1:0", IntervalSeconds: 5, HistorySeconds: 15,
		Varnish: VarnishCfg{Workdir: "/var/lib/varnish/varnishd"},
		Hosts: []HostCfg{
			{Name: "node1", Role: "node", Address: "10.10.10.11", Cadvisor: up.URL},
			{Name: "node2", Role: "node", Address: "10.10.10.12", Cadvisor: down.URL},
		},
		Apps: []AppCfg{{Name: "shop", Version: "3f2a9c1d0b7e5a64", Image: "10.10.10.2:5000/shop@sha256:6c3c",
			Replicas: []ReplicaCfg{{Node: "node1", Address: "10.10.10.11", Backend: "shop__node1"}, {Node: "node2", Address: "10.10.10.12", Backend: "shop__node2"}}}},
	}
	c := NewCollector(cfg)
	now := time.Date(2026, 11, 30, 8, 0, 0, 0, time.UTC)
	c.now = func() time.Time { return now }
	c.varnish = func(_ context.Context, tool string, args ...string) ([]byte, error) {
		if args[0] != "-n" || args[1] != cfg.Varnish.Workdir {
			return nil, fmt.Errorf("%s without -n %s: %v", tool, cfg.Varnish.Workdir, args)
		}
		if tool == "varnishadm" {
			return read(t, "backend-list.json"), nil
		}
		return read(t, "varnishstat.json"), nil
	}
	return c, &now
}

func TestCollectorAndAPI(t *testing.T) {
	c, now := testCollector(t)
	c.Poll(context.Background())
	s := c.Snapshot()
	if len(s.Hosts) != 2 || !s.Hosts[0].Up || s.Hosts[1].Up || s.Hosts[1].Error == "" || s.Hosts[1].LastSeen != nil {
		t.Fatalf("hosts: %+v", s.Hosts)
	}
	if s.Hosts[0].Metrics == nil || len(s.Hosts[0].Containers) != 2 {
		t.Errorf("node1 metrics/containers: %+v", s.Hosts[0])
	}
	app := s.Apps[0]
	r1, r2 := app.Replicas[0], app.Replicas[1]
	if r1.Health != "sick" || r1.AdminHealth != "sick" || r1.Container == nil || r1.Container.Name != "matrix-shop-node1-3f2a9c1d" || !r1.NodeUp {
		t.Errorf("replica on node1: %+v", r1)
	}
	if r2.Health != "sick" || r2.NodeUp || r2.Container != nil {
		t.Errorf("replica on node2 (node down): %+v", r2)
	}
	if app.RequestsPerSecond != nil {
		t.Error("no rate from a single sample")
	}

	// Second round, 5 s later: 10 more backend requests on node1 → 2 requests/s.
	*now = now.Add(5 * time.Second)
	stat := strings.Replace(string(read(t, "varnishstat.json")), "\"value\": 9\n", "\"value\": 19\n", 1)
	old := c.varnish
	c.varnish = func(ctx context.Context, tool string, args ...string) ([]byte, error) {
		if tool == "varnishstat" {
			return []byte(stat), nil
		}
		return old(ctx, tool, args...)
	}
	c.Poll(context.Background())
	s = c.Snapshot()
	if rps := s.Apps[0].RequestsPerSecond; rps == nil || *rps != 2 {
		t.Errorf("requests/s: %v", rps)
	}

	// The router not answering: health unknown, not a stale "healthy".
	c.varnish = func(context.Context, string, ...string) ([]byte, error) {
		return nil, fmt.Errorf("varnishadm: no varnishd")
	}
	*now = now.Add(5 * time.Second)
	c.Poll(context.Background())
	s = c.Snapshot()
	if s.Router.Up || s.Apps[0].Replicas[0].Health != "unknown" || s.Router.LastSeen == nil {
		t.Errorf("router down: %+v %+v", s.Router, s.Apps[0].Replicas[0])
	}

	srv := httptest.NewServer(Handler(c, http.NotFoundHandler()))
	defer srv.Close()
	get := func(path string, v any) {
		t.Helper()
		res, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		if res.StatusCode != 200 {
			t.Fatalf("%s: %s", path, res.Status)
		}
		if v != nil {
			if err := json.NewDecoder(res.Body).Decode(v); err != nil {
				t.Fatalf("%s: %v", path, err)
			}
		}
	}
	var status map[string]any
	get("/api/status", &status)
	if hosts := status["hosts"].([]any); len(hosts) != 2 || hosts[1].(map[string]any)["up"] != false {
		t.Errorf("/api/status hosts: %v", hosts)
	}
	var cloud CloudStats
	get("/api/cloud", &cloud)
	if cloud.Hosts != 2 || cloud.HostsUp != 1 || cloud.Cores != 2 || cloud.Containers != 2 || cloud.Replicas != 2 || cloud.ReplicasHealthy != 0 {
		t.Errorf("/api/cloud: %+v", cloud)
	}
	var history struct {
		IntervalSeconds float64  `json:"intervalSeconds"`
		Samples         []Sample `json:"samples"`
	}
	get("/api/history", &history)
	if history.IntervalSeconds != 5 || len(history.Samples) != 3 || history.Samples[1].Apps["shop"] == nil || history.Samples[0].Hosts["node2"].Up {
		t.Errorf("/api/history: %+v", history)
	}
	res, err := http.Get(srv.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var page strings.Builder
	_, _ = fmt.Fprint(&page, res.Header.Get("Content-Type"))
	if !strings.HasPrefix(page.String(), "text/html") {
		t.Errorf("/: %s", page.String())
	}
}

func TestLoadConfig(t *testing.T) {
	dir := t.TempDir()
	p := dir + "/m.json"
	_ = os.WriteFile(p, []byte(`{"cloud":"matrix","listen":"10.10.10.2:9090","intervalSeconds":5,"historySeconds":1800,"varnish":{"workdir":"/var/lib/varnish/varnishd"},"hosts":[],"apps":[]}`), 0o644)
	c, err := LoadConfig(p)
	if err != nil || c.HistoryLen() != 360 || c.Interval() != 5*time.Second {
		t.Errorf("%+v %v", c, err)
	}
	_ = os.WriteFile(p, []byte(`{"listen":""}`), 0o644)
	if _, err := LoadConfig(p); err == nil {
		t.Error("want an error for a config without listen")
	}
}

// Before the first round ends (a dead host holds it up to the timeout) the page already loads:
// lists are empty, not null, and the interval is the configured one (the page refreshes at it).
func TestAPIBeforeFirstPoll(t *testing.T) {
	c, _ := testCollector(t)
	srv := httptest.NewServer(Handler(c, http.NotFoundHandler()))
	defer srv.Close()
	for path, want := range map[string]string{
		"/api/status":  `"hosts": [],`,
		"/api/history": `"samples": []`,
	} {
		res, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		if body := readAll(t, res); !strings.Contains(body, want) {
			t.Errorf("%s: want %s in %s", path, want, body)
		}
	}
	if s := c.Snapshot(); s.IntervalSeconds != 5 || s.Apps == nil {
		t.Errorf("status before the first poll: %+v", s)
	}
}

func readAll(t *testing.T, res *http.Response) string {
	t.Helper()
	defer res.Body.Close()
	var b strings.Builder
	if _, err := io.Copy(&b, res.Body); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// Requests/s are over the time between the router's counter readings: a round held up by a
// host that stops answering (its timeout) must not show the traffic dropping.
func TestRateNotSkewedBySlowHost(t *testing.T) {
	c, _ := testCollector(t)
	c.now = time.Now
	var slow atomic.Int64 // nanoseconds
	hang := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(time.Duration(slow.Load()))
		http.NotFound(w, r)
	}))
	defer hang.Close()
	c.cfg.Hosts[1].Cadvisor = hang.URL
	value := 9
	old := c.varnish
	c.varnish = func(ctx context.Context, tool string, args ...string) ([]byte, error) {
		if tool == "varnishstat" {
			return []byte(strings.Replace(string(read(t, "varnishstat.json")), "\"value\": 9\n", fmt.Sprintf("\"value\": %d\n", value), 1)), nil
		}
		return old(ctx, tool, args...)
	}
	c.Poll(context.Background())
	time.Sleep(200 * time.Millisecond)
	value += 10
	slow.Store(int64(600 * time.Millisecond)) // node2 starts hanging: this round ends 0.6 s late
	c.Poll(context.Background())
	// 10 requests in about 0.2 s between the readings: about 50/s (0.8 s, 12.5/s, if the round's end counted).
	if rps := c.Snapshot().Apps[0].RequestsPerSecond; rps == nil || *rps < 30 || *rps > 55 {
		t.Errorf("requests/s: %v, want about 50", rps)
	}
}
