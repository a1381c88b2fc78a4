import { Injectable, OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { Response } from 'express';

const SIZE = 16;
/** The page's accent colour (page.ts --accent) and white, as [red, green, blue]. */
const ACCENT = [0x2e, 0x6b, 0xe6];
const WHITE = [0xff, 0xff, 0xff];
/** Three bars of a chart: [first column, top row], each two columns wide, down to row 12. */
const BARS = [
  [3, 8],
  [7, 5],
  [11, 3],
];

/** The colour of a pixel (x, y from the top left), or null where the icon is transparent (its rounded corners). */
function pixel(x: number, y: number): number[] | null {
  const cx = Math.min(Math.max(x, 3), SIZE - 4) - x;
  const cy = Math.min(Math.max(y, 3), SIZE - 4) - y;
  if (cx * cx + cy * cy > 10) return null;
  return BARS.some(([left, top]) => x >= left && x <= left + 1 && y >= top && y <= 12) ? WHITE : ACCENT;
}

/** A 16x16 .ico made here, no file and no network: one 32-bit bitmap of the accent square with a chart's bars. */
export function faviconIco(): Buffer {
  const pixels = SIZE * SIZE * 4;
  const mask = SIZE * 4; // 1 bit a pixel, rows padded to 4 bytes; all 0: the alpha channel decides
  const icon = Buffer.alloc(6 + 16 + 40 + pixels + mask);
  icon.writeUInt16LE(1, 2); // type: icon
  icon.writeUInt16LE(1, 4); // one image
  icon.writeUInt8(SIZE, 6);
  icon.writeUInt8(SIZE, 7);
  icon.writeUInt16LE(1, 10); // planes
  icon.writeUInt16LE(32, 12); // bits per pixel
  icon.writeUInt32LE(40 + pixels + mask, 14);
  icon.writeUInt32LE(22, 18); // where the bitmap starts
  icon.writeUInt32LE(40, 22); // BITMAPINFOHEADER
  icon.writeInt32LE(SIZE, 26);
  icon.writeInt32LE(SIZE * 2, 30); // the colours and the mask, stacked
  icon.writeUInt16LE(1, 34);
  icon.writeUInt16LE(32, 36);
  icon.writeUInt32LE(pixels + mask, 42);
  for (let y = 0; y < SIZE; y++) {
    for (let x = 0; x < SIZE; x++) {
      const colour = pixel(x, y);
      if (!colour) continue;
      // Bitmap rows run from the bottom up, each pixel blue, green, red, alpha.
      const at = 62 + ((SIZE - 1 - y) * SIZE + x) * 4;
      icon.set([colour[2], colour[1], colour[0], 0xff], at);
    }
  }
  return icon;
}

/**
 * GET /favicon.ico, which browsers ask for by themselves. It is registered on the HTTP adapter, at the
 * root: a controller's route would be under the API's global prefix, whose exceptions bootstrap lists.
 * Registered at module init, after the controllers' routes and before Nest's not-found handler.
 */
@Injectable()
export class FaviconRoute implements OnModuleInit {
  private readonly icon = faviconIco();

  constructor(private readonly adapterHost: HttpAdapterHost) {}

  onModuleInit(): void {
    this.adapterHost.httpAdapter.get('/favicon.ico', (_request: unknown, response: Response) => {
      response.setHeader('Content-Type', 'image/x-icon');
      response.setHeader('Cache-Control', 'public, max-age=86400');
      response.end(this.icon);
    });
  }
}
