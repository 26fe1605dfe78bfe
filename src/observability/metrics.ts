import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

const OPERATION_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;
/** Distinct operation names kept as label values before the rest count as `other`. */
const MAX_OPERATION_LABELS = 200;
const KNOWN_ROUTES = new Set(['/graphql', '/healthz', '/readyz', '/metrics']);

/** The process's Prometheus metrics, in a registry of its own (several servers can share a process in tests). */
export class Metrics {
  readonly registry = new Registry();
  readonly httpDuration: Histogram<'method' | 'route' | 'status' | 'operation'>;
  readonly wsOpen: Gauge;
  readonly wsConnections: Counter<'outcome'>;
  readonly securityEvents: Counter<'event'>;
  private readonly operations = new Set<string>();

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'parley_' });
    this.httpDuration = new Histogram({
      name: 'parley_http_request_duration_seconds',
      help: 'HTTP request duration by method, route, status and GraphQL operation name',
      labelNames: ['method', 'route', 'status', 'operation'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [this.registry],
    });
    this.wsOpen = new Gauge({
      name: 'parley_websocket_connections_open',
      help: 'WebSocket connections open now',
      registers: [this.registry],
    });
    this.securityEvents = new Counter({
      name: 'parley_security_events_total',
      help: 'Security events written to the audit trail by this process: failed_login, lockout, token_reuse, rate_limited',
      labelNames: ['event'],
      registers: [this.registry],
    });
    for (const event of ['failed_login', 'lockout', 'token_reuse', 'rate_limited']) this.securityEvents.inc({ event }, 0);
    this.wsConnections = new Counter({
      name: 'parley_websocket_connections_total',
      help: 'WebSocket connections accepted or refused',
      labelNames: ['outcome'],
      registers: [this.registry],
    });
  }

  /** A bounded label for a client-chosen operation name, so clients cannot explode the series count. */
  operationLabel(name: string | undefined): string {
    if (!name) return 'none';
    if (!OPERATION_NAME.test(name)) return 'invalid';
    if (this.operations.has(name)) return name;
    if (this.operations.size >= MAX_OPERATION_LABELS) return 'other';
    this.operations.add(name);
    return name;
  }

  /** The route label: known paths as they are, anything else as `other`. */
  routeLabel(path: string): string {
    return KNOWN_ROUTES.has(path) ? path : 'other';
  }
}
