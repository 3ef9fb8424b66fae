// Command kubelet is the node agent of the pinned k8s.io/kubernetes release, built from
// the module proxy for the single-node cluster of Larum's tests (larum-kube-harness Node).
package main

import (
	"context"
	"os"

	"k8s.io/component-base/cli"
	_ "k8s.io/component-base/logs/json/register"
	"k8s.io/kubernetes/cmd/kubelet/app"
)

func main() {
	os.Exit(cli.Run(app.NewKubeletCommand(context.Background())))
}
