// Command redis-get is the baseline of RedisPluginBenchmark (bench/): a direct Redis GET from Go,
// with the same client library the Redis plugin uses, of the record the benchmark reads through
// the plugin host. The benchmark writes a count on each line of standard input; this command does
// that many GETs one after another (each waits for its reply, as a retrieve does) and answers
// "ok", so the pipe's cost is shared by many GETs.
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/redis/go-redis/v9"
)

func main() {
	address := flag.String("address", "", "host:port of the Redis server")
	key := flag.String("key", "", "the Redis key to GET")
	flag.Parse()
	if err := run(*address, *key); err != nil {
		fmt.Fprintln(os.Stderr, "redis-get:", err)
		os.Exit(1)
	}
}

func run(address, key string) error {
	if address == "" || key == "" {
		return fmt.Errorf("-address and -key are required")
	}
	client := redis.NewClient(&redis.Options{Addr: address, PoolSize: 1})
	defer client.Close()
	ctx := context.Background()
	in := bufio.NewScanner(os.Stdin)
	out := bufio.NewWriter(os.Stdout)
	for in.Scan() {
		count, err := strconv.Atoi(strings.TrimSpace(in.Text()))
		if err != nil || count < 1 {
			return fmt.Errorf("expected a positive count, got %q", in.Text())
		}
		for i := 0; i < count; i++ {
			value, err := client.Get(ctx, key).Bytes()
			if err != nil {
				return fmt.Errorf("GET %s: %w", key, err)
			}
			if len(value) == 0 {
				return fmt.Errorf("GET %s: empty value", key)
			}
		}
		if _, err := out.WriteString("ok\n"); err != nil {
			return err
		}
		if err := out.Flush(); err != nil {
			return err
		}
	}
	return in.Err()
}
