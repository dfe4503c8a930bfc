/** Prometheus text exposition for the few series quarters keeps: labelled counters, histograms, and gauges read at scrape time. */

type Labels = Record<string, string>;

const labelText = (labels: Labels): string => {
  const parts = Object.entries(labels).map(([k, v]) => `${k}="${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`);
  return parts.length ? `{${parts.join(',')}}` : '';
};

interface Series {
  name: string;
  help: string;
  type: 'counter' | 'gauge' | 'histogram';
  render(): string[];
}

/** A counter per label set. */
export class Counter {
  private readonly values = new Map<string, { labels: Labels; value: number }>();
  constructor(readonly name: string, readonly help: string) {}
  /** Adds `by` (default 1) to the series with these labels. */
  inc(labels: Labels = {}, by = 1): void {
    const key = labelText(labels);
    const entry = this.values.get(key) ?? { labels, value: 0 };
    entry.value += by;
    this.values.set(key, entry);
  }
  /** The current value for these labels (0 if never incremented). */
  get(labels: Labels = {}): number {
    return this.values.get(labelText(labels))?.value ?? 0;
  }
  render(): string[] {
    return [...this.values.values()].map((e) => `${this.name}${labelText(e.labels)} ${e.value}`);
  }
}

/** A histogram per label set, with fixed buckets (seconds). */
export class Histogram {
  private readonly values = new Map<string, { labels: Labels; counts: number[]; sum: number; count: number }>();
  constructor(readonly name: string, readonly help: string, private readonly buckets: number[] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]) {}
  /** Records one observation. */
  observe(labels: Labels, value: number): void {
    const key = labelText(labels);
    const entry = this.values.get(key) ?? { labels, counts: this.buckets.map(() => 0), sum: 0, count: 0 };
    this.buckets.forEach((le, i) => {
      if (value <= le) entry.counts[i]! += 1;
    });
    entry.sum += value;
    entry.count += 1;
    this.values.set(key, entry);
  }
  render(): string[] {
    return [...this.values.values()].flatMap((e) => [
      ...this.buckets.map((le, i) => `${this.name}_bucket${labelText({ ...e.labels, le: String(le) })} ${e.counts[i]}`),
      `${this.name}_bucket${labelText({ ...e.labels, le: '+Inf' })} ${e.count}`,
      `${this.name}_sum${labelText(e.labels)} ${e.sum}`,
      `${this.name}_count${labelText(e.labels)} ${e.count}`,
    ]);
  }
}

/** A gauge whose values are read when scraped. */
export class Gauge {
  constructor(readonly name: string, readonly help: string, private readonly read: () => { labels: Labels; value: number }[]) {}
  render(): string[] {
    return this.read().map((e) => `${this.name}${labelText(e.labels)} ${e.value}`);
  }
}

/** The server's metrics, and their text exposition. */
export class Metrics {
  readonly webhooks = new Counter('quarters_webhooks_total', 'Webhook deliveries by event kind and result.');
  readonly gitlabCalls = new Counter('quarters_gitlab_api_calls_total', 'GitLab API calls by method, route and status.');
  readonly gitlabLatency = new Histogram('quarters_gitlab_api_call_seconds', 'GitLab API call latency by method and route.');
  readonly uploads = new Counter('quarters_uploads_total', 'Artifact uploads by result.');
  private readonly series: Series[] = [];

  constructor() {
    this.add('counter', this.webhooks);
    this.add('counter', this.gitlabCalls);
    this.add('histogram', this.gitlabLatency);
    this.add('counter', this.uploads);
  }

  /** Registers a gauge read at scrape time. */
  gauge(name: string, help: string, read: () => { labels: Labels; value: number }[]): void {
    this.add('gauge', new Gauge(name, help, read));
  }

  private add(type: Series['type'], s: { name: string; help: string; render(): string[] }): void {
    this.series.push({ name: s.name, help: s.help, type, render: () => s.render() });
  }

  /** The Prometheus text format (version 0.0.4). */
  render(): string {
    return this.series.map((s) => [`# HELP ${s.name} ${s.help}`, `# TYPE ${s.name} ${s.type}`, ...s.render()].join('\n')).join('\n') + '\n';
  }
}
