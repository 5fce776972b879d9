package tickflow.peer;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.apache.avro.Schema;

/**
 * The three record shapes the peer reads and writes, from the repository's .avsc files: copied into
 * the jar at build time (pom.xml), or read from a directory given with {@code --schema-dir}.
 */
final class Schemas {
  static final String RAW_RECORD = "raw-record.avsc";
  static final String TRADE = "trade.avsc";
  static final String BAR = "bar.avsc";

  private static final ObjectMapper JSON = new ObjectMapper();

  final Schema rawRecord;
  final Schema trade;
  final Schema bar;
  /** The schema texts as tickflow sends them to the registry: JSON.stringify(JSON.parse(file)). */
  final String tradeJson;
  final String barJson;

  private Schemas(String rawText, String tradeText, String barText) {
    this.rawRecord = new Schema.Parser().parse(rawText);
    this.trade = new Schema.Parser().parse(tradeText);
    this.bar = new Schema.Parser().parse(barText);
    this.tradeJson = compact(tradeText);
    this.barJson = compact(barText);
  }

  static Schemas load(Path dir) {
    return new Schemas(read(dir, RAW_RECORD), read(dir, TRADE), read(dir, BAR));
  }

  private static String read(Path dir, String name) {
    try {
      if (dir != null) return Files.readString(dir.resolve(name), StandardCharsets.UTF_8);
      try (InputStream in = Schemas.class.getResourceAsStream("/tickflow/schemas/" + name)) {
        if (in == null) throw new IllegalStateException("schema " + name + " is not in the jar; rebuild it (mvn -f ops/bench/peer/pom.xml package)");
        return new String(in.readAllBytes(), StandardCharsets.UTF_8);
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read schema " + name, e);
    }
  }

  /** Whitespace-free JSON with the file's key order, as JSON.stringify(JSON.parse(text)) writes it. */
  static String compact(String text) {
    try {
      return JSON.writeValueAsString(JSON.readTree(text));
    } catch (IOException e) {
      throw new UncheckedIOException("schema is not JSON", e);
    }
  }
}
