import { decodeMessage, encodeMessage, type KnownSv2Message, type Sv2Message } from './messages.js';
import { ACT1_SIZE, ACT2_SIZE, generateKeyPair, NoiseInitiator, Sv2NoiseError, type NoiseSession } from './noise.js';
import { Sv2ResponderSession } from './responder-session.js';
import { Sv2TransportDecoder, Sv2TransportEncoder } from './transport.js';

const NOW = 1_780_000_000;

/** A message the proxy sends (its hash rate a float32 exactly). */
const update: KnownSv2Message = { type: 'UpdateChannel', channelId: 3, nominalHashRate: 2 ** 40, maximumTarget: (1n << 224n) - 1n };

function pool(signer = generateKeyPair(), validity = { validFrom: NOW - 60, notValidAfter: NOW + 60 }) {
  const session = new Sv2ResponderSession({ staticKey: generateKeyPair(), authoritySecretKey: signer.secretKey, ...validity });
  return { session, authority: signer };
}

/** Feeds `bytes` one at a time, collecting the replies and the messages. */
function trickle(session: Sv2ResponderSession, bytes: Buffer): { replies: Buffer[]; messages: Sv2Message[] } {
  const replies: Buffer[] = [];
  const messages: Sv2Message[] = [];
  for (let i = 0; i < bytes.length; i++) {
    const input = session.receive(bytes.subarray(i, i + 1));
    if (input.reply) replies.push(input.reply);
    messages.push(...input.messages);
  }
  return { replies, messages };
}

/** The proxy's initiator against the session: act 1 byte by byte, act 2 checked against the authority key. */
function handshake(): { session: Sv2ResponderSession; proxy: NoiseSession } {
  const { session, authority } = pool();
  const initiator = new NoiseInitiator({ authorityPublicKey: authority.publicKey });
  const { replies, messages } = trickle(session, initiator.writeAct1());
  expect(messages).toEqual([]);
  expect(replies).toHaveLength(1);
  expect(replies[0]).toHaveLength(ACT2_SIZE);
  expect(session.established).toBe(true);
  return { session, proxy: initiator.readAct2(replies[0], NOW) };
}

describe('SV2 responder session (the pool side of a connection, over bytes)', () => {
  it('answers a complete act 1 with act 2 only, and sends nothing before', () => {
    const { session } = pool();
    expect(session.established).toBe(false);
    expect(() => session.encode({ type: 'SetupConnection.Success', usedVersion: 2, flags: 0 })).toThrow(/before act 2/);
    const act1 = new NoiseInitiator({ authorityPublicKey: generateKeyPair().publicKey }).writeAct1();
    expect(act1).toHaveLength(ACT1_SIZE);
    const first = session.receive(act1.subarray(0, ACT1_SIZE - 1));
    expect(first.reply).toBeNull();
    expect([...first.messages]).toEqual([]);
    expect(session.established).toBe(false);
    expect(session.receive(act1.subarray(ACT1_SIZE - 1)).reply).toHaveLength(ACT2_SIZE);
  });

  it('round trip with the proxy initiator: its messages decoded, split anywhere, and the answers it decodes', () => {
    const { session, proxy } = handshake();
    const toPool = new Sv2TransportEncoder(proxy.sender);
    const bytes = Buffer.concat([toPool.encode(encodeMessage(update)), toPool.encode(encodeMessage(update))]);
    const { replies, messages } = trickle(session, bytes);
    expect(replies).toEqual([]);
    expect(messages).toEqual([update, update]);
    const fromPool = new Sv2TransportDecoder(proxy.receiver);
    const answer: KnownSv2Message = { type: 'SetupConnection.Success', usedVersion: 2, flags: 0b11 };
    const frames = fromPool.push(Buffer.concat([session.encode(answer), session.encode({ type: 'ChannelEndpointChanged', channelId: 9 })]));
    expect(frames.map(decodeMessage)).toEqual([answer, { type: 'ChannelEndpointChanged', channelId: 9 }]);
  });

  it('takes act 1 in one chunk, then frames in one chunk', () => {
    const { session, authority } = pool();
    const initiator = new NoiseInitiator({ authorityPublicKey: authority.publicKey });
    const act1 = initiator.writeAct1();
    const input = session.receive(act1);
    const proxy = initiator.readAct2(input.reply!, NOW);
    expect([...input.messages]).toEqual([]);
    const frame = new Sv2TransportEncoder(proxy.sender).encode(encodeMessage(update));
    expect([...session.receive(frame).messages]).toEqual([update]);
  });

  it('signs with the key it is given: the proxy refuses another authority and an expired certificate', () => {
    const wrong = new Sv2ResponderSession({
      staticKey: generateKeyPair(),
      authoritySecretKey: generateKeyPair().secretKey,
      validFrom: NOW - 60,
      notValidAfter: NOW + 60,
    });
    const refused = new NoiseInitiator({ authorityPublicKey: generateKeyPair().publicKey });
    expect(() => refused.readAct2(wrong.receive(refused.writeAct1()).reply!, NOW)).toThrow(Sv2NoiseError);
    const { session, authority } = pool(generateKeyPair(), { validFrom: NOW - 7200, notValidAfter: NOW - 3600 });
    const initiator = new NoiseInitiator({ authorityPublicKey: authority.publicKey });
    expect(() => initiator.readAct2(session.receive(initiator.writeAct1()).reply!, NOW)).toThrow(
      expect.objectContaining({ kind: 'certificate-expired' }),
    );
  });

  it('fails for good on a tampered frame; bytes that fail right after act 1 still get act 2 first', () => {
    const { session, proxy } = handshake();
    const bytes = new Sv2TransportEncoder(proxy.sender).encode(encodeMessage(update));
    bytes[bytes.length - 1] ^= 0x01;
    expect(() => session.receive(bytes)).toThrow(Sv2NoiseError);
    expect(() => session.receive(Buffer.alloc(1))).toThrow(Sv2NoiseError);

    const { session: other, authority } = pool();
    const act1 = new NoiseInitiator({ authorityPublicKey: authority.publicKey }).writeAct1();
    const input = other.receive(Buffer.concat([act1, Buffer.alloc(40, 0xee)]));
    expect(input.reply).toHaveLength(ACT2_SIZE);
    expect(() => [...input.messages]).toThrow(Sv2NoiseError);
  });
});
