// armtune's JVM garbage-collection test workload: forces a known number of collections and prints
// the JVM's own count, which armtune's (from HotSpot's gc__begin / gc__end SDT probes) must match.
//
// usage: java -cp DIR JavaGc [N]   (default 10)
// Build: javac -d DIR JavaGc.java
import java.lang.management.GarbageCollectorMXBean;
import java.lang.management.ManagementFactory;

public class JavaGc {
    static Object sink;

    public static void main(String[] args) {
        int n = args.length > 0 ? Integer.parseInt(args[0]) : 10;
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < 1000; j++) {
                sink = new byte[1024];
            }
            System.gc();
        }
        long total = 0;
        for (GarbageCollectorMXBean gc : ManagementFactory.getGarbageCollectorMXBeans()) {
            total += Math.max(0, gc.getCollectionCount());
        }
        System.out.println("JavaGc: collections=" + total);
    }
}
