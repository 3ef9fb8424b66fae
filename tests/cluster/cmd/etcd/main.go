// Command etcd is the etcd server (go.etcd.io/etcd/server/v3) that backs the test
// kube-apiserver.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() {
	etcdmain.Main(os.Args)
}
