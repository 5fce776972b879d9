import type { Admin, Kafka } from 'kafkajs';
import { createKafka } from '../../pipelines/runtime/kafka';
import { clusterBrokers, createNamespace } from '../../ops/topics/apply';
import { unique } from './helpers';

/**
 * Topic namespaces for a test file: each test gets catalog topics under a prefix of its own run
 * (`test.<label>.<random>.`), so it reads no earlier run's records and leaves none for the next
 * test; `close` deletes them. Use in beforeAll/afterAll: `const ns = new TestNamespaces('x')`.
 */
export class TestNamespaces {
  readonly kafka: Kafka;
  private adminClient?: Admin;
  private readonly created: string[] = [];

  constructor(clientId: string) {
    this.kafka = createKafka(clientId);
  }

  get admin(): Admin {
    if (!this.adminClient) throw new Error('TestNamespaces.open() was not called');
    return this.adminClient;
  }

  async open(): Promise<void> {
    this.adminClient = this.kafka.admin();
    await this.adminClient.connect();
  }

  /** Creates `topics` (catalog names) under a new prefix; returns the prefix. */
  async create(label: string, topics: readonly string[]): Promise<string> {
    const namespace = `${unique(`test.${label}.`)}.`;
    this.created.push(namespace);
    await createNamespace(this.admin, namespace, topics, await clusterBrokers(this.admin));
    return namespace;
  }

  async close(): Promise<void> {
    const topics = (await this.admin.listTopics()).filter((t) => this.created.some((n) => t.startsWith(n)));
    await this.admin.deleteTopics({ topics }).catch(() => undefined);
    await this.admin.disconnect();
  }
}
