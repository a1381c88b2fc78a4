import { Global, MiddlewareConsumer, Module, NestModule } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import { JsonBodyMiddleware } from './json-body.middleware.js';
import { JsonExceptionFilter } from './json-exception.filter.js';
import { ManagementTokenGuard } from './management-token.guard.js';

/** Cross-cutting HTTP concerns: JSON bodies with a size cap, JSON errors, the management token guard. */
@Global()
@Module({
  providers: [ManagementTokenGuard, { provide: APP_FILTER, useClass: JsonExceptionFilter }],
  exports: [ManagementTokenGuard],
})
export class ApiModule implements NestModule {
  configure(consumer: MiddlewareConsumer): void {
    consumer.apply(JsonBodyMiddleware).forRoutes('*path');
  }
}
