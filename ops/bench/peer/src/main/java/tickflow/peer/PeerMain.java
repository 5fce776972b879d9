package tickflow.peer;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.PrintStream;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.common.Metric;
import org.apache.kafka.common.MetricName;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.Topology;
import org.apache.kafka.streams.errors.StreamsUncaughtExceptionHandler;

/**
 * Entry point: looks up the two schema ids once, checks the topics exist, runs the topology
 * ({@link PeerTopology}) under exactly_once_v2, prints JSON lines to stdout and stops on a count,
 * on idleness or on SIGTERM, always by closing the Streams instance (which commits).
 */
public final class PeerMain {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final PrintStream OUT = new PrintStream(new java.io.FileOutputStream(java.io.FileDescriptor.out), true, StandardCharsets.UTF_8);

  private final PeerOptions options;
  private final Counters counters = new Counters();
  private final long startedNanos = System.nanoTime();
  private KafkaStreams streams;
  private Path tempStateDir;
  private boolean stopped;
  private volatile boolean announced;
  private volatile int exitCode;
  private volatile long firstRecordNanos;
  private volatile long lastActivityNanos;
  private volatile long lastActivityEpochMs;

  private PeerMain(PeerOptions options) {
    this.options = options;
  }

  public static void main(String[] args) {
    PeerOptions options;
    try {
      options = PeerOptions.parse(args, System.getenv());
    } catch (PeerOptions.UsageException e) {
      System.err.println("tickflow-peer: " + e.getMessage());
      System.err.println(PeerOptions.USAGE);
      System.exit(2);
      return;
    }
    if (options.help) {
      System.out.println(PeerOptions.USAGE);
      return;
    }
    PeerMain peer = new PeerMain(options);
    int code;
    try {
      code = peer.run();
    } catch (Exception e) {
      emit(event("failed", Map.of("error", describe(e))));
      e.printStackTrace();
      code = 1;
      peer.abandon();
    }
    peer.exitCode = code;
    System.exit(code);
  }

  private int run() throws Exception {
    // First, so that a SIGTERM at any point closes what exists and exits cleanly.
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      stop("signal");
      OUT.flush();
      System.err.flush();
      // The JVM would exit 143 after SIGTERM; a clean close is a clean exit.
      Runtime.getRuntime().halt(exitCode);
    }, "tickflow-peer-shutdown"));
    Schemas schemas = Schemas.load(options.schemaDir);
    int tradeId = options.tradesSchemaId != null ? options.tradesSchemaId : new SchemaRegistry(options.registryUrl).lookup(options.tradesSubject, schemas.tradeJson);
    int barId = options.barsSchemaId != null ? options.barsSchemaId : new SchemaRegistry(options.registryUrl).lookup(options.barsSubject, schemas.barJson);

    Properties props = streamsProperties();
    if (options.checkTopics) checkTopics(props, List.of(options.input, options.tradesTopic, options.barsTopic, options.dlqTopic));

    Topology topology = PeerTopology.build(options, schemas, tradeId, barId, counters);
    System.err.println(topology.describe());
    // Under the lock stop() takes: a SIGTERM from here on finds both or neither, and cleans up.
    synchronized (this) {
      if (stopped) return exitCode;
      if (!props.containsKey(StreamsConfig.STATE_DIR_CONFIG)) {
        tempStateDir = Files.createTempDirectory("tickflow-peer-");
        props.put(StreamsConfig.STATE_DIR_CONFIG, tempStateDir.toString());
      }
      streams = new KafkaStreams(topology, props);
    }
    streams.setUncaughtExceptionHandler(error -> {
      exitCode = 1;
      emit(event("error", Map.of("error", describe(error))));
      error.printStackTrace();
      return StreamsUncaughtExceptionHandler.StreamThreadExceptionResponse.SHUTDOWN_CLIENT;
    });
    Map<String, Object> started = new LinkedHashMap<>();
    started.put("input", options.input);
    started.put("tradesTopic", options.tradesTopic);
    started.put("barsTopic", options.barsTopic);
    started.put("dlqTopic", options.dlqTopic);
    started.put("applicationId", options.applicationId);
    started.put("processingGuarantee", options.processingGuarantee);
    started.put("commitIntervalMs", options.commitIntervalMs);
    started.put("threads", options.threads);
    started.put("store", options.inMemoryStore ? "memory" : "rocksdb");
    started.put("graceMs", options.graceMs);
    started.put("tradeSchemaId", tradeId);
    started.put("barSchemaId", barId);
    started.put("subtopologies", topology.describe().subtopologies().size());
    streams.setStateListener((next, previous) -> {
      if (next == KafkaStreams.State.RUNNING && !announced) {
        announced = true;
        Map<String, Object> line = new LinkedHashMap<>(started);
        line.put("startupMs", TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - startedNanos));
        // CPU spent starting (JVM, class loading, joining the group): subtract it from the stopped line's.
        line.put("cpuSeconds", cpuSeconds());
        emit(event("started", line));
      }
    });
    synchronized (this) {
      if (stopped) return exitCode;
      streams.start();
    }
    watch();
    return exitCode;
  }

  private Properties streamsProperties() {
    Properties props = new Properties();
    props.put(StreamsConfig.APPLICATION_ID_CONFIG, options.applicationId);
    props.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, options.bootstrapServers);
    props.put(StreamsConfig.PROCESSING_GUARANTEE_CONFIG, options.processingGuarantee);
    props.put(StreamsConfig.COMMIT_INTERVAL_MS_CONFIG, options.commitIntervalMs);
    props.put(StreamsConfig.NUM_STREAM_THREADS_CONFIG, options.threads);
    props.put(StreamsConfig.DEFAULT_KEY_SERDE_CLASS_CONFIG, Serdes.ByteArraySerde.class);
    props.put(StreamsConfig.DEFAULT_VALUE_SERDE_CLASS_CONFIG, Serdes.ByteArraySerde.class);
    if (options.stateDir != null) props.put(StreamsConfig.STATE_DIR_CONFIG, options.stateDir.toString());
    props.putAll(options.config);
    return props;
  }

  /** Kafka Streams creates its internal topics; the four it reads and writes must exist (the broker does not auto-create). */
  private static void checkTopics(Properties props, List<String> topics) throws Exception {
    Properties admin = new Properties();
    for (String name : props.stringPropertyNames()) {
      if (AdminClientConfig.configNames().contains(name)) admin.put(name, props.getProperty(name));
    }
    admin.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, props.get(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG));
    try (Admin client = Admin.create(admin)) {
      Set<String> existing = client.listTopics().names().get(30, TimeUnit.SECONDS);
      Set<String> missing = new TreeSet<>(topics);
      missing.removeAll(existing);
      if (!missing.isEmpty()) {
        throw new IllegalStateException("topics missing at " + props.get(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG) + ": " + String.join(", ", missing)
            + " (create them first: the input, the trades topic, the bars topic and the dead-letter topic)");
      }
    }
  }

  /** The main thread: progress lines, and the stop conditions. */
  private void watch() throws InterruptedException {
    long lastActivity = -1;
    long lastProgressNanos = System.nanoTime();
    long lastProgressRawIn = 0;
    while (true) {
      Thread.sleep(50);
      synchronized (this) {
        if (stopped) return;
      }
      KafkaStreams.State state = streams.state();
      if (state == KafkaStreams.State.ERROR || state == KafkaStreams.State.PENDING_ERROR || state == KafkaStreams.State.NOT_RUNNING) {
        exitCode = 1;
        stop("error");
        return;
      }
      long now = System.nanoTime();
      long activity = counters.activity();
      if (activity != lastActivity) {
        if (lastActivity >= 0 || activity > 0) {
          lastActivityNanos = now;
          lastActivityEpochMs = System.currentTimeMillis();
        }
        if (firstRecordNanos == 0 && activity > 0) firstRecordNanos = now;
        lastActivity = activity;
      }
      if (options.progressMs > 0 && now - lastProgressNanos >= TimeUnit.MILLISECONDS.toNanos(options.progressMs)) {
        Map<String, Object> line = counts();
        long rawIn = counters.rawIn.sum();
        line.put("rawInPerSecond", Math.round((rawIn - lastProgressRawIn) * 1e9 / (now - lastProgressNanos)));
        line.put("state", state.name());
        emit(event("progress", line));
        lastProgressNanos = now;
        lastProgressRawIn = rawIn;
      }
      long n = options.stopAfterTrades;
      if (n > 0 && counters.tradesOut.sum() >= n && counters.tradesIn.sum() >= n) {
        stop("count");
        return;
      }
      if (options.idleStopSeconds > 0 && firstRecordNanos != 0 && now - lastActivityNanos >= (long) (options.idleStopSeconds * 1e9)) {
        stop("idle");
        return;
      }
    }
  }

  /** After a failure: no `stopped` line from the exit hook; close what was started; delete the temporary state. */
  private synchronized void abandon() {
    if (stopped) return;
    stopped = true;
    if (streams != null) streams.close(Duration.ofSeconds(60));
    if (tempStateDir != null) deleteTree(tempStateDir);
  }

  /** Closes the Streams instance (committing what was processed) and prints the last line; once. */
  private synchronized void stop(String reason) {
    if (stopped) return;
    stopped = true;
    long closing = System.nanoTime();
    boolean closed = streams == null || streams.close(Duration.ofSeconds(60));
    Map<String, Object> line = counts();
    line.put("reason", reason);
    line.put("closed", closed);
    line.put("closeMs", TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - closing));
    line.put("firstRecordMs", firstRecordNanos == 0 ? null : TimeUnit.NANOSECONDS.toMillis(firstRecordNanos - startedNanos));
    line.put("lastRecordMs", lastActivityNanos == 0 ? null : TimeUnit.NANOSECONDS.toMillis(lastActivityNanos - startedNanos));
    line.put("lastRecordEpochMs", lastActivityEpochMs == 0 ? null : lastActivityEpochMs);
    line.put("droppedRecords", streams == null ? 0.0 : droppedRecords());
    line.put("peakRssMb", peakRssMb());
    emit(event("stopped", line));
    if (tempStateDir != null) deleteTree(tempStateDir);
  }

  private Map<String, Object> counts() {
    Map<String, Object> line = new LinkedHashMap<>();
    line.put("elapsedMs", TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - startedNanos));
    line.put("rawIn", counters.rawIn.sum());
    line.put("tradesOut", counters.tradesOut.sum());
    line.put("dlqOut", counters.dlqOut.sum());
    line.put("tradesIn", counters.tradesIn.sum());
    line.put("barsOut", counters.barsOut.sum());
    line.put("cpuSeconds", cpuSeconds());
    return line;
  }

  /** Records Kafka Streams dropped (windows past their grace, invalid timestamps), from its task metrics. */
  private double droppedRecords() {
    double total = 0;
    for (Map.Entry<MetricName, ? extends Metric> entry : streams.metrics().entrySet()) {
      if (entry.getKey().name().equals("dropped-records-total") && entry.getValue().metricValue() instanceof Number value) total += value.doubleValue();
    }
    return total;
  }

  private static Double cpuSeconds() {
    if (ManagementFactory.getOperatingSystemMXBean() instanceof com.sun.management.OperatingSystemMXBean os) {
      return Math.round(os.getProcessCpuTime() / 1e6) / 1e3;
    }
    return null;
  }

  /** VmHWM of /proc/self/status (Linux); null elsewhere. */
  private static Double peakRssMb() {
    try {
      for (String l : Files.readAllLines(Path.of("/proc/self/status"))) {
        if (l.startsWith("VmHWM:")) return Math.round(Long.parseLong(l.replaceAll("[^0-9]", "")) / 102.4) / 10.0;
      }
    } catch (IOException | RuntimeException e) {
      return null;
    }
    return null;
  }

  private static void deleteTree(Path root) {
    try (Stream<Path> paths = Files.walk(root)) {
      List<Path> all = new ArrayList<>(paths.sorted(Comparator.reverseOrder()).toList());
      for (Path p : all) Files.deleteIfExists(p);
    } catch (IOException e) {
      System.err.println("tickflow-peer: could not delete " + root + ": " + e);
    }
  }

  /** An exception and its causes on one line. */
  static String describe(Throwable error) {
    StringBuilder text = new StringBuilder(String.valueOf(error.getMessage() != null ? error.getMessage() : error.toString()));
    for (Throwable cause = error.getCause(); cause != null && cause != cause.getCause(); cause = cause.getCause()) {
      text.append(": ").append(cause.getMessage() != null ? cause.getMessage() : cause.toString());
    }
    return text.toString();
  }

  private static Map<String, Object> event(String name, Map<String, Object> fields) {
    Map<String, Object> line = new LinkedHashMap<>();
    line.put("event", name);
    line.put("timeMs", System.currentTimeMillis());
    line.putAll(fields);
    return line;
  }

  private static void emit(Map<String, Object> line) {
    try {
      String text = JSON.writeValueAsString(line);
      synchronized (OUT) {
        OUT.println(text);
      }
    } catch (IOException e) {
      System.err.println("tickflow-peer: cannot write JSON: " + e);
    }
  }
}
