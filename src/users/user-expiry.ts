import { Inject, Injectable, Logger, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { APP_CONFIG, type AppConfig } from '../config/app-config.js';
import { UsersService } from './users.service.js';

const CHECK_EVERY_MS = 60 * 60_000;

/** --users.expireAfter: deletes inactive users in the background, as the original README planned. */
@Injectable()
export class UserExpiry implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger(UserExpiry.name);
  private timer: NodeJS.Timeout | null = null;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly users: UsersService,
  ) {}

  onModuleInit(): void {
    const expireAfter = this.config.usersExpireAfterMs;
    if (expireAfter <= 0) return;
    this.timer = setInterval(() => void this.run(), Math.min(CHECK_EVERY_MS, Math.max(1000, expireAfter / 2))).unref();
    void this.run();
  }

  onModuleDestroy(): void {
    if (this.timer) clearInterval(this.timer);
  }

  async run(now = Date.now()): Promise<number> {
    if (this.config.usersExpireAfterMs <= 0) return 0;
    try {
      return await this.users.expireInactive(new Date(now - this.config.usersExpireAfterMs));
    } catch (error) {
      this.logger.warn(`expiring inactive users failed: ${(error as Error).message}`);
      return 0;
    }
  }
}
