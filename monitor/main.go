// matrix-monitor: the manager's collector and status page. Polls every host's cAdvisor and the
// router (varnishadm/varnishstat on varnishd's shared working directory), keeps the latest
// status and a bounded history in memory, and serves them (API.md) with one status page.
package main

import (
	"context"
	"flag"
	"log"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"
)

func main() {
	configPath := flag.String("config", "/etc/matrix/monitor/monitor.json", "config rendered by the deploy")
	static := flag.String("static", "/usr/share/matrix-monitor", "directory of the chart library's files")
	flag.Parse()
	cfg, err := LoadConfig(*configPath)
	if err != nil {
		log.Fatalf("matrix-monitor: %v", err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	c := NewCollector(cfg)
	// A deploy rewrites the config (new nodes, apps, versions): re-read it, keeping the history.
	var seen time.Time
	if fi, err := os.Stat(*configPath); err == nil {
		seen = fi.ModTime()
	}
	c.reload = func() (Config, bool) {
		fi, err := os.Stat(*configPath)
		if err != nil || !fi.ModTime().After(seen) {
			return Config{}, false
		}
		next, err := LoadConfig(*configPath)
		if err != nil {
			log.Printf("matrix-monitor: keeping the previous config: %v", err)
			return Config{}, false
		}
		seen = fi.ModTime()
		log.Printf("matrix-monitor: config reloaded: %d hosts, %d apps", len(next.Hosts), len(next.Apps))
		return next, true
	}
	go c.Run(ctx)
	srv := &http.Server{Addr: cfg.Listen, Handler: Handler(c, http.FileServer(http.Dir(*static))), ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		_ = srv.Close()
	}()
	log.Printf("matrix-monitor: %d hosts, %d apps, every %s, history %d samples; listening on %s", len(cfg.Hosts), len(cfg.Apps), cfg.Interval(), cfg.HistoryLen(), cfg.Listen)
	if err := srv.ListenAndServe(); err != nil && err != http.ErrServerClosed {
		log.Printf("matrix-monitor: %v", err)
		os.Exit(1)
	}
}
