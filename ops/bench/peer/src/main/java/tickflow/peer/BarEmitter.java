package tickflow.peer;

import java.nio.charset.StandardCharsets;
import org.apache.kafka.streams.kstream.Windowed;
import org.apache.kafka.streams.processor.api.Processor;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.Record;

/** A closed window's aggregate -> a final Bar (revision 0) keyed by instrument id. One instance per task. */
final class BarEmitter implements Processor<Windowed<String>, BarAccumulator, byte[], byte[]> {
  private final AvroCodec codec;
  private final Counters counters;
  private ProcessorContext<byte[], byte[]> context;

  BarEmitter(AvroCodec codec, Counters counters) {
    this.codec = codec;
    this.counters = counters;
  }

  @Override
  public void init(ProcessorContext<byte[], byte[]> context) {
    this.context = context;
  }

  @Override
  public void process(Record<Windowed<String>, BarAccumulator> record) {
    BarAccumulator bar = record.value();
    if (bar == null || bar.count == 0) return;
    String instrumentId = record.key().key();
    long start = record.key().window().start() * 1000L;
    long end = record.key().window().end() * 1000L;
    byte[] value = codec.encodeBar(instrumentId, start, end, bar);
    // Stamped with the wall clock, as kafkajs stamps tickflow's: an event time years old would make
    // the record due for deletion under the topic's time retention.
    context.forward(new Record<>(instrumentId.getBytes(StandardCharsets.UTF_8), value, System.currentTimeMillis()));
    counters.barsOut.increment();
  }
}
