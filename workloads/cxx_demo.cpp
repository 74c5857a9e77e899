// A C++ workload for the demangling test: hot code in a namespaced class method and a template.
//
// usage: cxx_demo [SECONDS]
// Build: g++ -O2 -g -fno-omit-frame-pointer -o cxx_demo cxx_demo.cpp
#include <chrono>
#include <cstdio>
#include <cstdlib>

namespace shop {

volatile unsigned long sink;

__attribute__((noinline)) void checkpoint(unsigned long x) { sink += x; }

template <typename T>
struct Ledger {
    __attribute__((noinline)) T total(unsigned long n) {
        T x = 1;
        for (unsigned long i = 0; i < n; i++) {
            x = x * 6364136223846793005UL + 1442695040888963407UL;
            if ((i & 0xffff) == 0) checkpoint(x);
        }
        return x;
    }
};

class Checkout {
  public:
    __attribute__((noinline)) unsigned long settle(unsigned long n) { return ledger_.total(n) ^ 1; }  // not a tail call

  private:
    Ledger<unsigned long> ledger_;
};

}  // namespace shop

int main(int argc, char **argv) {
    double seconds = argc > 1 ? std::atof(argv[1]) : 2.0;
    auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
    shop::Checkout checkout;
    while (std::chrono::steady_clock::now() < end) shop::sink += checkout.settle(1000000);
    std::printf("cxx_demo done (%lu)\n", (unsigned long)shop::sink);
    return 0;
}
