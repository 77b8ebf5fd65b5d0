// A tiny line-chart renderer that writes a PNG with nothing but node:zlib:
// an RGB raster, Bresenham lines, a 5x7 bitmap font, and a PNG encoder
// (IHDR, one IDAT, IEND). Enough for one benchmark chart, no dependencies.
import { crc32, deflateSync } from 'node:zlib';

/** An RGB colour, each channel 0-255. */
export type Rgb = readonly [number, number, number];

/** One polyline of the chart. */
export interface Series {
  readonly label: string;
  readonly color: Rgb;
  /** (x, y) points; y must be > 0 (the y axis is logarithmic). */
  readonly points: readonly (readonly [number, number])[];
}

/** What {@link renderLineChart} draws. */
export interface LineChartOptions {
  readonly title: string;
  readonly xLabel: string;
  readonly yLabel: string;
  readonly series: readonly Series[];
  /** Marks on the x axis, labelled with their value. */
  readonly xTicks: readonly number[];
  /** A vertical dashed line (e.g. the saturation point), if any. */
  readonly marker?: { readonly x: number; readonly label: string };
  /** A horizontal dashed line (e.g. a latency target), if any. */
  readonly hline?: { readonly y: number; readonly label: string };
  readonly width?: number;
  readonly height?: number;
}

// 5x7 glyphs, one string of 7 rows x 5 columns per character.
const FONT: Record<string, string> = {
  '0': '01110100011001110101110011000101110',
  '1': '00100011000010000100001000010001110',
  '2': '01110100010000100010001000100011111',
  '3': '11111000100010000010000011000101110',
  '4': '00010001100101010010111110001000010',
  '5': '11111100001111000001000011000101110',
  '6': '00110010001000011110100011000101110',
  '7': '11111000010001000100010000100001000',
  '8': '01110100011000101110100011000101110',
  '9': '01110100011000101111000010001001100',
  A: '01110100011000111111100011000110001',
  B: '11110100011000111110100011000111110',
  C: '01110100011000010000100001000101110',
  D: '11100100101000110001100011001011100',
  E: '11111100001000011110100001000011111',
  F: '11111100001000011110100001000010000',
  G: '01110100011000010111100011000101111',
  H: '10001100011000111111100011000110001',
  I: '01110001000010000100001000010001110',
  K: '10001100101010011000101001001010001',
  L: '10000100001000010000100001000011111',
  M: '10001110111010110101100011000110001',
  N: '10001100011100110101100111000110001',
  O: '01110100011000110001100011000101110',
  P: '11110100011000111110100001000010000',
  R: '11110100011000111110101001001010001',
  S: '01111100001000001110000010000111110',
  T: '11111001000010000100001000010000100',
  U: '10001100011000110001100011000101110',
  V: '10001100011000110001100010101000100',
  W: '10001100011000110101101011010101010',
  X: '10001100010101000100010101000110001',
  Y: '10001100010101000100001000010000100',
  '/': '00001000010001000100010001000010000',
  '.': '00000000000000000000000000110001100',
  ',': '00000000000000000000001100010001000',
  '-': '00000000000000011111000000000000000',
  '(': '00010001000100001000010000010000010',
  ')': '01000001000001000010000100010001000',
  '<': '00010001000100010000010000010000010',
  '>': '01000001000001000001000100010001000',
  '=': '00000000001111100000111110000000000',
  '%': '11000110010001000100010001001100011',
  ':': '00000011000110000000011000110000000',
  ' ': '00000000000000000000000000000000000',
};

class Raster {
  readonly width: number;
  readonly height: number;
  readonly pixels: Uint8Array;
  constructor(width: number, height: number) {
    this.width = width;
    this.height = height;
    this.pixels = new Uint8Array(width * height * 3).fill(255);
  }

  set(x: number, y: number, c: Rgb): void {
    const xi = Math.round(x);
    const yi = Math.round(y);
    if (xi < 0 || yi < 0 || xi >= this.width || yi >= this.height) return;
    const i = (yi * this.width + xi) * 3;
    this.pixels[i] = c[0];
    this.pixels[i + 1] = c[1];
    this.pixels[i + 2] = c[2];
  }

  line(x0: number, y0: number, x1: number, y1: number, c: Rgb, thickness = 1, dash = 0): void {
    const steps = Math.max(Math.abs(x1 - x0), Math.abs(y1 - y0), 1);
    const half = Math.floor(thickness / 2);
    for (let s = 0; s <= steps; s++) {
      if (dash > 0 && Math.floor(s / dash) % 2 === 1) continue;
      const x = x0 + ((x1 - x0) * s) / steps;
      const y = y0 + ((y1 - y0) * s) / steps;
      for (let dx = -half; dx <= half; dx++) for (let dy = -half; dy <= half; dy++) this.set(x + dx, y + dy, c);
    }
  }

  square(x: number, y: number, r: number, c: Rgb): void {
    for (let dx = -r; dx <= r; dx++) for (let dy = -r; dy <= r; dy++) this.set(x + dx, y + dy, c);
  }

  /** Draws text (upper-cased) with its top-left at (x, y); returns its width. */
  text(x: number, y: number, s: string, c: Rgb, scale = 2): number {
    let cx = x;
    for (const ch of s.toUpperCase()) {
      const glyph = FONT[ch] ?? FONT[' '] ?? '';
      for (let row = 0; row < 7; row++) {
        for (let col = 0; col < 5; col++) {
          if (glyph[row * 5 + col] !== '1') continue;
          for (let sx = 0; sx < scale; sx++) for (let sy = 0; sy < scale; sy++) this.set(cx + col * scale + sx, y + row * scale + sy, c);
        }
      }
      cx += 6 * scale;
    }
    return cx - x;
  }

  /** Text rotated 90° counter-clockwise, reading bottom to top, starting at (x, y). */
  textUp(x: number, y: number, s: string, c: Rgb, scale = 2): void {
    let cy = y;
    for (const ch of s.toUpperCase()) {
      const glyph = FONT[ch] ?? FONT[' '] ?? '';
      for (let row = 0; row < 7; row++) {
        for (let col = 0; col < 5; col++) {
          if (glyph[row * 5 + col] !== '1') continue;
          for (let sx = 0; sx < scale; sx++) for (let sy = 0; sy < scale; sy++) this.set(x + row * scale + sx, cy - col * scale - sy, c);
        }
      }
      cy -= 6 * scale;
    }
  }
}

/** Width in pixels of `s` drawn by the chart's font at `scale`. */
function textWidth(s: string, scale = 2): number {
  return s.length * 6 * scale;
}

/** Encodes 8-bit RGB pixels (row-major) as a PNG file. */
export function encodePng(width: number, height: number, rgb: Uint8Array): Buffer {
  const stride = width * 3;
  const raw = Buffer.alloc((stride + 1) * height);
  for (let y = 0; y < height; y++) {
    raw[y * (stride + 1)] = 0; // filter: none
    raw.set(rgb.subarray(y * stride, (y + 1) * stride), y * (stride + 1) + 1);
  }
  const chunk = (type: string, data: Buffer): Buffer => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const typed = Buffer.concat([Buffer.from(type, 'latin1'), data]);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(typed) >>> 0);
    return Buffer.concat([len, typed, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // colour type: RGB
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(raw)),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

function formatMs(v: number): string {
  return v >= 1000 ? `${v / 1000}S` : `${v}`;
}

/**
 * Renders a line chart with a linear x axis and a logarithmic y axis (powers
 * of ten, from 1 up to the first power of ten above the largest y) and returns
 * the PNG bytes. Never throws for finite, positive data.
 */
export function renderLineChart(options: LineChartOptions): Buffer {
  const width = options.width ?? 960;
  const height = options.height ?? 560;
  const r = new Raster(width, height);
  const black: Rgb = [30, 30, 30];
  const grey: Rgb = [215, 215, 215];
  const left = 90;
  const right = width - 30;
  const top = 60;
  const bottom = height - 80;

  const allY = options.series.flatMap((s) => s.points.map((p) => p[1])).filter((y) => y > 0);
  const yMin = 1;
  const yMaxExp = Math.max(1, Math.ceil(Math.log10(Math.max(...allY, options.hline?.y ?? 1, 2))));
  const xMax = Math.max(...options.xTicks, ...options.series.flatMap((s) => s.points.map((p) => p[0])));
  const px = (x: number): number => left + (x / xMax) * (right - left);
  const py = (y: number): number => bottom - ((Math.log10(Math.max(y, yMin)) - 0) / yMaxExp) * (bottom - top);

  // Grid and y labels: every power of ten, lighter marks at 2 and 5.
  for (let e = 0; e <= yMaxExp; e++) {
    const v = 10 ** e;
    r.line(left, py(v), right, py(v), grey);
    const label = formatMs(v);
    r.text(left - 8 - textWidth(label), py(v) - 7, label, black);
    if (e < yMaxExp) for (const m of [2, 5]) r.line(left, py(v * m), right, py(v * m), [238, 238, 238]);
  }
  for (const x of options.xTicks) {
    r.line(px(x), top, px(x), bottom, grey);
    const label = String(x);
    r.text(px(x) - textWidth(label) / 2, bottom + 10, label, black);
  }
  r.line(left, top, left, bottom, black, 2);
  r.line(left, bottom, right, bottom, black, 2);

  if (options.hline) {
    const y = py(options.hline.y);
    r.line(left, y, right, y, [120, 120, 120], 1, 6);
    r.text(right - textWidth(options.hline.label) - 4, y - 18, options.hline.label, [90, 90, 90]);
  }
  if (options.marker) {
    const x = px(options.marker.x);
    r.line(x, top, x, bottom, [200, 40, 40], 1, 6);
    r.text(Math.min(x + 6, right - textWidth(options.marker.label)), top + 6, options.marker.label, [200, 40, 40]);
  }

  for (const s of options.series) {
    for (let i = 1; i < s.points.length; i++) {
      const a = s.points[i - 1];
      const b = s.points[i];
      if (a && b) r.line(px(a[0]), py(a[1]), px(b[0]), py(b[1]), s.color, 3);
    }
    for (const [x, y] of s.points) r.square(px(x), py(y), 3, s.color);
  }

  // Title, axis labels, legend.
  r.text((width - textWidth(options.title)) / 2, 18, options.title, black);
  r.text((left + right - textWidth(options.xLabel)) / 2, height - 36, options.xLabel, black);
  r.textUp(14, (top + bottom + textWidth(options.yLabel)) / 2, options.yLabel, black);
  let lx = left + 16;
  for (const s of options.series) {
    r.line(lx, top + 14, lx + 24, top + 14, s.color, 3);
    lx += 30 + r.text(lx + 30, top + 7, s.label, black) + 24;
  }
  return encodePng(width, height, r.pixels);
}
