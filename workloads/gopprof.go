// armtune's pprof input workload: a Go program that profiles itself with runtime/pprof, as Go
// services do (net/http/pprof serves the same files), for `armtune flame` to draw.
//
// usage: gopprof CPU_OUT HEAP_OUT
//
// CPU_OUT: a CPU profile of one second of CPU time split 3:1 between main.burnMajor and
// main.burnMinor.
// HEAP_OUT: a heap profile with every allocation recorded (MemProfileRate 1): main.keepBlocks
// keeps 64 blocks of 64 KiB live, main.dropBlocks allocates 256 blocks of 4 KiB and drops them.
//
// Build: go build -o gopprof gopprof.go   (symbols kept: no -ldflags=-s)
package main

import (
	"fmt"
	"os"
	"runtime"
	"runtime/pprof"
	"syscall"
	"time"
)

var sink uint64
var kept [][]byte
var last []byte

//go:noinline
func spin(n int) {
	x := uint64(1)
	for i := 0; i < n; i++ {
		x = x*6364136223846793005 + 1442695040888963407
	}
	sink += x
}

//go:noinline
func burnMajor() { spin(300000) }

//go:noinline
func burnMinor() { spin(100000) }

//go:noinline
func keepBlocks() {
	for i := 0; i < 64; i++ {
		kept = append(kept, make([]byte, 64<<10))
	}
}

//go:noinline
func dropBlocks() {
	for i := 0; i < 256; i++ {
		last = make([]byte, 4<<10) // through a global: on the heap, not the stack
	}
	last = nil
}

// cpuTime is the CPU time this process has used (user and system).
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		panic(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: gopprof CPU_OUT HEAP_OUT")
		os.Exit(2)
	}
	runtime.MemProfileRate = 1
	cpu, err := os.Create(os.Args[1])
	if err != nil {
		panic(err)
	}
	if err := pprof.StartCPUProfile(cpu); err != nil {
		panic(err)
	}
	// One second of CPU time, not of wall time: on a loaded machine the profile still holds
	// about 100 samples, so the 3:1 split is measured as precisely as on an idle one.
	for start := cpuTime(); cpuTime()-start < time.Second; {
		burnMajor()
		burnMinor()
	}
	pprof.StopCPUProfile()
	cpu.Close()

	keepBlocks()
	dropBlocks()
	runtime.GC() // the heap profile is as of the last collection
	heap, err := os.Create(os.Args[2])
	if err != nil {
		panic(err)
	}
	if err := pprof.WriteHeapProfile(heap); err != nil {
		panic(err)
	}
	heap.Close()
	fmt.Println(len(kept))
}
