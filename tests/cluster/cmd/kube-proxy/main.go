// Command kube-proxy programs Service routing (iptables mode) for the single-node cluster
// of Larum's tests, from the pinned k8s.io/kubernetes release.
package main

import (
	"os"

	"k8s.io/component-base/cli"
	_ "k8s.io/component-base/logs/json/register"
	"k8s.io/kubernetes/cmd/kube-proxy/app"
)

func main() {
	os.Exit(cli.Run(app.NewProxyCommand()))
}
