package dev.tally.mongoserver;

import de.bwaldvogel.mongo.MongoBackend;
import de.bwaldvogel.mongo.MongoServer;
import de.bwaldvogel.mongo.backend.h2.H2Backend;
import de.bwaldvogel.mongo.backend.memory.MemoryBackend;
import org.h2.mvstore.MVStore;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.CountDownLatch;

/**
 * Runs a MongoDB-wire server on a loopback port for local stacks and tests.
 *
 * <pre>
 * java -jar tally-mongo-server.jar --port 27018 [--host 127.0.0.1] [--backend h2|h2-stock|memory] [--file data/mongo.mv]
 * </pre>
 *
 * The h2 backend keeps data in one MVStore file and commits it before acknowledging
 * a write ({@link DurableH2Backend}), so both a graceful restart and a SIGKILL keep
 * every acknowledged write. The memory backend keeps nothing (and is about 5x faster).
 * h2-stock is mongo-java-server's own H2Backend on the same file, without the
 * serialization and the commit per write (MVStore commits about once a second): for
 * comparisons only (bench/mongo-emulator-loss.bench.ts), a SIGKILL loses recent writes.
 */
public final class Main {

    private Main() {
    }

    public static void main(String[] args) throws Exception {
        Map<String, String> opts = parse(args);
        String host = opts.getOrDefault("host", "127.0.0.1");
        int port = Integer.parseInt(opts.getOrDefault("port", "27017"));
        String backendName = opts.getOrDefault("backend", "h2");

        MongoBackend backend;
        if ("memory".equals(backendName)) {
            backend = new MemoryBackend();
        } else if ("h2".equals(backendName)) {
            String file = opts.get("file");
            backend = file == null ? H2Backend.inMemory() : new DurableH2Backend(openStore(file));
        } else if ("h2-stock".equals(backendName)) {
            String file = opts.get("file");
            backend = file == null ? H2Backend.inMemory() : new H2Backend(openStore(file));
        } else {
            throw new IllegalArgumentException("--backend must be h2, h2-stock or memory, got " + backendName);
        }

        MongoServer server = new MongoServer(backend);
        server.bind(host, port);
        System.err.println("tally-mongo-server listening on " + host + ":" + port + " backend=" + backend);

        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            System.err.println("tally-mongo-server shutting down");
            // shutdownNow closes the backend, which commits and closes the MVStore file.
            server.shutdownNow();
            stopped.countDown();
        }, "shutdown"));
        stopped.await();
    }

    /** The MVStore file of an H2 backend, its directory created if needed. */
    private static MVStore openStore(String file) throws java.io.IOException {
        Path parent = Path.of(file).toAbsolutePath().getParent();
        if (parent != null) {
            Files.createDirectories(parent);
        }
        return new MVStore.Builder().fileName(file).open();
    }

    private static Map<String, String> parse(String[] args) {
        Map<String, String> opts = new HashMap<>();
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            if (!a.startsWith("--") || i + 1 >= args.length) {
                throw new IllegalArgumentException("usage: --port N [--host H] [--backend h2|h2-stock|memory] [--file PATH], bad argument: " + a);
            }
            opts.put(a.substring(2), args[++i]);
        }
        return opts;
    }
}
