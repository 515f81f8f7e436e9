// cadvisor: cAdvisor's collectors (github.com/google/cadvisor, the library module the Go module
// proxy serves) behind a small HTTP front that answers the REST API v2 paths matrix's monitor
// reads, in cAdvisor's own JSON types. Why not upstream's main: it lives in the separate module
// github.com/google/cadvisor/cmd (with its HTTP API in cmd/internal), which the proxy does not
// serve (404), and the library's manager left the root module after v0.57.0 — so v0.57.0 is the
// newest cAdvisor whose collectors can be built offline. Online users can run the official image
// (config monitoring.cadvisorImage), which answers the same paths.
//
// Served (same shapes as upstream's v2.1 handlers):
//
//	GET /api/v2.1/machinestats?count=N                      []v2.MachineStats of the root cgroup
//	GET /api/v2.1/stats/<name>?type=docker&recursive=true&count=N   map[string]v2.ContainerInfo
//	GET /api/v2.0/attributes                                 v2.Attributes
//	GET /api/v2.0/machine                                    v1.MachineInfo
//	GET /healthz                                             "ok"
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/google/cadvisor/cache/memory"
	"github.com/google/cadvisor/container"
	_ "github.com/google/cadvisor/container/docker/install" // the docker container factory
	v2 "github.com/google/cadvisor/info/v2"
	"github.com/google/cadvisor/manager"
	"github.com/google/cadvisor/utils/sysfs"
	"k8s.io/klog/v2"
)

var (
	listenIP        = flag.String("listen_ip", "", "IP to listen on (default all)")
	port            = flag.Int("port", 8080, "port to listen on")
	storageDuration = flag.Duration("storage_duration", 2*time.Minute, "how long to keep samples in memory")
	enabledMetrics  = container.MetricSet{
		container.CpuUsageMetrics: struct{}{}, container.MemoryUsageMetrics: struct{}{},
		container.NetworkUsageMetrics: struct{}{}, container.DiskUsageMetrics: struct{}{},
	}
)

func main() {
	klog.InitFlags(nil)
	flag.Var(&enabledMetrics, "enable_metrics", "comma-separated metrics to collect (cAdvisor's names: cpu,memory,network,disk,diskIO,...)")
	flag.Parse()

	cache := memory.New(*storageDuration, nil)
	m, err := manager.New(cache, sysfs.NewRealSysFs(), manager.HousekeepingConfigFlags, enabledMetrics,
		http.DefaultClient, []string{"/"}, nil, "", 0)
	if err != nil {
		klog.Fatalf("cadvisor: manager: %v", err)
	}
	if err := m.Start(); err != nil {
		klog.Fatalf("cadvisor: start: %v", err)
	}

	mux := http.NewServeMux()
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "ok") })
	mux.HandleFunc("/api/v2.0/attributes", func(w http.ResponseWriter, _ *http.Request) {
		machine, err := m.GetMachineInfo()
		if err != nil {
			fail(w, err)
			return
		}
		version, err := m.GetVersionInfo()
		if err != nil {
			fail(w, err)
			return
		}
		reply(w, v2.GetAttributes(machine, version))
	})
	mux.HandleFunc("/api/v2.0/machine", func(w http.ResponseWriter, _ *http.Request) {
		machine, err := m.GetMachineInfo()
		if err != nil {
			fail(w, err)
			return
		}
		reply(w, machine)
	})
	mux.HandleFunc("/api/v2.1/machinestats", func(w http.ResponseWriter, r *http.Request) {
		opt, err := options(r)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		infos, err := m.GetRequestedContainersInfo("/", opt)
		if infos["/"] == nil {
			fail(w, err)
			return
		}
		reply(w, v2.MachineStatsFromV1(infos["/"]))
	})
	mux.HandleFunc("/api/v2.1/stats/", func(w http.ResponseWriter, r *http.Request) {
		opt, err := options(r)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		name := "/" + strings.TrimPrefix(r.URL.Path, "/api/v2.1/stats/")
		infos, err := m.GetRequestedContainersInfo(name, opt)
		if len(infos) == 0 && err != nil {
			fail(w, err)
			return
		}
		out := make(map[string]v2.ContainerInfo, len(infos))
		for n, c := range infos {
			if n == "/" { // the root cgroup is the machine: /machinestats
				continue
			}
			out[n] = v2.ContainerInfo{
				Spec:  v2.ContainerSpecFromV1(&c.Spec, c.Aliases, c.Namespace),
				Stats: v2.ContainerStatsFromV1(n, &c.Spec, c.Stats),
			}
		}
		reply(w, out)
	})

	addr := net.JoinHostPort(*listenIP, strconv.Itoa(*port))
	srv := &http.Server{Addr: addr, Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		stop := make(chan os.Signal, 1)
		signal.Notify(stop, syscall.SIGTERM, syscall.SIGINT)
		<-stop
		_ = m.Stop()
		_ = srv.Close()
	}()
	klog.Infof("cadvisor: listening on %s, metrics %s, housekeeping every %s", addr, enabledMetrics.String(), *manager.HousekeepingInterval)
	if err := srv.ListenAndServe(); err != nil && err != http.ErrServerClosed {
		klog.Fatalf("cadvisor: %v", err)
	}
}

// options reads type, count and recursive as upstream's API does (type: name or docker).
func options(r *http.Request) (v2.RequestOptions, error) {
	q := r.URL.Query()
	opt := v2.RequestOptions{IdType: v2.TypeName, Count: 64, Recursive: q.Get("recursive") == "true"}
	switch t := q.Get("type"); t {
	case "", v2.TypeName:
	case v2.TypeDocker:
		opt.IdType = t
	default:
		return opt, fmt.Errorf("unknown 'type' %q", t)
	}
	if c := q.Get("count"); c != "" {
		n, err := strconv.ParseUint(c, 10, 32)
		if err != nil {
			return opt, fmt.Errorf("bad 'count' %q", c)
		}
		opt.Count = int(n)
	}
	return opt, nil
}

func reply(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

func fail(w http.ResponseWriter, err error) {
	if err == nil {
		err = fmt.Errorf("no data yet")
	}
	http.Error(w, err.Error(), http.StatusInternalServerError)
}
