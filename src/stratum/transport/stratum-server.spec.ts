import { connect, type Socket } from 'node:net';
import { once } from 'node:events';
import { parseCommandLine } from '../../config/app-config.js';
import { StratumServer } from './stratum-server.js';

/** A hold that the test lifts by hand, in the shape of the channels' fan-out. */
class ManualHold {
  holdsShares = false;
  private waiters: (() => void)[] = [];
  released(): Promise<void> {
    return this.holdsShares ? new Promise((resolve) => this.waiters.push(resolve)) : Promise.resolve();
  }
  lift(): void {
    this.holdsShares = false;
    for (const resolve of this.waiters.splice(0)) resolve();
  }
}

const nextTurn = () => new Promise((resolve) => setImmediate(resolve));

describe('StratumServer: jobs first', () => {
  let server: StratumServer;
  let miner: Socket;
  const handled: string[] = [];

  beforeEach(async () => {
    const request = parseCommandLine(['--stratum.addr=127.0.0.1:0'], {});
    if (request.kind !== 'run') throw new Error('expected run');
    server = new StratumServer(request.config);
    server.addHandler('mining.submit', async (params: unknown) => {
      handled.push((params as string[])[0]);
      return true;
    });
    await new Promise<void>((resolve, reject) => server.listen((error) => (error ? reject(error as Error) : resolve())));
    const [host, port] = server.address().split(':');
    miner = connect(Number(port), host);
    await once(miner, 'connect');
    handled.length = 0;
  });

  afterEach(async () => {
    miner.destroy();
    await server.close();
  });

  it("while a broadcast holds the miners' lines they wait, unanswered; released, they are handled in order", async () => {
    const hold = new ManualHold();
    server.jobsFirst = hold;
    hold.holdsShares = true;
    const answers: string[] = [];
    miner.on('data', (chunk: Buffer) => answers.push(...chunk.toString().trim().split('\n')));
    for (let id = 1; id <= 3; id++) miner.write(`{"id":${id},"method":"mining.submit","params":["s${id}"]}\n`);
    const deadline = Date.now() + 2000;
    while (server.connectionCount === 0 && Date.now() < deadline) await nextTurn();
    for (let turn = 0; turn < 50; turn++) await nextTurn();
    expect(handled).toEqual([]);
    expect(answers).toEqual([]);
    hold.lift();
    while (answers.length < 3 && Date.now() < deadline) await nextTurn();
    expect(handled).toEqual(['s1', 's2', 's3']);
    expect(answers.map((line) => (JSON.parse(line) as { id: number }).id)).toEqual([1, 2, 3]);
  });

  it('without a hold, lines are handled as they come', async () => {
    server.jobsFirst = new ManualHold();
    miner.write('{"id":7,"method":"mining.submit","params":["now"]}\n');
    const [chunk] = (await once(miner, 'data')) as [Buffer];
    expect(JSON.parse(chunk.toString())).toMatchObject({ id: 7, result: true });
    expect(handled).toEqual(['now']);
  });
});
