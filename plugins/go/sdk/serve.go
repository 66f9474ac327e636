package sdk

import (
	"context"
	"os"
	"runtime"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"
	pb "github.com/openkcm/keystore/plugins/go/sdk/pluginv1"
	"google.golang.org/grpc"
)

// Handshake is what the keystore runtime and a plugin agree on before anything else: the runtime
// sets MagicCookieKey=MagicCookieValue in the plugin's environment and asks for ProtocolVersion.
var Handshake = plugin.HandshakeConfig{
	ProtocolVersion:  1,
	MagicCookieKey:   "OPENKCM_KEYSTORE_PLUGIN",
	MagicCookieValue: "sealed-records-only",
}

// PluginName is the name the backend is served under in go-plugin's plugin set.
const PluginName = "keystore"

// parentPollInterval is how often a plugin checks that the process that started it is alive.
const parentPollInterval = 500 * time.Millisecond

// Logger writes to the plugin's standard error, which the runtime copies into its log. (go-plugin
// redirects os.Stderr once serving; this logger keeps the original.)
var Logger = hclog.New(&hclog.LoggerOptions{Name: "plugin", Output: os.Stderr, Level: hclog.Info})

// Serve serves backend with go-plugin's gRPC protocol and AutoMTLS until the runtime shuts the
// plugin down or the runtime itself is gone. Call it from main; it does not return.
func Serve(backend Backend) {
	oneProcessorUnlessSet()
	go exitWhenParentDies(os.Getppid(), parentPollInterval)
	plugin.Serve(&plugin.ServeConfig{
		HandshakeConfig: Handshake,
		Plugins:         plugin.PluginSet{PluginName: &grpcPlugin{backend: backend}},
		GRPCServer:      newGRPCServer,
		Logger:          Logger,
	})
	os.Exit(0)
}

// oneProcessorUnlessSet runs the plugin's goroutines on one OS thread at a time (GOMAXPROCS 1),
// unless the plugin's environment sets GOMAXPROCS (list it in the configuration's plugin.env).
// A plugin serves one host over one connection: with one processor, the goroutines a call passes
// through (the connection's reader, the handler, the writer) hand off on one thread instead of
// waking another core for each step; PluginHopBenchmark measured p50 114 µs with one processor per
// core and 96 µs with one. A plugin that needs several cores for its own work sets GOMAXPROCS.
func oneProcessorUnlessSet() {
	if _, set := os.LookupEnv("GOMAXPROCS"); !set {
		runtime.GOMAXPROCS(1)
	}
}

// exitWhenParentDies ends the plugin once its parent is gone (the runtime was killed, even with
// kill -9): the process is then re-parented, and its parent id changes.
func exitWhenParentDies(parent int, every time.Duration) {
	for range time.Tick(every) {
		if os.Getppid() != parent {
			Logger.Warn("the keystore runtime that started this plugin is gone; exiting", "parent", parent)
			os.Exit(3)
		}
	}
}

// windowSize is the fixed HTTP/2 flow-control window of the plugin's connection. A fixed window
// (64 KiB or more) turns off grpc-go's BDP estimation, whose PING after each received DATA frame
// would add two frames and a wake-up to every call over a link that has no bandwidth to probe.
const windowSize = 1 << 20

// newGRPCServer is go-plugin's default server with that fixed window.
func newGRPCServer(opts []grpc.ServerOption) *grpc.Server {
	return grpc.NewServer(append(opts, grpc.InitialWindowSize(windowSize), grpc.InitialConnWindowSize(windowSize))...)
}

// grpcPlugin is the go-plugin glue: it registers the backend's gRPC service.
type grpcPlugin struct {
	plugin.NetRPCUnsupportedPlugin
	backend Backend
}

func (p *grpcPlugin) GRPCServer(_ *plugin.GRPCBroker, s *grpc.Server) error {
	pb.RegisterKeystorePluginServer(s, &grpcServer{backend: p.backend})
	return nil
}

// GRPCClient is unused: the runtime is the client, and it is not written in Go.
func (p *grpcPlugin) GRPCClient(context.Context, *plugin.GRPCBroker, *grpc.ClientConn) (any, error) {
	return nil, nil
}
