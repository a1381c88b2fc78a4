/**
 * The pool's side of one SV2 connection, over bytes only (for test and bench pools; no sockets): a Noise
 * responder whose certificate for the static key is signed by an authority key, act 1 read from the first
 * ACT1_SIZE bytes, then the encrypted transport both ways and SV2 messages in and out. The caller writes what
 * receive() returns as `reply` (act 2) before acting on its messages, and destroys the connection when
 * receive() or the iteration of its messages throws (a bad act 1, a failed MAC, a frame it cannot decode).
 */
import { ByteQueue } from './byte-queue.js';
import type { Sv2Frame } from './frame.js';
import { decodeMessage, encodeMessage, type KnownSv2Message, type Sv2Message } from './messages.js';
import { ACT1_SIZE, CERTIFICATE_VERSION, NoiseResponder, signCertificate, type Sv2KeyPair } from './noise.js';
import { Sv2TransportDecoder, Sv2TransportEncoder } from './transport.js';

export interface Sv2ResponderSessionOptions {
  /** The pool's long-lived static key, the one the certificate vouches for. */
  readonly staticKey: Sv2KeyPair;
  /** The secret key that signs the certificate: the pool's authority key (or another, to test refusals). */
  readonly authoritySecretKey: Uint8Array;
  /** The certificate's validity, in Unix seconds. */
  readonly validFrom: number;
  readonly notValidAfter: number;
}

export interface Sv2ResponderInput {
  /** Bytes to write to the peer first: act 2 once act 1 is complete, otherwise null. */
  readonly reply: Buffer | null;
  /** The messages of the complete frames received, decoded one by one as they are iterated (iterate them at once). */
  readonly messages: Iterable<Sv2Message>;
}

function* decodeEach(frames: readonly Sv2Frame[], failure: unknown): Generator<Sv2Message> {
  if (failure) throw failure;
  for (const frame of frames) yield decodeMessage(frame);
}

/** One connection's responder: feed it the bytes received, send with encode(). Single use. */
export class Sv2ResponderSession {
  private readonly responder: NoiseResponder;
  private readonly pending = new ByteQueue();
  private encoder: Sv2TransportEncoder | null = null;
  private decoder: Sv2TransportDecoder | null = null;

  constructor(options: Sv2ResponderSessionOptions) {
    const certificate = signCertificate(
      { version: CERTIFICATE_VERSION, validFrom: options.validFrom, notValidAfter: options.notValidAfter },
      options.staticKey.publicKey,
      options.authoritySecretKey,
    );
    this.responder = new NoiseResponder({ staticKey: options.staticKey, certificate });
  }

  /** True once act 2 is out: messages can be sent from then on. */
  get established(): boolean {
    return this.encoder !== null;
  }

  /** Bytes as received, split anywhere. Throws on a bad act 1 or a failed frame: the connection is then done. */
  receive(chunk: Uint8Array): Sv2ResponderInput {
    let reply: Buffer | null = null;
    if (!this.decoder) {
      this.pending.push(chunk);
      if (this.pending.length < ACT1_SIZE) return { reply, messages: [] };
      const { act2, session } = this.responder.readAct1(this.pending.take(ACT1_SIZE));
      reply = act2;
      this.encoder = new Sv2TransportEncoder(session.sender);
      this.decoder = new Sv2TransportDecoder(session.receiver);
      chunk = this.pending.take(this.pending.length);
    }
    try {
      return { reply, messages: decodeEach(this.decoder.push(chunk), null) };
    } catch (error) {
      // Bytes after act 1 that fail: act 2 is still written, then the first message read throws.
      if (!reply) throw error;
      return { reply, messages: decodeEach([], error) };
    }
  }

  /** A message as wire bytes (framed and encrypted), in the order they are sent. Only once established. */
  encode(message: KnownSv2Message): Buffer {
    if (!this.encoder) throw new Error('SV2 responder session: no message can be sent before act 2');
    return this.encoder.encode(encodeMessage(message));
  }
}
