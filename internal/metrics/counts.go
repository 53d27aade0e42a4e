package metrics

import (
	"sync"

	"github.com/prometheus/client_golang/prometheus"
)

// countsCollector reads a map of label value → count at scrape time.
type countsCollector struct {
	desc *prometheus.Desc
	read func() map[string]int

	mu   sync.Mutex
	seen map[string]bool
}

func (c *countsCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c *countsCollector) Collect(ch chan<- prometheus.Metric) {
	now := c.read()
	c.mu.Lock()
	defer c.mu.Unlock()
	for v := range now {
		c.seen[v] = true
	}
	for v := range c.seen {
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, float64(now[v]), v)
	}
}
