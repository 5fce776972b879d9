package tickflow.peer;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;

/**
 * The one registry call the peer makes, at startup: the Confluent API's schema lookup
 * {@code POST <base>/subjects/<subject>} with {@code {"schema": "<json>"}}, which answers the id of
 * a schema already registered under the subject (the call tickflow's codec makes through
 * {@code getRegistryIdBySchema}; {@code tickflow schemas register} registers them).
 */
final class SchemaRegistry {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final int ATTEMPTS = 5;

  private final String baseUrl;
  private final HttpClient client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

  SchemaRegistry(String baseUrl) {
    this.baseUrl = baseUrl.endsWith("/") ? baseUrl.substring(0, baseUrl.length() - 1) : baseUrl;
  }

  /** The id of {@code schemaJson} under {@code subject}; retries transient failures, fails at once on a 4xx answer. */
  int lookup(String subject, String schemaJson) throws IOException, InterruptedException {
    String body = JSON.writeValueAsString(Map.of("schema", schemaJson));
    URI uri = URI.create(baseUrl + "/subjects/" + URLEncoder.encode(subject, StandardCharsets.UTF_8));
    HttpRequest request = HttpRequest.newBuilder(uri)
        .timeout(Duration.ofSeconds(10))
        .header("Content-Type", "application/vnd.schemaregistry.v1+json")
        .header("Accept", "application/vnd.schemaregistry.v1+json, application/json")
        .POST(HttpRequest.BodyPublishers.ofString(body, StandardCharsets.UTF_8))
        .build();
    for (int attempt = 1; ; attempt++) {
      try {
        HttpResponse<String> response = client.send(request, HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
        int status = response.statusCode();
        if (status / 100 == 2) {
          JsonNode id = JSON.readTree(response.body()).get("id");
          if (id == null || !id.canConvertToInt()) throw new IOException("registry answered " + uri + " without an id: " + Decimals.bounded(response.body(), 200));
          return id.intValue();
        }
        if (status / 100 == 4) {
          throw new IllegalStateException("the schema is not registered under " + subject + " at " + baseUrl + " (HTTP " + status + ": "
              + Decimals.bounded(response.body(), 200) + "); run `tickflow schemas register`");
        }
        throw new IOException("HTTP " + status + " from " + uri + ": " + Decimals.bounded(response.body(), 200));
      } catch (IOException e) {
        if (attempt >= ATTEMPTS) throw new IOException("schema registry lookup of " + subject + " at " + baseUrl + " failed " + attempt + " times: " + PeerMain.describe(e), e);
        Thread.sleep(Math.min(2000L, 200L << (attempt - 1)));
      }
    }
  }
}
