package main

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"
)

// result is one measured run: calls completed per second and latency percentiles.
type result struct {
	callers    int
	calls      int
	throughput float64
	p50, p99   time.Duration
}

func (r result) String() string {
	return fmt.Sprintf("%3d callers  %9.0f calls/s  p50 %8s  p99 %8s", r.callers, r.throughput,
		r.p50.Round(time.Microsecond), r.p99.Round(time.Microsecond))
}

// measure runs call from the given number of goroutines, each in a closed loop, for the duration
// (after a warm-up of a fifth of it, not counted), and records every call's latency. The first
// error stops the run: a benchmark of failures measures nothing.
func measure(callers int, duration time.Duration, call func(context.Context) error) (result, error) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	warmUntil := time.Now().Add(duration / 5)
	stopAt := warmUntil.Add(duration)
	latencies := make([][]time.Duration, callers)
	var failure error
	var once sync.Once
	var wg sync.WaitGroup
	for i := range callers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			own := make([]time.Duration, 0, 1<<16)
			for {
				start := time.Now()
				if start.After(stopAt) || ctx.Err() != nil {
					break
				}
				if err := call(ctx); err != nil {
					once.Do(func() { failure = err; cancel() })
					return
				}
				if start.After(warmUntil) {
					own = append(own, time.Since(start))
				}
			}
			latencies[i] = own
		}()
	}
	wg.Wait()
	if failure != nil {
		return result{}, failure
	}
	all := slices.Concat(latencies...)
	if len(all) == 0 {
		return result{}, fmt.Errorf("no call completed in %s", duration)
	}
	slices.Sort(all)
	return result{callers: callers, calls: len(all), throughput: float64(len(all)) / duration.Seconds(),
		p50: all[len(all)/2], p99: all[len(all)*99/100]}, nil
}
