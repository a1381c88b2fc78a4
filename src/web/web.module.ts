import { DynamicModule, Module } from '@nestjs/common';
import { WebController } from './web.controller.js';

/** The farm page: a static page and its script, reading the JSON API. */
@Module({})
export class WebModule {
  static forRoot(enabled: boolean): DynamicModule {
    return { module: WebModule, controllers: enabled ? [WebController] : [] };
  }
}
