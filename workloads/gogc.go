// armtune's GC test workload: forces a known number of Go garbage collections.
//
// usage: gogc [N [PAUSE_MS]]   (default 20, 0) -- waits PAUSE_MS (so a --pid profile can attach),
// then N rounds of allocating garbage and runtime.GC(); prints the runtime's own count of
// completed cycles (MemStats.NumGC), which armtune's must match.
//
//	gogc trees N   -- builds N trees over two goroutines and prints the time it took.
//
//	gogc assist [MS]   (default 1000) -- four goroutines build pointer-rich trees in buildTree
//	for MS milliseconds over a ~25 MB live heap with GOGC=20: collections start on their own and
//	the allocating goroutines outrun the background marker, so they pay mark assists.
//
// Build: go build -o gogc gogc.go   (symbols kept: no -ldflags=-s)
package main

import (
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"sync"
	"time"
)

var sink [][]byte

type node struct {
	left, right *node
	pad         [4]uint64
}

//go:noinline
func buildTree(depth int) *node {
	if depth == 0 {
		return &node{}
	}
	return &node{left: buildTree(depth - 1), right: buildTree(depth - 1)}
}

// assist keeps 64 trees of 8,191 nodes live while replacing them as fast as four goroutines can.
func assist(d time.Duration) {
	debug.SetGCPercent(20)
	keep := make([]*node, 64)
	deadline := time.Now().Add(d)
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; time.Now().Before(deadline); i++ {
				keep[w*16+i%16] = buildTree(12)
			}
		}(w)
	}
	wg.Wait()
}

//go:noinline
func churn() {
	for i := 0; i < 2000; i++ {
		sink = append(sink, make([]byte, 1024))
	}
	sink = nil
}

// trees builds n trees of 8,191 nodes over two goroutines: fixed work, timed by itself (for the
// unwinding benchmark, which compares the time with and without a profiler).
func trees(n int) {
	start := time.Now()
	var wg sync.WaitGroup
	keep := make([]*node, 2)
	for w := 0; w < 2; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := w; i < n; i += 2 {
				keep[w] = buildTree(12)
			}
		}(w)
	}
	wg.Wait()
	fmt.Printf("gogc: elapsed %.6f s\n", time.Since(start).Seconds())
}

func main() {
	if len(os.Args) > 2 && os.Args[1] == "trees" {
		n, _ := strconv.Atoi(os.Args[2])
		trees(n)
		return
	}
	if len(os.Args) > 1 && os.Args[1] == "assist" {
		ms := 1000
		if len(os.Args) > 2 {
			ms, _ = strconv.Atoi(os.Args[2])
		}
		assist(time.Duration(ms) * time.Millisecond)
		// A cycle the allocation started may still be marking: finish it (runtime.GC waits for
		// it and runs one more), then stop collecting, so the count read is the final one.
		runtime.GC()
		debug.SetGCPercent(-1)
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		fmt.Printf("gogc: NumGC=%d\n", m.NumGC)
		return
	}
	n := 20
	if len(os.Args) > 1 {
		n, _ = strconv.Atoi(os.Args[1])
	}
	if len(os.Args) > 2 {
		ms, _ := strconv.Atoi(os.Args[2])
		time.Sleep(time.Duration(ms) * time.Millisecond)
	}
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	for i := 0; i < n; i++ {
		churn()
		runtime.GC()
	}
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	fmt.Printf("gogc: NumGC=%d since_pause=%d\n", m.NumGC, m.NumGC-before.NumGC)
}
