import { Inject, Injectable, OnModuleDestroy } from '@nestjs/common';
import { APP_CONFIG, type AppConfig } from '../../config/app-config.js';
import { NotifyCache, PoolAccount, PoolConnection, PoolConnectionListener } from './pool-connection.js';

export const USER_AGENT = 'stratum-proxy/0.1.0';

/** Opens pool connections with the configured limits and closes whatever is left at shutdown. */
@Injectable()
export class UpstreamService implements OnModuleDestroy {
  private readonly open = new Set<PoolConnection>();
  /** One notify cache per pool address, shared by all connections to it. */
  private readonly notifyCaches = new Map<string, NotifyCache>();

  constructor(@Inject(APP_CONFIG) private readonly config: AppConfig) {}

  connect(account: PoolAccount, versionRollingMask: number | null, listener: PoolConnectionListener, label: string): PoolConnection {
    const upstream = this.config.upstream;
    const tracked: PoolConnectionListener = {
      ...listener,
      onAuthorizeFailed: (reason) => {
        this.open.delete(connection);
        listener.onAuthorizeFailed(reason);
      },
      onGiveUp: () => {
        this.open.delete(connection);
        listener.onGiveUp();
      },
    };
    const connection = new PoolConnection(
      account,
      {
        userAgent: USER_AGENT,
        maxLineLength: upstream.maxLineLength,
        connectTimeoutMs: upstream.connectTimeoutMs,
        giveUpAfterMs: upstream.giveUpAfterMs,
        submitTimeoutMs: upstream.submitTimeoutMs,
        versionRollingMask,
        notifyCache: this.notifyCacheFor(`${account.host}:${account.port}`),
      },
      tracked,
      label,
    );
    this.open.add(connection);
    connection.start();
    return connection;
  }

  private notifyCacheFor(address: string): NotifyCache {
    let cache = this.notifyCaches.get(address);
    if (!cache) this.notifyCaches.set(address, (cache = new NotifyCache()));
    return cache;
  }

  release(connection: PoolConnection): void {
    this.open.delete(connection);
    connection.close();
  }

  get connectionCount(): number {
    return this.open.size;
  }

  onModuleDestroy(): void {
    for (const connection of this.open) connection.close();
    this.open.clear();
  }
}
