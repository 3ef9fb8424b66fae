// Command coredns is the cluster DNS of the test node (image larum.local/coredns): CoreDNS
// from the module proxy (pinned in go.mod) with only the plugins a cluster without an
// upstream resolver needs. The order of Directives is CoreDNS's own (plugins run in it).
package main

import (
	"github.com/coredns/coredns/core/dnsserver"
	"github.com/coredns/coredns/coremain"

	_ "github.com/coredns/coredns/plugin/cache"
	_ "github.com/coredns/coredns/plugin/errors"
	_ "github.com/coredns/coredns/plugin/health"
	_ "github.com/coredns/coredns/plugin/kubernetes"
	_ "github.com/coredns/coredns/plugin/log"
	_ "github.com/coredns/coredns/plugin/ready"
	_ "github.com/coredns/coredns/plugin/reload"
)

func main() {
	// Only these plugins are linked in; a Corefile naming another one fails to load.
	dnsserver.Directives = []string{
		"reload",
		"ready",
		"health",
		"errors",
		"log",
		"cache",
		"kubernetes",
	}
	coremain.Run()
}
