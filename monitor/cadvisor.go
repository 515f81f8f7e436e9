package main

import (
	"encoding/json"
	"sort"
	"strings"
	"time"
)

// The parts of cAdvisor's REST API v2 JSON the monitor reads (github.com/google/cadvisor
// info/v1 and info/v2, same JSON names). Stdlib only: the monitor does not import cAdvisor.

// Attributes: GET /api/v2.0/attributes.
type Attributes struct {
	NumCores        int    `json:"num_cores"`
	MemoryCapacity  uint64 `json:"memory_capacity"`
	KernelVersion   string `json:"kernel_version"`
	DockerVersion   string `json:"docker_version"`
	CadvisorVersion string `json:"cadvisor_version"`
}

type cpuUsage struct {
	Total uint64 `json:"total"`
}

type cpuStats struct {
	Usage       cpuUsage `json:"usage"`
	LoadAverage int32    `json:"load_average"`
}

type cpuInst struct {
	Usage struct {
		Total uint64 `json:"total"` // nanocores: 1e9 = one core busy
	} `json:"usage"`
}

type memoryStats struct {
	Usage      uint64 `json:"usage"`
	WorkingSet uint64 `json:"working_set"`
}

type iface struct {
	Name    string `json:"name"`
	RxBytes uint64 `json:"rx_bytes"`
	TxBytes uint64 `json:"tx_bytes"`
}

type networkStats struct {
	Interfaces []iface `json:"interfaces"`
}

// MachineStats: one element of GET /api/v2.1/machinestats.
type MachineStats struct {
	Timestamp  time.Time     `json:"timestamp"`
	Cpu        *cpuStats     `json:"cpu"`
	CpuInst    *cpuInst      `json:"cpu_inst"`
	Memory     *memoryStats  `json:"memory"`
	Network    *networkStats `json:"network"`
	Filesystem []machineFs   `json:"filesystem"`
}

type machineFs struct {
	Device    string  `json:"device"`
	Type      string  `json:"type"`
	Capacity  *uint64 `json:"capacity"`
	Usage     *uint64 `json:"usage"`
	Available *uint64 `json:"available"`
}

type containerFs struct {
	Device string `json:"device"`
	Limit  uint64 `json:"capacity"`
	Usage  uint64 `json:"usage"`
}

// ContainerInfo: one value of GET /api/v2.1/stats/?type=docker&recursive=true.
type ContainerInfo struct {
	Spec struct {
		Aliases   []string          `json:"aliases"`
		Namespace string            `json:"namespace"`
		Labels    map[string]string `json:"labels"`
		Image     string            `json:"image"`
		Memory    struct {
			Limit uint64 `json:"limit"`
		} `json:"memory"`
	} `json:"spec"`
	Stats []struct {
		Timestamp  time.Time     `json:"timestamp"`
		Cpu        *cpuStats     `json:"cpu"`
		CpuInst    *cpuInst      `json:"cpu_inst"`
		Memory     *memoryStats  `json:"memory"`
		Network    *networkStats `json:"network"`
		Filesystem []containerFs `json:"filesystem"`
	} `json:"stats"`
}

// HostMetrics is what the monitor keeps of one host's sample.
type HostMetrics struct {
	CpuCores      float64 `json:"cpuCores"`   // cores busy (cpu_inst)
	CpuPercent    float64 `json:"cpuPercent"` // of all the host's cores
	NumCores      int     `json:"numCores"`
	MemoryUsed    uint64  `json:"memoryUsed"` // working set of the root cgroup
	MemoryTotal   uint64  `json:"memoryTotal"`
	MemoryPercent float64 `json:"memoryPercent"`
	DiskUsed      uint64  `json:"diskUsed"` // the largest filesystem (cAdvisor gives no mount points)
	DiskTotal     uint64  `json:"diskTotal"`
	DiskPercent   float64 `json:"diskPercent"`
	DiskDevice    string  `json:"diskDevice"`
}

// ContainerMetrics is one running container's latest sample.
type ContainerMetrics struct {
	Name        string  `json:"name"`
	ID          string  `json:"id"`
	Image       string  `json:"image"`
	App         string  `json:"app,omitempty"` // from the labels matrix.app / matrix.node the deploy sets
	Node        string  `json:"node,omitempty"`
	CpuCores    float64 `json:"cpuCores"`
	MemoryUsed  uint64  `json:"memoryUsed"`
	MemoryLimit uint64  `json:"memoryLimit,omitempty"`
	NetRxBytes  uint64  `json:"netRxBytes"`
	NetTxBytes  uint64  `json:"netTxBytes"`
	NetRxRate   float64 `json:"netRxBytesPerSecond"`
	NetTxRate   float64 `json:"netTxBytesPerSecond"`
	DiskUsed    uint64  `json:"diskUsed"`
}

// ParseHost turns attributes and machinestats (oldest first) into the latest host metrics.
func ParseHost(attrs Attributes, stats []MachineStats) (HostMetrics, time.Time, bool) {
	if len(stats) == 0 {
		return HostMetrics{}, time.Time{}, false
	}
	last := stats[len(stats)-1]
	m := HostMetrics{NumCores: attrs.NumCores, MemoryTotal: attrs.MemoryCapacity}
	if inst := latestCpuInst(stats); inst != nil {
		m.CpuCores = float64(inst.Usage.Total) / 1e9
	}
	if m.NumCores > 0 {
		m.CpuPercent = 100 * m.CpuCores / float64(m.NumCores)
	}
	if last.Memory != nil {
		m.MemoryUsed = last.Memory.WorkingSet
	}
	if m.MemoryTotal > 0 {
		m.MemoryPercent = 100 * float64(m.MemoryUsed) / float64(m.MemoryTotal)
	}
	for _, fs := range last.Filesystem {
		if fs.Capacity != nil && fs.Usage != nil && *fs.Capacity > m.DiskTotal {
			m.DiskTotal, m.DiskUsed, m.DiskDevice = *fs.Capacity, *fs.Usage, fs.Device
		}
	}
	if m.DiskTotal > 0 {
		m.DiskPercent = 100 * float64(m.DiskUsed) / float64(m.DiskTotal)
	}
	return m, last.Timestamp, true
}

// cpu_inst is computed from two samples: the first one of a response has none.
func latestCpuInst(stats []MachineStats) *cpuInst {
	for i := len(stats) - 1; i >= 0; i-- {
		if stats[i].CpuInst != nil {
			return stats[i].CpuInst
		}
	}
	return nil
}

// ParseContainers turns a docker stats response (count ≥ 2, for rates) into one entry per
// container, sorted by name.
func ParseContainers(raw map[string]ContainerInfo) []ContainerMetrics {
	out := make([]ContainerMetrics, 0, len(raw))
	for key, c := range raw {
		if len(c.Stats) == 0 {
			continue
		}
		m := ContainerMetrics{ID: key[strings.LastIndex(key, "/")+1:], Image: c.Spec.Image, MemoryLimit: c.Spec.Memory.Limit}
		// cAdvisor's aliases of a docker container: its name, then its id.
		for _, a := range c.Spec.Aliases {
			if a != m.ID && !strings.HasPrefix(m.ID, a) {
				m.Name = strings.TrimPrefix(a, "/")
				break
			}
		}
		if m.Name == "" {
			m.Name = m.ID
		}
		m.App, m.Node = c.Spec.Labels["matrix.app"], c.Spec.Labels["matrix.node"]
		last := c.Stats[len(c.Stats)-1]
		for i := len(c.Stats) - 1; i >= 0; i-- {
			if c.Stats[i].CpuInst != nil {
				m.CpuCores = float64(c.Stats[i].CpuInst.Usage.Total) / 1e9
				break
			}
		}
		if last.Memory != nil {
			m.MemoryUsed = last.Memory.WorkingSet
		}
		if last.Network != nil {
			m.NetRxBytes, m.NetTxBytes = sumIfaces(last.Network)
			if len(c.Stats) >= 2 && c.Stats[len(c.Stats)-2].Network != nil {
				prev := c.Stats[len(c.Stats)-2]
				dt := last.Timestamp.Sub(prev.Timestamp).Seconds()
				rx, tx := sumIfaces(prev.Network)
				if dt > 0 && m.NetRxBytes >= rx && m.NetTxBytes >= tx {
					m.NetRxRate, m.NetTxRate = float64(m.NetRxBytes-rx)/dt, float64(m.NetTxBytes-tx)/dt
				}
			}
		}
		for _, fs := range last.Filesystem {
			m.DiskUsed += fs.Usage
		}
		out = append(out, m)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

func sumIfaces(n *networkStats) (rx, tx uint64) {
	for _, i := range n.Interfaces {
		rx += i.RxBytes
		tx += i.TxBytes
	}
	return
}

func decode[T any](b []byte) (T, error) {
	var v T
	err := json.Unmarshal(b, &v)
	return v, err
}
