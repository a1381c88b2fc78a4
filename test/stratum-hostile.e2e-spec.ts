import { Farm } from './support/farm.js';
import { RawClient } from './support/raw-client.js';
import type { SimMiner } from './support/sim-miner.js';
import type { SimPool } from './support/sim-pool.js';

describe('hostile input', () => {
  const farm = new Farm();
  let pool: SimPool;
  let name: string;
  let good: SimMiner;
  let mining: Promise<void>;
  let keepMining = true;
  const port = () => farm.stratumPort;
  const subscribed = async (): Promise<RawClient> => {
    const client = await RawClient.open(port());
    client.request(1, 'mining.subscribe', ['hostile/1.0']);
    await client.response(1);
    return client;
  };
  const authorized = async (): Promise<RawClient> => {
    const client = await subscribed();
    client.request(2, 'mining.authorize', [name, 'x']);
    expect((await client.response(2)).result).toBe(true);
    return client;
  };

  beforeAll(async () => {
    await farm.start(['--stratum.silenceTimeout=1s', '--stratum.maxProtocolErrors=5']);
    pool = await farm.addPool({ extranonce2Size: 8 });
    name = await farm.register(pool, 'victim');
    good = farm.miner({ login: `${name}.good` });
    await good.start();
    await good.waitForJob();
    // A well-behaved miner mines throughout; it must never notice the others.
    mining = (async () => {
      while (keepMining) {
        await good.mineOne();
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    })();
  });

  afterAll(async () => {
    keepMining = false;
    await mining;
    await farm.stop();
  });

  it('closes at once a connection that does not speak JSON: garbage, HTTP, TLS, binary', async () => {
    for (const bytes of [
      Buffer.from('hello there\n'),
      Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'),
      Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00]),
      Buffer.from([0, 1, 2, 255]),
    ]) {
      const client = await RawClient.open(port());
      client.send(bytes);
      expect(await client.closed(1000)).toBeLessThan(1000);
      expect(client.lines).toEqual([]);
    }
  });

  it('closes a connection whose line grows past the limit, without buffering it', async () => {
    const client = await RawClient.open(port());
    client.send(`{"id":1,"method":"mining.subscribe","params":["${'a'.repeat(20_000)}`);
    await client.closed(2000);
    const complete = await RawClient.open(port());
    complete.send(`{"id":1,"method":"mining.subscribe","params":["${'a'.repeat(20_000)}"]}\n`);
    await complete.closed(2000);
  });

  it('closes a connection that stays silent past the silence timeout', async () => {
    const client = await RawClient.open(port());
    const took = await client.closed(3000);
    expect(took).toBeGreaterThanOrEqual(900);
    expect(took).toBeLessThan(2500);
  });

  it('answers malformed messages with error 20 and closes after the protocol-error limit', async () => {
    const client = await RawClient.open(port());
    client.send('{"id":1,"method":"mining.subscribe","params":[]}\n');
    await client.response(1);
    client.send('{not json}\n');
    client.send('[1,2,3]\n');
    client.send('{"id":7,"method":42}\n');
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(client.lines.slice(1)).toEqual([
      { id: null, result: null, error: [20, 'malformed message: not JSON', null] },
      { id: null, result: null, error: [20, 'malformed message: not a JSON object', null] },
      // A readable id is answered, whatever else is wrong.
      { id: 7, result: null, error: [20, 'malformed message: method must be a string', null] },
    ]);
    expect(client.isOpen).toBe(true);
    for (let i = 0; i < 2; i++) client.send('{"id":9,"method":"mining.authorize","params":[5]}\n');
    await client.closed(2000);
  });

  it('answers wrong types, unknown methods and out-of-order calls with the standard codes', async () => {
    const fresh = await RawClient.open(port());
    fresh.request(1, 'mining.authorize', [name, 'x']);
    expect((await fresh.response(1)).error).toEqual([25, 'not subscribed', null]);
    fresh.request(2, 'mining.submit', [name, '1', '00000000', '00000000', '00000000']);
    expect((await fresh.response(2)).error).toEqual([25, 'not subscribed', null]);

    const client = await subscribed();
    client.request(2, 'mining.submit', [name, '1', '00000000', '00000000', '00000000']);
    expect((await client.response(2)).error).toEqual([24, 'unauthorized worker', null]);
    client.request(3, 'mining.authorize', ['ffffffffffffffff', 'x']);
    expect((await client.response(3)).result).toBe(false);
    client.request(4, 'mining.authorize', [42]);
    expect((await client.response(4)).error).toEqual([20, 'mining.authorize: the user name must be a non-empty string', null]);
    client.request(5, 'mining.get_transactions', ['1']);
    expect((await client.response(5)).error).toEqual([20, 'unknown method mining.get_transactions', null]);
    client.request(6, 'mining.subscribe', 'not an array');
    expect((await client.response(6)).error).toEqual([20, 'mining.subscribe: params must be an array', null]);
    expect(client.isOpen).toBe(true);
  });

  it('checks shares locally: non-hex, wrong lengths, unknown job and bad counts never reach the pool', async () => {
    const client = await authorized();
    const sharesAtPool = () => pool.shares.filter((share) => share.extranonce2.endsWith('ffffffff')).length;
    const cases: [unknown[], unknown][] = [
      [
        [name, '1', 'zzzzzzzz', '00000000', '00000000'],
        [20, 'mining.submit: extranonce2 must be hex', null],
      ],
      [
        [name, '1', 'ffffff', '00000000', '00000000'],
        [20, 'extranonce2 must be 4 bytes', null],
      ],
      [
        [name, '1', 'ffffffffff', '00000000', '00000000'],
        [20, 'extranonce2 must be 4 bytes', null],
      ],
      [
        [name, '1', 'ffffffff', '0000000', '00000000'],
        [20, 'mining.submit: ntime must be 8 hex digits', null],
      ],
      [
        [name, '1', 'ffffffff', '00000000', 'nothex!!'],
        [20, 'mining.submit: nonce must be 8 hex digits', null],
      ],
      [
        [name, '1', 'ffffffff', '00000000'],
        [20, 'mining.submit: expected 5 or 6 params, got 4', null],
      ],
      [
        [name, 'no-such-job', 'ffffffff', '00000000', '00000000'],
        [21, 'job not found', null],
      ],
      [
        [name, '1', 'ffffffff', '00000000', '00000000', '00002000'],
        [20, 'version rolling was not negotiated', null],
      ],
    ];
    let id = 10;
    for (const [params, error] of cases) {
      client.request(++id, 'mining.submit', params);
      expect((await client.response(id)).error, JSON.stringify(params)).toEqual(error);
    }
    expect(sharesAtPool()).toBe(0);
    expect(client.isOpen).toBe(true);
  });

  it('answers a low-difficulty share sent again with 23 again (only valid shares are remembered)', async () => {
    const low = good.findLowShare();
    const submit = () => good.request('mining.submit', [good.options.login, low.jobId, low.extranonce2, low.ntime, low.nonce]);
    expect((await submit()).error).toEqual([23, 'low difficulty share', null]);
    expect((await submit()).error).toEqual([23, 'low difficulty share', null]);
  });

  it('kept the good miner mining: every share accepted, none rejected', async () => {
    const before = good.accepted.length;
    await good.waitUntil(() => good.accepted.length >= before + 3, 'more accepted shares');
    expect(good.rejected).toEqual([]);
    expect(good.isClosed).toBe(false);
    expect(pool.rejected).toEqual([]);
  });
});

describe('connection limit', () => {
  const farm = new Farm();

  beforeAll(() => farm.start(['--stratum.maxConnections=2']));
  afterAll(() => farm.stop());

  it('refuses connections past --stratum.maxConnections', async () => {
    const first = await RawClient.open(farm.stratumPort);
    const second = await RawClient.open(farm.stratumPort);
    first.request(1, 'mining.subscribe', []);
    second.request(1, 'mining.subscribe', []);
    await first.response(1);
    await second.response(1);
    const third = await RawClient.open(farm.stratumPort);
    await third.closed(2000);
    expect(first.isOpen && second.isOpen).toBe(true);
    first.close();
    second.close();
  });
});
