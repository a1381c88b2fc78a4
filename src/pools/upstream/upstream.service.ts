import { Inject, Injectable, OnModuleDestroy } from '@nestjs/common';
import { APP_CONFIG, type AppConfig } from '../../config/app-config.js';
import { PoolAccount, PoolConnection, PoolConnectionListener } from './pool-connection.js';

export const USER_AGENT = 'stratum-proxy/0.1.0';

/** Opens pool connections with the configured limits and closes whatever is left at shutdown. */
@Injectable()
export class UpstreamService implements OnModuleDestroy {
  private readonly open = new Set<PoolConnection>();

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
      },
      tracked,
      label,
    );
    this.open.add(connection);
    connection.start();
    return connection;
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
