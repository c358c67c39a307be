/**
 * A tiny raster canvas and PNG encoder (node:zlib only), enough to draw the
 * benchmark's bar chart without a browser: rectangles and text in a 5x7
 * bitmap font (upper case, digits and a few signs; lower case is drawn upper).
 */
import { crc32, deflateSync } from 'node:zlib';

export type Rgb = readonly [number, number, number];

// 5x7 glyphs, one string per row, '#' = ink.
const FONT: Record<string, readonly string[]> = {
  A: ['.###.', '#...#', '#...#', '#####', '#...#', '#...#', '#...#'],
  B: ['####.', '#...#', '#...#', '####.', '#...#', '#...#', '####.'],
  C: ['.###.', '#...#', '#....', '#....', '#....', '#...#', '.###.'],
  D: ['####.', '#...#', '#...#', '#...#', '#...#', '#...#', '####.'],
  E: ['#####', '#....', '#....', '####.', '#....', '#....', '#####'],
  F: ['#####', '#....', '#....', '####.', '#....', '#....', '#....'],
  G: ['.###.', '#...#', '#....', '#.###', '#...#', '#...#', '.####'],
  H: ['#...#', '#...#', '#...#', '#####', '#...#', '#...#', '#...#'],
  I: ['.###.', '..#..', '..#..', '..#..', '..#..', '..#..', '.###.'],
  J: ['..###', '...#.', '...#.', '...#.', '...#.', '#..#.', '.##..'],
  K: ['#...#', '#..#.', '#.#..', '##...', '#.#..', '#..#.', '#...#'],
  L: ['#....', '#....', '#....', '#....', '#....', '#....', '#####'],
  M: ['#...#', '##.##', '#.#.#', '#.#.#', '#...#', '#...#', '#...#'],
  N: ['#...#', '#...#', '##..#', '#.#.#', '#..##', '#...#', '#...#'],
  O: ['.###.', '#...#', '#...#', '#...#', '#...#', '#...#', '.###.'],
  P: ['####.', '#...#', '#...#', '####.', '#....', '#....', '#....'],
  Q: ['.###.', '#...#', '#...#', '#...#', '#.#.#', '#..#.', '.##.#'],
  R: ['####.', '#...#', '#...#', '####.', '#.#..', '#..#.', '#...#'],
  S: ['.####', '#....', '#....', '.###.', '....#', '....#', '####.'],
  T: ['#####', '..#..', '..#..', '..#..', '..#..', '..#..', '..#..'],
  U: ['#...#', '#...#', '#...#', '#...#', '#...#', '#...#', '.###.'],
  V: ['#...#', '#...#', '#...#', '#...#', '#...#', '.#.#.', '..#..'],
  W: ['#...#', '#...#', '#...#', '#.#.#', '#.#.#', '#.#.#', '.#.#.'],
  X: ['#...#', '#...#', '.#.#.', '..#..', '.#.#.', '#...#', '#...#'],
  Y: ['#...#', '#...#', '.#.#.', '..#..', '..#..', '..#..', '..#..'],
  Z: ['#####', '....#', '...#.', '..#..', '.#...', '#....', '#####'],
  '0': ['.###.', '#...#', '#..##', '#.#.#', '##..#', '#...#', '.###.'],
  '1': ['..#..', '.##..', '..#..', '..#..', '..#..', '..#..', '.###.'],
  '2': ['.###.', '#...#', '....#', '...#.', '..#..', '.#...', '#####'],
  '3': ['#####', '...#.', '..#..', '...#.', '....#', '#...#', '.###.'],
  '4': ['...#.', '..##.', '.#.#.', '#..#.', '#####', '...#.', '...#.'],
  '5': ['#####', '#....', '####.', '....#', '....#', '#...#', '.###.'],
  '6': ['..##.', '.#...', '#....', '####.', '#...#', '#...#', '.###.'],
  '7': ['#####', '....#', '...#.', '..#..', '.#...', '.#...', '.#...'],
  '8': ['.###.', '#...#', '#...#', '.###.', '#...#', '#...#', '.###.'],
  '9': ['.###.', '#...#', '#...#', '.####', '....#', '...#.', '.##..'],
  ' ': ['.....', '.....', '.....', '.....', '.....', '.....', '.....'],
  '.': ['.....', '.....', '.....', '.....', '.....', '.##..', '.##..'],
  ',': ['.....', '.....', '.....', '.....', '.##..', '..#..', '.#...'],
  ':': ['.....', '.##..', '.##..', '.....', '.##..', '.##..', '.....'],
  '-': ['.....', '.....', '.....', '#####', '.....', '.....', '.....'],
  '+': ['.....', '..#..', '..#..', '#####', '..#..', '..#..', '.....'],
  '/': ['.....', '....#', '...#.', '..#..', '.#...', '#....', '.....'],
  '(': ['...#.', '..#..', '.#...', '.#...', '.#...', '..#..', '...#.'],
  ')': ['.#...', '..#..', '...#.', '...#.', '...#.', '..#..', '.#...'],
  '%': ['##...', '##..#', '...#.', '..#..', '.#...', '#..##', '...##'],
  '=': ['.....', '.....', '#####', '.....', '#####', '.....', '.....'],
  '>': ['.#...', '..#..', '...#.', '....#', '...#.', '..#..', '.#...'],
  '<': ['...#.', '..#..', '.#...', '#....', '.#...', '..#..', '...#.'],
  "'": ['..#..', '..#..', '.#...', '.....', '.....', '.....', '.....'],
  '?': ['.###.', '#...#', '....#', '...#.', '..#..', '.....', '..#..'],
};

/** An RGB raster. */
export class Canvas {
  readonly pixels: Uint8Array;

  constructor(
    readonly width: number,
    readonly height: number,
    background: Rgb = [255, 255, 255],
  ) {
    this.pixels = new Uint8Array(width * height * 3);
    this.rect(0, 0, width, height, background);
  }

  rect(x: number, y: number, w: number, h: number, color: Rgb): void {
    const x0 = Math.max(0, Math.round(x));
    const y0 = Math.max(0, Math.round(y));
    const x1 = Math.min(this.width, Math.round(x + w));
    const y1 = Math.min(this.height, Math.round(y + h));
    for (let yy = y0; yy < y1; yy++) {
      for (let xx = x0; xx < x1; xx++) {
        const i = (yy * this.width + xx) * 3;
        this.pixels[i] = color[0];
        this.pixels[i + 1] = color[1];
        this.pixels[i + 2] = color[2];
      }
    }
  }

  /** Width in pixels of `text` at `scale`. */
  static textWidth(text: string, scale: number): number {
    return text.length * 6 * scale - scale;
  }

  /** Draws `text` with its top-left corner at (x, y); each font pixel is `scale` pixels. */
  text(x: number, y: number, text: string, color: Rgb, scale = 2): void {
    let cx = x;
    for (const ch of text.toUpperCase()) {
      const glyph = FONT[ch] ?? FONT['?']!;
      glyph.forEach((row, gy) => {
        for (let gx = 0; gx < 5; gx++) if (row[gx] === '#') this.rect(cx + gx * scale, y + gy * scale, scale, scale, color);
      });
      cx += 6 * scale;
    }
  }

  /** The canvas as a PNG file (8-bit RGB, no interlace). */
  toPng(): Buffer {
    const stride = this.width * 3;
    const raw = Buffer.alloc((stride + 1) * this.height);
    for (let y = 0; y < this.height; y++) {
      raw[y * (stride + 1)] = 0; // filter: none
      raw.set(this.pixels.subarray(y * stride, (y + 1) * stride), y * (stride + 1) + 1);
    }
    const ihdr = Buffer.alloc(13);
    ihdr.writeUInt32BE(this.width, 0);
    ihdr.writeUInt32BE(this.height, 4);
    ihdr[8] = 8; // bit depth
    ihdr[9] = 2; // colour type: RGB
    return Buffer.concat([
      Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
      chunk('IHDR', ihdr),
      chunk('IDAT', deflateSync(raw, { level: 9 })),
      chunk('IEND', Buffer.alloc(0)),
    ]);
  }
}

function chunk(type: string, data: Buffer): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(data.length, 0);
  head.write(type, 4, 'ascii');
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), data])) >>> 0, 0);
  return Buffer.concat([head, data, crc]);
}

/** One bar of {@link barChart}: a median with its min-max whisker, or a note when missing. */
export interface Bar {
  label: string;
  value?: number;
  min?: number;
  max?: number;
  note?: string;
  color?: Rgb;
}

/**
 * A horizontal bar chart: one row per bar, value axis from 0 to `maxValue`,
 * vertical guide lines at `guides` (e.g. 1.00 and 0.85).
 */
export function barChart(title: string, subtitle: string, bars: readonly Bar[], guides: readonly { at: number; label: string }[]): Buffer {
  const scale = 2;
  const labelWidth = Math.max(...bars.map((b) => Canvas.textWidth(b.label, scale))) + 24;
  const plotWidth = 560;
  const rowHeight = 34;
  const top = 100;
  const width = labelWidth + plotWidth + 110;
  const height = top + bars.length * rowHeight + 40;
  const maxValue = Math.max(1.2, ...bars.map((b) => b.max ?? b.value ?? 0)) * 1.05;
  const c = new Canvas(width, height);
  const ink: Rgb = [33, 37, 41];
  const grey: Rgb = [173, 181, 189];
  c.text(16, 14, title, ink, scale);
  c.text(16, 40, subtitle, [108, 117, 125], scale);
  const x0 = labelWidth;
  const xOf = (v: number) => x0 + (v / maxValue) * plotWidth;
  guides.forEach((g, i) => {
    c.rect(xOf(g.at), top - 10, 1, bars.length * rowHeight + 10, grey);
    // Alternate labels between the bottom and the top so close guides stay readable.
    const y = i % 2 === 0 ? height - 28 : top - 26;
    c.text(xOf(g.at) - Canvas.textWidth(g.label, scale) / 2, y, g.label, [108, 117, 125], scale);
  });
  bars.forEach((b, i) => {
    const y = top + i * rowHeight;
    c.text(12, y + 6, b.label, ink, scale);
    if (b.value === undefined || !Number.isFinite(b.value)) {
      c.text(x0 + 8, y + 6, b.note ?? 'N/A', grey, scale);
      return;
    }
    c.rect(x0, y, xOf(b.value) - x0, rowHeight - 10, b.color ?? [13, 110, 253]);
    if (b.min !== undefined && b.max !== undefined && Number.isFinite(b.min) && Number.isFinite(b.max)) {
      const mid = y + (rowHeight - 10) / 2;
      c.rect(xOf(b.min), mid - 1, Math.max(1, xOf(b.max) - xOf(b.min)), 2, ink);
      c.rect(xOf(b.min), mid - 6, 2, 12, ink);
      c.rect(xOf(b.max) - 2, mid - 6, 2, 12, ink);
    }
    c.text(Math.max(xOf(b.value), xOf(b.max ?? 0)) + 8, y + 6, `${b.value.toFixed(2)}X`, ink, scale);
  });
  return c.toPng();
}
