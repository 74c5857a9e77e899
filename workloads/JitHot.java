// A hot Java method for the JIT test: `java -XX:+UnlockDiagnosticVMOptions
// -XX:+DumpPerfMapAtExit JitHot SECONDS` spends nearly all its time in hotJavaMethod, which C2
// compiles; the JVM writes /tmp/perf-PID.map as it exits.
public class JitHot {
    static long hotJavaMethod(long n) {
        long x = 0;
        for (long i = 0; i < n; i++) x = (x * 31 + i) % 1000003;
        return x;
    }

    public static void main(String[] args) {
        long end = System.nanoTime() + (long) (Double.parseDouble(args[0]) * 1e9);
        long s = 0;
        while (System.nanoTime() < end) s += hotJavaMethod(100000);
        System.out.println(s > 0 ? "ok" : "no");
    }
}
