package tickflow.peer;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Command-line arguments: {@code --name value} or {@code --name=value}; see {@link #USAGE}. */
final class PeerOptions {
  static final String USAGE = String.join("\n",
      "usage: java -Xmx512m -jar tickflow-peer.jar --input TOPIC [options]",
      "",
      "  --input TOPIC              raw records (RawRecord, Confluent wire format) with Tardis trades lines (required)",
      "  --trades-topic TOPIC       canonical trades out, and the bar stage's input (default md.trades.v1)",
      "  --bars-topic TOPIC         final 1-minute bars out (default md.bars.v1)",
      "  --dlq-topic TOPIC          dead letters, raw bytes as read (default <input>.dlq)",
      "  --bootstrap-servers LIST   Kafka brokers (default $TICKFLOW_KAFKA_BROKERS, else 127.0.0.1:9092)",
      "  --application-id ID        Kafka Streams application.id: group, transactional ids, internal topics (default tickflow-peer)",
      "  --registry-url URL         Confluent-API base URL (default $TICKFLOW_SCHEMA_REGISTRY_URL, else http://127.0.0.1:8081/apis/ccompat/v7)",
      "  --trades-subject S         registry subject of the trade schema (default md.trades.v1-value)",
      "  --bars-subject S           registry subject of the bar schema (default md.bars.v1-value)",
      "  --trades-schema-id N       use this id instead of looking it up (with --bars-schema-id: no registry call at all)",
      "  --bars-schema-id N         use this id instead of looking it up",
      "  --schema-dir DIR           read raw-record.avsc, trade.avsc, bar.avsc from DIR instead of the jar's copies",
      "  --commit-interval-ms N     commit.interval.ms (default 100, Kafka Streams' exactly-once default)",
      "  --threads N                num.stream.threads (default 1)",
      "  --processing-guarantee G   exactly_once_v2 (default) or at_least_once",
      "  --grace-ms N               window grace, tickflow's aggregate allowedLatenessMs (default 2000)",
      "  --store rocksdb|memory     window store of the bars (default rocksdb, Kafka Streams' default; memory = in-memory + changelog, as tickflow)",
      "  --state-dir DIR            state.dir (default: a fresh temporary directory, deleted on exit)",
      "  --stop-after-trades N      stop once N trades were written and N read back by the bar stage (default 0: never)",
      "  --idle-stop-s X            stop once nothing was processed for X seconds, counted from the first record (default 0: never)",
      "  --progress-ms N            progress line interval (default 1000; 0: none)",
      "  --no-topic-check           do not check at startup that the four topics exist (e.g. when ACLs forbid listing topics)",
      "  --config KEY=VALUE         any other Kafka Streams, consumer or producer property (repeatable)",
      "  --help                     this text",
      "",
      "stdout: one JSON object per line: {\"event\":\"started\"...}, {\"event\":\"progress\"...}, {\"event\":\"stopped\"...}.",
      "Logs go to stderr. Exit 0 after a clean stop (count, idle or SIGTERM), 1 on a failure, 2 on bad arguments.");

  private static final java.util.Set<String> OPTIONS = java.util.Set.of(
      "input", "trades-topic", "bars-topic", "dlq-topic", "bootstrap-servers", "application-id", "registry-url",
      "trades-subject", "bars-subject", "trades-schema-id", "bars-schema-id", "schema-dir", "commit-interval-ms", "threads",
      "processing-guarantee", "grace-ms", "store", "state-dir", "stop-after-trades", "idle-stop-s", "progress-ms", "config");

  String input;
  String tradesTopic = "md.trades.v1";
  String barsTopic = "md.bars.v1";
  String dlqTopic;
  String bootstrapServers;
  String applicationId = "tickflow-peer";
  String registryUrl;
  String tradesSubject = "md.trades.v1-value";
  String barsSubject = "md.bars.v1-value";
  Integer tradesSchemaId;
  Integer barsSchemaId;
  Path schemaDir;
  long commitIntervalMs = 100;
  int threads = 1;
  String processingGuarantee = "exactly_once_v2";
  long graceMs = 2000;
  boolean inMemoryStore;
  Path stateDir;
  long stopAfterTrades;
  double idleStopSeconds;
  long progressMs = 1000;
  final Map<String, String> config = new LinkedHashMap<>();
  boolean help;
  boolean checkTopics = true;

  static final class UsageException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    UsageException(String message) {
      super(message);
    }
  }

  static PeerOptions parse(String[] args, Map<String, String> env) {
    PeerOptions o = new PeerOptions();
    List<String> list = new ArrayList<>(List.of(args));
    for (int i = 0; i < list.size(); i++) {
      String arg = list.get(i);
      if (!arg.startsWith("--")) throw new UsageException("unexpected argument '" + arg + "'");
      String name = arg.substring(2);
      String value = null;
      int eq = name.indexOf('=');
      if (eq >= 0) {
        value = name.substring(eq + 1);
        name = name.substring(0, eq);
      }
      if (name.equals("help")) {
        o.help = true;
        continue;
      }
      if (name.equals("no-topic-check")) {
        o.checkTopics = false;
        continue;
      }
      if (!OPTIONS.contains(name)) throw new UsageException("unknown option --" + name);
      if (value == null) {
        if (i + 1 >= list.size()) throw new UsageException("--" + name + " needs a value");
        value = list.get(++i);
      }
      switch (name) {
        case "input" -> o.input = value;
        case "trades-topic" -> o.tradesTopic = value;
        case "bars-topic" -> o.barsTopic = value;
        case "dlq-topic" -> o.dlqTopic = value;
        case "bootstrap-servers" -> o.bootstrapServers = value;
        case "application-id" -> o.applicationId = value;
        case "registry-url" -> o.registryUrl = value;
        case "trades-subject" -> o.tradesSubject = value;
        case "bars-subject" -> o.barsSubject = value;
        case "trades-schema-id" -> o.tradesSchemaId = (int) number(name, value, 0, Integer.MAX_VALUE);
        case "bars-schema-id" -> o.barsSchemaId = (int) number(name, value, 0, Integer.MAX_VALUE);
        case "schema-dir" -> o.schemaDir = Path.of(value);
        case "commit-interval-ms" -> o.commitIntervalMs = number(name, value, 1, Integer.MAX_VALUE);
        case "threads" -> o.threads = (int) number(name, value, 1, 64);
        case "processing-guarantee" -> {
          if (!value.equals("exactly_once_v2") && !value.equals("at_least_once")) throw new UsageException("--processing-guarantee is exactly_once_v2 or at_least_once");
          o.processingGuarantee = value;
        }
        case "grace-ms" -> o.graceMs = number(name, value, 0, Integer.MAX_VALUE);
        case "store" -> {
          if (!value.equals("rocksdb") && !value.equals("memory")) throw new UsageException("--store is rocksdb or memory");
          o.inMemoryStore = value.equals("memory");
        }
        case "state-dir" -> o.stateDir = Path.of(value);
        case "stop-after-trades" -> o.stopAfterTrades = number(name, value, 0, Long.MAX_VALUE);
        case "idle-stop-s" -> {
          try {
            o.idleStopSeconds = Double.parseDouble(value);
          } catch (NumberFormatException e) {
            throw new UsageException("--idle-stop-s takes seconds, found '" + value + "'");
          }
          if (!(o.idleStopSeconds >= 0)) throw new UsageException("--idle-stop-s takes seconds >= 0");
        }
        case "progress-ms" -> o.progressMs = number(name, value, 0, Integer.MAX_VALUE);
        case "config" -> {
          int at = value.indexOf('=');
          if (at <= 0) throw new UsageException("--config takes KEY=VALUE, found '" + value + "'");
          o.config.put(value.substring(0, at), value.substring(at + 1));
        }
        default -> throw new UsageException("unknown option --" + name);
      }
    }
    if (o.help) return o;
    if (o.input == null || o.input.isEmpty()) throw new UsageException("--input TOPIC is required");
    if (o.dlqTopic == null) o.dlqTopic = o.input + ".dlq";
    if (o.bootstrapServers == null) o.bootstrapServers = nonEmpty(env.get("TICKFLOW_KAFKA_BROKERS"), "127.0.0.1:9092");
    if (o.registryUrl == null) o.registryUrl = nonEmpty(env.get("TICKFLOW_SCHEMA_REGISTRY_URL"), "http://127.0.0.1:8081/apis/ccompat/v7");
    return o;
  }

  private static String nonEmpty(String value, String fallback) {
    return value == null || value.isBlank() ? fallback : value;
  }

  private static long number(String name, String value, long min, long max) {
    long n;
    try {
      n = Long.parseLong(value);
    } catch (NumberFormatException e) {
      throw new UsageException("--" + name + " takes an integer, found '" + value + "'");
    }
    if (n < min || n > max) throw new UsageException("--" + name + " must be from " + min + " to " + max + ", found " + n);
    return n;
  }
}
