// armtune's GC test workload: forces a known number of Go garbage collections.
//
// usage: gogc [N]   (default 20) -- N rounds of allocating garbage then runtime.GC(); prints the
// runtime's own count of completed cycles (MemStats.NumGC), which armtune's must match.
//
// Build: go build -o gogc gogc.go   (symbols kept: no -ldflags=-s)
package main

import (
	"fmt"
	"os"
	"runtime"
	"strconv"
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
	for i := 0; i < n; i++ {
		churn()
		runtime.GC()
	}
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	fmt.Printf("gogc: NumGC=%d\n", m.NumGC)
}
