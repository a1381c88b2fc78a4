import { DynamicModule, Module } from '@nestjs/common';
import { FaviconRoute } from './favicon.js';
import { WebController } from './web.controller.js';

/** The farm page: a static page and its script, reading the JSON API, and its icon. */
@Module({})
export class WebModule {
  static forRoot(enabled: boolean): DynamicModule {
    return { module: WebModule, controllers: enabled ? [WebController] : [], providers: enabled ? [FaviconRoute] : [] };
  }
}
