import { Global, MiddlewareConsumer, Module, NestModule } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import { ThrottlerModule } from '@nestjs/throttler';
import { APP_CONFIG, type AppConfig } from '../config/app-config.js';
import { JsonBodyMiddleware } from './json-body.middleware.js';
import { JsonExceptionFilter } from './json-exception.filter.js';
import { ManagementTokenGuard, RegistrationTokenGuard } from './management-token.guard.js';
import { ApiThrottlerGuard, rateLimits } from './rate-limits.js';

/**
 * Cross-cutting HTTP concerns: JSON bodies with a size cap, JSON errors, the token guards, rate limits (on
 * the API controllers only: a global guard would also run for every Stratum message).
 */
@Global()
@Module({
  imports: [ThrottlerModule.forRootAsync({ inject: [APP_CONFIG], useFactory: (config: AppConfig) => rateLimits(config) })],
  providers: [ManagementTokenGuard, RegistrationTokenGuard, { provide: APP_FILTER, useClass: JsonExceptionFilter }, ApiThrottlerGuard],
  exports: [ManagementTokenGuard, RegistrationTokenGuard, ApiThrottlerGuard],
})
export class ApiModule implements NestModule {
  configure(consumer: MiddlewareConsumer): void {
    consumer.apply(JsonBodyMiddleware).forRoutes('*path');
  }
}
