// armtune's GC test workload: forces a known number of Go garbage collections.
//
// usage: gogc [N [PAUSE_MS]]   (default 20, 0) -- waits PAUSE_MS (so a --pid profile can attach),
// then N rounds of allocating garbage and runtime.GC(); prints the runtime's own count of
// completed cycles (MemStats.NumGC), which armtune's must match.
//
// Build: go build -o gogc gogc.go   (symbols kept: no -ldflags=-s)
package main

import (
	"fmt"
	"os"
	"runtime"
	"strconv"
	"time"
)

var sink [][]byte

//go:noinline
func churn() {
	for i := 0; i < 2000; i++ {
		sink = append(sink, make([]byte, 1024))
	}
	sink = nil
}

func main() {
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
