// Command redis is a keystore plugin that keeps sealed key records in Redis: the shared cache of
// L4 keys for a fleet of edge nodes. Every node's keystore runs this plugin against the same
// Redis server and prefix; a key one node stores, every node reads. See the README ("Redis plugin").
package main

import "github.com/openkcm/keystore/plugins/go/sdk"

func main() {
	sdk.Serve(newBackend())
}
