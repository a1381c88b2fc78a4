import { Controller, Get, NotFoundException, Param, Res } from '@nestjs/common';
import type { Response } from 'express';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { PAGE_CSS, PAGE_HTML } from './page.js';

const require = createRequire(import.meta.url);

/** The compiled client: beside this file once built, or in dist/ when the app runs from its sources (tests). */
function clientScript(): string {
  for (const candidate of ['./client/app.js', '../../dist/web/client/app.js']) {
    const path = fileURLToPath(new URL(candidate, import.meta.url));
    if (existsSync(path)) return readFileSync(path, 'utf8');
  }
  throw new Error('the farm page script is not built (npm run build)');
}

/** Read once: everything the page needs comes from the proxy itself (no CDN). */
const ASSETS: Record<string, { type: string; body: () => string }> = {
  'app.js': { type: 'text/javascript; charset=utf-8', body: clientScript },
  'app.css': { type: 'text/css; charset=utf-8', body: () => PAGE_CSS },
  'uPlot.iife.min.js': {
    type: 'text/javascript; charset=utf-8',
    body: () => readFileSync(require.resolve('uplot/dist/uPlot.iife.min.js'), 'utf8'),
  },
  'uPlot.min.css': { type: 'text/css; charset=utf-8', body: () => readFileSync(require.resolve('uplot/dist/uPlot.min.css'), 'utf8') },
};

/** GET / (the farm page) and its assets under /ui (outside /api/v1). Off with --web.ui=false. */
@Controller()
export class WebController {
  private readonly cache = new Map<string, string>();

  @Get()
  page(@Res() response: Response): void {
    response.type('html').setHeader('Cache-Control', 'no-cache').send(PAGE_HTML);
  }

  @Get('ui/:file')
  asset(@Param('file') file: string, @Res() response: Response): void {
    const asset = Object.hasOwn(ASSETS, file) ? ASSETS[file] : undefined;
    if (!asset) throw new NotFoundException(`no asset ${file}`);
    let body = this.cache.get(file);
    if (body === undefined) this.cache.set(file, (body = asset.body()));
    response.setHeader('Content-Type', asset.type);
    response.setHeader('Cache-Control', 'no-cache');
    response.send(body);
  }
}
