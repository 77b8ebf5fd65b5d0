import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findNatsServer } from './binaries.ts';
import { freePort } from './ports.ts';
import { ServerProcess } from './server-process.ts';

/** Options for {@link startNatsCluster}. */
export interface NatsClusterOptions {
  /** Number of nats-servers (3 by default, as the official Helm chart runs). */
  readonly size?: number;
  /** The `cluster.name` (a unique one by default). */
  readonly name?: string;
  /** JetStream's `sync_interval` on every node: `always` by default (fsync before every PubAck), as for the single NatsServer. */
  readonly syncInterval?: string;
  /** The `max_payload` of every node in bytes (nats-server's default: 1 MiB). */
  readonly maxPayload?: number;
  /** How long start-up and a restart may take, until healthy (ms, 30 s by default). */
  readonly startTimeoutMs?: number;
  /** Keep the store directories after stop (for debugging). */
  readonly keepStores?: boolean;
  /**
   * When start resolves: `formed` (the default) once every node is healthy
   * and they agree on a meta leader; `listening` as soon as every node
   * accepts clients, while the cluster may still be electing (to test
   * start-up races).
   */
  readonly ready?: 'formed' | 'listening';
}

/** What a node's monitoring endpoint says about one stream (`/jsz?streams=true`). */
export interface NodeStreamState {
  readonly name: string;
  /** The stream leader as this node knows it ('' while electing). */
  readonly leader: string;
  readonly messages: number;
  readonly firstSeq: number;
  readonly lastSeq: number;
}

/**
 * One nats-server of a {@link NatsCluster}: its ports, store and process.
 * Tests act on it through the cluster (`kill(node)`, `restart(node)`,
 * `freeze(node, ms)`).
 */
export class NatsClusterNode {
  /** The `server_name`, as stream and meta leaders are reported. */
  readonly name: string;
  /** Client port. */
  readonly port: number;
  /** Route (cluster) port. */
  readonly clusterPort: number;
  /** Monitoring port (`/healthz`, `/jsz`, `/connz`). */
  readonly httpPort: number;
  readonly storeDir: string;
  /** The process; the cluster signals it (tests use the cluster's methods). */
  readonly process: ServerProcess;
  /** When a freeze ends (ms since the epoch), 0 when not frozen; set by the cluster. */
  frozenUntil = 0;

  /** Made by {@link NatsCluster.start}. */
  constructor(name: string, ports: { port: number; clusterPort: number; httpPort: number }, storeDir: string, process: ServerProcess) {
    this.name = name;
    this.port = ports.port;
    this.clusterPort = ports.clusterPort;
    this.httpPort = ports.httpPort;
    this.storeDir = storeDir;
    this.process = process;
  }

  /** `nats://127.0.0.1:{port}` */
  get url(): string {
    return `nats://127.0.0.1:${this.port}`;
  }

  /** The process id while it runs. */
  get pid(): number | undefined {
    return this.process.pid;
  }

  /** Whether the process exists (a frozen node is running). */
  get running(): boolean {
    return this.process.running;
  }

  /** Whether the process is stopped with SIGSTOP right now. */
  get frozen(): boolean {
    return this.frozenUntil > 0;
  }

  /** Running and not frozen: it answers. */
  get answering(): boolean {
    return this.running && !this.frozen;
  }

  /** What the server printed since its last start. */
  output(): string {
    return this.process.output();
  }

  /**
   * `GET` on the monitoring port: resolves with status and parsed JSON body,
   * or undefined when the node does not answer within `timeoutMs` (down,
   * frozen, starting). Never throws.
   */
  async monitor(path: string, timeoutMs = 1_000): Promise<{ status: number; body: unknown } | undefined> {
    return new Promise((resolve) => {
      const req = request({ host: '127.0.0.1', port: this.httpPort, path, agent: false, timeout: timeoutMs }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          try {
            resolve({ status: res.statusCode ?? 0, body: JSON.parse(Buffer.concat(chunks).toString()) as unknown });
          } catch {
            resolve({ status: res.statusCode ?? 0, body: undefined });
          }
        });
        res.on('error', () => resolve(undefined));
      });
      req.on('timeout', () => req.destroy());
      req.on('error', () => resolve(undefined));
      req.end();
    });
  }

  /** Whether `/healthz` answers 200: JetStream is up, in contact with the meta leader, and its streams and consumers are current. */
  async healthy(): Promise<boolean> {
    return (await this.monitor('/healthz'))?.status === 200;
  }

  /** The meta leader's name as this node knows it; undefined when it does not answer or knows none. */
  async metaLeaderName(): Promise<string | undefined> {
    const jsz = (await this.monitor('/jsz'))?.body as { meta_cluster?: { leader?: string } } | undefined;
    const leader = jsz?.meta_cluster?.leader;
    return leader === undefined || leader === '' ? undefined : leader;
  }

  /**
   * The stream's state as this node holds it (every account), or undefined
   * when the node does not answer or holds no replica of it.
   */
  async streamState(stream: string): Promise<NodeStreamState | undefined> {
    const jsz = (await this.monitor('/jsz?streams=true'))?.body as
      | {
          account_details?: {
            stream_detail?: {
              name: string;
              cluster?: { leader?: string };
              state?: { messages?: number; first_seq?: number; last_seq?: number };
            }[];
          }[];
        }
      | undefined;
    for (const account of jsz?.account_details ?? []) {
      for (const s of account.stream_detail ?? []) {
        if (s.name !== stream) continue;
        return {
          name: s.name,
          leader: s.cluster?.leader ?? '',
          messages: s.state?.messages ?? 0,
          firstSeq: s.state?.first_seq ?? 0,
          lastSeq: s.state?.last_seq ?? 0,
        };
      }
    }
    return undefined;
  }
}

/**
 * N real nats-servers with JetStream, routed into one cluster on loopback
 * (client, route and monitoring port each, a temporary store each), for
 * tests of what a user's 3-node Helm deployment does under faults: a node
 * killed and restarted on its store, a node paused (SIGSTOP) as a stand-in
 * for a partition or a long GC/IO stall.
 */
export class NatsCluster {
  readonly nodes: readonly NatsClusterNode[];
  readonly name: string;
  readonly #options: NatsClusterOptions;
  /** Pending SIGCONTs of frozen nodes: the timer and what resolves the freeze's promise. */
  readonly #thaws = new Map<NatsClusterNode, { timer: NodeJS.Timeout; resolve: () => void }>();

  private constructor(name: string, nodes: readonly NatsClusterNode[], options: NatsClusterOptions) {
    this.name = name;
    this.nodes = nodes;
    this.#options = options;
  }

  /** Every node's client URL, for `HS_NATS_URL` (comma-joined) or a client's `servers`. */
  get urls(): string[] {
    return this.nodes.map((n) => n.url);
  }

  /**
   * Starts every node and resolves once each is healthy (`/healthz`) and
   * all agree on one meta leader (or, with `ready: 'listening'`, once each
   * accepts clients). Throws MissingBinaryError when no
   * supported nats-server is installed, or an Error with the nodes' output
   * when the cluster does not form within `startTimeoutMs`; what started is
   * then stopped.
   */
  static async start(options: NatsClusterOptions = {}): Promise<NatsCluster> {
    const binary = findNatsServer().path;
    const size = options.size ?? 3;
    if (!Number.isInteger(size) || size < 1) throw new RangeError(`cluster size must be a positive integer, got ${size}`);
    const ports = await distinctFreePorts(size * 3);
    const clusterName = options.name ?? `hs-test-${ports[0]}`;
    const layout = Array.from({ length: size }, (_, i) => ({
      port: ports[i * 3] as number,
      clusterPort: ports[i * 3 + 1] as number,
      httpPort: ports[i * 3 + 2] as number,
    }));
    const routes = layout.map((p) => `nats-route://127.0.0.1:${p.clusterPort}`);
    const nodes = layout.map((p, i) => {
      const name = `hs-n${i + 1}-${p.port}`;
      const storeDir = mkdtempSync(join(tmpdir(), 'hs-nats-cluster-'));
      const file = join(storeDir, 'hs-node.conf');
      const lines = [
        `server_name: ${JSON.stringify(name)}`,
        `listen: "127.0.0.1:${p.port}"`,
        `http: "127.0.0.1:${p.httpPort}"`,
        `jetstream { store_dir: ${JSON.stringify(storeDir)}, sync_interval: ${options.syncInterval ?? 'always'} }`,
        `cluster { name: ${JSON.stringify(clusterName)}, listen: "127.0.0.1:${p.clusterPort}", routes: ${JSON.stringify(routes.filter((_, j) => j !== i))} }`,
      ];
      if (options.maxPayload !== undefined) lines.push(`max_payload: ${options.maxPayload}`);
      writeFileSync(file, `${lines.join('\n')}\n`);
      return new NatsClusterNode(name, p, storeDir, new ServerProcess(`nats-server ${name}`, binary, ['-c', file], { killAfterMs: 5_000 }));
    });
    const cluster = new NatsCluster(clusterName, nodes, options);
    try {
      await Promise.all(nodes.map((n) => cluster.#spawn(n)));
      if (options.ready !== 'listening') await cluster.waitFormed();
    } catch (err) {
      await cluster.stop();
      throw err;
    }
    return cluster;
  }

  get #timeoutMs(): number {
    return this.#options.startTimeoutMs ?? 30_000;
  }

  // Accepting clients; JetStream and the routes come a moment later.
  #spawn(node: NatsClusterNode): Promise<void> {
    return node.process.start(
      async () => node.output().includes('Server is ready') && (await canConnect(node.port)),
      this.#timeoutMs,
      () => this.#describe(),
    );
  }

  /**
   * Resolves once every answering node is healthy and all of them name the
   * same meta leader, itself an answering node. Throws after `timeoutMs`
   * with what each node said.
   */
  async waitFormed(timeoutMs = this.#timeoutMs): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let seen = '';
    while (Date.now() < deadline) {
      const answering = this.nodes.filter((n) => n.answering);
      const views = await Promise.all(answering.map(async (n) => ({ n, healthy: await n.healthy(), leader: await n.metaLeaderName() })));
      seen = views.map((v) => `${v.n.name}: healthy=${v.healthy} leader=${v.leader ?? '-'}`).join('; ');
      const leaders = new Set(views.map((v) => v.leader));
      const [leader] = leaders;
      if (
        views.length > 0 &&
        views.every((v) => v.healthy) &&
        leaders.size === 1 &&
        leader !== undefined &&
        answering.some((n) => n.name === leader)
      ) {
        return;
      }
      await sleep(100);
    }
    throw new Error(`NATS cluster ${this.name} not formed within ${timeoutMs} ms (${seen})${this.#describe()}`);
  }

  /**
   * The node leading the JetStream meta group, as a majority of the
   * answering nodes report it. Waits (up to `timeoutMs`, 15 s by default)
   * while there is none or it is not answering (killed or frozen, and not
   * yet replaced); throws after that.
   */
  async metaLeader(timeoutMs = 15_000): Promise<NatsClusterNode> {
    return this.#leader('the meta leader', (n) => n.metaLeaderName(), timeoutMs);
  }

  /**
   * The node leading a stream (its `cluster.leader` in the nodes' `/jsz`,
   * the stream in any account), as a majority of the answering nodes
   * report it. Reads the monitoring endpoints, so it needs no client and
   * works while a node is frozen. Waits (up to `timeoutMs`, 15 s by
   * default) while the stream has no answering leader; throws after that.
   */
  async streamLeader(stream: string, timeoutMs = 15_000): Promise<NatsClusterNode> {
    return this.#leader(
      `the leader of stream ${stream}`,
      async (n) => {
        const leader = (await n.streamState(stream))?.leader;
        return leader === '' ? undefined : leader;
      },
      timeoutMs,
    );
  }

  async #leader(what: string, ask: (n: NatsClusterNode) => Promise<string | undefined>, timeoutMs: number): Promise<NatsClusterNode> {
    const deadline = Date.now() + timeoutMs;
    let seen = '';
    for (;;) {
      const answering = this.nodes.filter((n) => n.answering);
      const views = await Promise.all(answering.map(async (n) => ({ n, leader: await ask(n) })));
      seen = views.map((v) => `${v.n.name} says ${v.leader ?? '-'}`).join('; ');
      const votes = new Map<string, number>();
      for (const v of views) if (v.leader !== undefined) votes.set(v.leader, (votes.get(v.leader) ?? 0) + 1);
      for (const [name, count] of votes) {
        const node = answering.find((n) => n.name === name);
        if (node !== undefined && count > views.length / 2) return node;
      }
      if (Date.now() >= deadline) throw new Error(`no answering node is ${what} after ${timeoutMs} ms (${seen})`);
      await sleep(100);
    }
  }

  /** The node with this `server_name`; throws when there is none. */
  node(name: string): NatsClusterNode {
    const node = this.nodes.find((n) => n.name === name);
    if (node === undefined) throw new Error(`no node named ${name} in cluster ${this.name}`);
    return node;
  }

  /** SIGKILL (a crash: no flush, no goodbye to its peers). Resolves when the process is gone. */
  async kill(node: NatsClusterNode): Promise<void> {
    this.#thaw(node);
    await node.process.signal('SIGKILL');
  }

  /**
   * Starts a killed node again on the same ports and store (killing it
   * first if it runs). Resolves once it accepts clients and, unless
   * `waitHealthy` is false, once its `/healthz` answers 200: it is back in
   * the meta group and its streams and consumers have caught up. Throws
   * after `startTimeoutMs`.
   */
  async restart(node: NatsClusterNode, options: { waitHealthy?: boolean } = {}): Promise<void> {
    if (node.running) await this.kill(node);
    await this.#spawn(node);
    if (options.waitHealthy === false) return;
    const deadline = Date.now() + this.#timeoutMs;
    while (!(await node.healthy())) {
      if (Date.now() >= deadline) {
        const said = (await node.monitor('/healthz'))?.body;
        throw new Error(`${node.name} not healthy within ${this.#timeoutMs} ms of its restart: ${JSON.stringify(said)}${this.#describe()}`);
      }
      await sleep(100);
    }
  }

  /**
   * Pauses the node with SIGSTOP and resumes it with SIGCONT after `ms`:
   * its sockets stay open but nothing answers, as in a partition or a long
   * stall. It returns once every thread of the process is stopped (kill(2)
   * only queues the signal: on a busy machine a thread can still answer a
   * request just after it). Resolves once it is resumed (or was killed
   * meanwhile).
   */
  freeze(node: NatsClusterNode, ms: number): Promise<void> {
    const pid = node.pid;
    if (pid === undefined) return Promise.reject(new Error(`${node.name} is not running`));
    if (node.frozen) return Promise.reject(new Error(`${node.name} is frozen already`));
    process.kill(pid, 'SIGSTOP');
    waitStopped(pid, 5_000);
    node.frozenUntil = Date.now() + ms;
    return new Promise<void>((resolve) => {
      this.#thaws.set(node, { timer: setTimeout(() => this.#thaw(node), ms), resolve });
    });
  }

  // SIGCONT now (the freeze's time is up, or the node is killed or stopped first).
  #thaw(node: NatsClusterNode): void {
    const pending = this.#thaws.get(node);
    this.#thaws.delete(node);
    if (pending !== undefined) clearTimeout(pending.timer);
    if (node.frozen) {
      node.frozenUntil = 0;
      const pid = node.pid;
      try {
        if (pid !== undefined) process.kill(pid, 'SIGCONT');
      } catch {
        // gone meanwhile
      }
    }
    pending?.resolve();
  }

  /** Stops every node (a frozen one is resumed first) and removes the stores. Never throws. */
  async stop(): Promise<void> {
    for (const node of this.nodes) this.#thaw(node);
    await Promise.all(this.nodes.map((n) => n.process.signal('SIGTERM').catch(() => undefined)));
    if (!this.#options.keepStores) for (const n of this.nodes) rmSync(n.storeDir, { recursive: true, force: true });
  }

  #describe(): string {
    return this.nodes.map((n) => `\n--- ${n.name} (${n.running ? 'running' : 'down'})\n${n.output().slice(-4_000)}`).join('');
  }
}

/** Shorthand for {@link NatsCluster.start}. */
export function startNatsCluster(options?: NatsClusterOptions): Promise<NatsCluster> {
  return NatsCluster.start(options);
}

/**
 * Blocks until every thread of `pid` is in the stopped state ('T' in
 * /proc/<pid>/task/<tid>/stat), at most `timeoutMs`; throws after that.
 * Returns at once when the process is gone.
 */
function waitStopped(pid: number, timeoutMs: number): void {
  const deadline = Date.now() + timeoutMs;
  const pause = new Int32Array(new SharedArrayBuffer(4));
  for (;;) {
    let threads: string[];
    try {
      threads = readdirSync(`/proc/${pid}/task`);
    } catch {
      return;
    }
    const running = threads.filter((tid) => {
      try {
        const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'latin1');
        return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'T';
      } catch {
        return false;
      }
    });
    if (running.length === 0) return;
    if (Date.now() >= deadline) throw new Error(`process ${pid} not stopped ${timeoutMs} ms after SIGSTOP (threads ${running.join(', ')})`);
    Atomics.wait(pause, 0, 0, 1);
  }
}

async function distinctFreePorts(count: number): Promise<number[]> {
  const ports = new Set<number>();
  while (ports.size < count) ports.add(await freePort());
  return [...ports];
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}
