import type { PoolJob } from '../protocol/pool-messages.js';
import { Channel, ChannelAccount, ChannelJob, ChannelMember } from './channel.js';
import { recordingChannelHost, testPoolJob as job } from './channel-test-host.shared-spec.js';
import { FanOut } from './fan-out.js';
import type { PoolConnectionListener, ShareVerdict } from './pool-connection.js';
import type { UpstreamConnection } from './upstream-connection.js';
import type { WorkerNames } from './worker-names.js';

const { host, protocolErrors } = recordingChannelHost();

const member = (prefix: string, rig: string | null, userAgent: string | null = 'bmminer/2.0.0'): ChannelMember => ({
  prefix,
  rig,
  userAgent,
  channelReady: () => undefined,
  channelJob: () => undefined,
  channelDifficulty: () => undefined,
  channelVersionMask: () => undefined,
  channelDown: () => undefined,
  channelUnavailable: () => undefined,
  channelClosed: () => undefined,
});

/** An SV1-like connection (several authorizations) the test answers by hand; `sv2` leaves authorizeWorker out. */
class FakeConnection {
  isReady = false;
  isClosed = false;
  sharesInFlight = 0;
  extranonce: { extranonce1: string; extranonce2Size: number } | null = null;
  versionMask = null;
  difficulty = 1;
  lastJob: PoolJob | null = null;
  readonly authorizations: { name: string; answer: (refusal: string | null) => void }[] = [];
  readonly submittedAs: (string | undefined)[] = [];
  constructor(
    readonly account: ChannelAccount['account'],
    public listener: PoolConnectionListener,
    sv2: boolean,
  ) {
    if (sv2) (this as { authorizeWorker?: unknown }).authorizeWorker = undefined;
  }
  get address(): string {
    return `${this.account.host}:${this.account.port}`;
  }
  start(): void {}
  setListener(listener: PoolConnectionListener): void {
    this.listener = listener;
  }
  restart(): void {}
  close(): void {
    this.isReady = false;
  }
  suggestDifficulty(): void {}
  authorizeWorker(name: string): Promise<string | null> {
    return new Promise((resolve) => this.authorizations.push({ name, answer: resolve }));
  }
  submit(_jobId: string, _e2: string, _ntime: string, _nonce: string, _bits?: string, worker?: string): Promise<ShareVerdict> {
    this.submittedAs.push(worker);
    return Promise.resolve({ accepted: true });
  }
  ready(): void {
    this.extranonce = { extranonce1: 'e1e1', extranonce2Size: 8 };
    this.isReady = true;
    this.listener.onReady(this.extranonce, null);
    this.lastJob = job('1');
    this.listener.onJob(this.lastJob);
  }
  drop(): void {
    this.isReady = false;
    this.listener.onDown('closed by the pool', true);
  }
}

function channelOver(modes: WorkerNames[], users: string[], sv2 = false) {
  const accounts: ChannelAccount[] = users.map((user, i) => ({
    address: `pool${i}:3333`,
    account: { host: `pool${i}`, port: 3333, user, password: 'p' },
  }));
  const channel = new Channel(
    1,
    'key',
    accounts,
    {
      capacity: 256,
      prefixBytes: 1,
      minerExtranonce2Size: 4,
      jobTimeoutMs: 120_000,
      failbackAfterMs: 60_000,
      workerNames: (i) => modes[i],
    },
    host,
    new FanOut(1000),
  );
  const connections: FakeConnection[] = [];
  channel.open((account, listener) => {
    const connection = new FakeConnection(account.account, listener, sv2);
    connections.push(connection);
    return connection as unknown as UpstreamConnection;
  });
  const share = (who: ChannelMember) =>
    channel.submit(channel.current as ChannelJob, '00'.repeat(5), '5f000000', '00000000', undefined, who);
  return { channel, connections, share };
}

const settle = () => new Promise((resolve) => setImmediate(resolve));

describe("a channel's worker names (workerNames rig)", () => {
  beforeEach(() => (protocolErrors.length = 0));

  it('authorizes each rig once, submits under the account until the pool says yes, then under the rig', async () => {
    const { channel, connections, share } = channelOver(['rig'], ['acct.farm']);
    const [a1, a2, b, plain] = [member('01', 'rigA'), member('02', 'rigA'), member('03', 'rig B'), member('04', null)];
    for (const m of [a1, a2, b, plain]) channel.seat(m);
    connections[0].ready();
    expect(connections[0].authorizations.map((a) => a.name)).toEqual(['acct.rigA', 'acct.rig_B']);
    await share(a1);
    connections[0].authorizations[0].answer(null);
    await settle();
    await share(a1);
    await share(a2);
    await share(b);
    await share(plain);
    expect(connections[0].submittedAs).toEqual([undefined, 'acct.rigA', 'acct.rigA', undefined, undefined]);
    expect(channel.authorizedWorkers).toEqual(['acct.rigA']);
  });

  it('mines a refused rig as the account from then on, counted, and authorizes the rigs again on a new connection', async () => {
    const { channel, connections, share } = channelOver(['rig'], ['acct']);
    const [a, b] = [member('01', 'a'), member('02', 'b')];
    channel.seat(a);
    channel.seat(b);
    connections[0].ready();
    connections[0].authorizations[0].answer('unknown worker');
    connections[0].authorizations[1].answer(null);
    await settle();
    expect(protocolErrors).toEqual(['worker_refused']);
    connections[0].drop();
    connections[0].ready();
    // Only the rig the pool took is asked again; the refused one stays on the account.
    expect(connections[0].authorizations.map((x) => x.name)).toEqual(['acct.a', 'acct.b', 'acct.b']);
    await share(b);
    expect(connections[0].submittedAs).toEqual([undefined]);
    connections[0].authorizations[2].answer(null);
    await settle();
    await share(a);
    await share(b);
    expect(connections[0].submittedAs).toEqual([undefined, undefined, 'acct.b']);
  });

  it('asks a rig that joins a working connection at once, and ignores an answer that comes after a drop', async () => {
    const { channel, connections, share } = channelOver(['rig'], ['acct']);
    connections[0].ready();
    const late = member('01', 'late');
    channel.seat(late);
    expect(connections[0].authorizations.map((x) => x.name)).toEqual(['acct.late']);
    connections[0].drop();
    connections[0].authorizations[0].answer(null);
    await settle();
    connections[0].ready();
    await share(late);
    expect(connections[0].submittedAs).toEqual([undefined]);
    expect(protocolErrors).toEqual([]);
  });

  it("names the rigs after the account the channel fails over to, and that account's own setting", async () => {
    const { channel, connections, share } = channelOver(['rig', 'rig', 'account'], ['acct', 'backup.x', 'third']);
    // Failback probes connect to higher accounts too: the channel's connection is the newest of its account.
    const of = (user: string) => connections.filter((c) => c.account.user === user).at(-1)!;
    const a = member('01', 'a');
    channel.seat(a);
    of('acct').listener.onDown('ECONNREFUSED', false);
    of('backup.x').ready();
    expect(of('backup.x').authorizations.map((x) => x.name)).toEqual(['backup.a']);
    of('backup.x').authorizations[0].answer(null);
    await settle();
    await share(a);
    expect(of('backup.x').submittedAs).toEqual(['backup.a']);
    of('backup.x').listener.onDown('ECONNREFUSED', false);
    of('third').ready();
    await share(a);
    expect(of('third').authorizations).toEqual([]);
    expect(of('third').submittedAs).toEqual([undefined]);
  });

  it('keeps the account on an account of workerNames account, and on SV2 connections', () => {
    const account = channelOver(['account'], ['acct']);
    account.channel.seat(member('01', 'a'));
    account.connections[0].ready();
    expect(account.connections[0].authorizations).toEqual([]);
    const sv2 = channelOver(['rig'], ['acct'], true);
    sv2.channel.seat(member('01', 'a'));
    sv2.connections[0].ready();
    expect(sv2.connections[0].authorizations).toEqual([]);
  });

  it('has a common user agent only while every member reports the same one', () => {
    const { channel } = channelOver(['account'], ['acct']);
    expect(channel.commonUserAgent).toBeNull();
    const [a, b, c] = [member('01', null), member('02', null), member('03', null, 'cgminer/4.12.1')];
    channel.seat(a);
    channel.seat(b);
    expect(channel.commonUserAgent).toBe('bmminer/2.0.0');
    channel.seat(c);
    expect(channel.commonUserAgent).toBeNull();
    channel.unseat(c, 60_000);
    expect(channel.commonUserAgent).toBe('bmminer/2.0.0');
    channel.seat(member('04', null, null));
    expect(channel.commonUserAgent).toBeNull();
  });
});
