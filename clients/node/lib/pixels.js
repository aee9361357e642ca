// The captioning pixel contract without TensorFlow: decoded RGB -> a size x size square with an
// antialiased bilinear (triangle) filter, rounded half to even. The twin of
// ``apps.captioning.encoder.resize_square``; works in Node.js and in the browser.

// Resampling weights [sizeOut][sizeIn]: pixel centres at half-integers, the triangle widened
// by the scale factor when shrinking, each row normalised to sum 1.
function triangleWeights(sizeIn, sizeOut) {
  const scale = sizeIn / sizeOut, support = Math.max(scale, 1);
  return Array.from({ length: sizeOut }, (_, out) => {
    const centre = (out + 0.5) * scale;
    const row = Array.from({ length: sizeIn }, (_, i) => Math.max(0, 1 - Math.abs(i + 0.5 - centre) / support));
    const total = row.reduce((a, b) => a + b, 0);
    return row.map((w) => w / total);
  });
}

function roundHalfEven(value) {
  const floor = Math.floor(value), fraction = value - floor;
  if (fraction > 0.5) return floor + 1;
  if (fraction < 0.5) return floor;
  return floor % 2 === 0 ? floor : floor + 1;
}

/** ``{width, height, rgb}`` (row-major RGB bytes) -> Uint8Array [size, size, 3]. */
export function resizeSquare({ width, height, rgb }, size) {
  if (rgb.length !== width * height * 3) throw new Error(`expected ${width}x${height}x3 RGB bytes, got ${rgb.length}`);
  const rows = triangleWeights(height, size), columns = triangleWeights(width, size);
  const tall = new Float64Array(size * width * 3);  // rows resampled first, as the reference does
  for (let y = 0; y < size; y++) {
    rows[y].forEach((w, i) => {
      if (w === 0) return;
      for (let k = 0; k < width * 3; k++) tall[y * width * 3 + k] += w * rgb[i * width * 3 + k];
    });
  }
  const out = new Uint8Array(size * size * 3);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      for (let ch = 0; ch < 3; ch++) {
        let sum = 0;
        columns[x].forEach((w, j) => { if (w !== 0) sum += w * tall[(y * width + j) * 3 + ch]; });
        out[(y * size + x) * 3 + ch] = roundHalfEven(Math.min(255, Math.max(0, sum)));
      }
    }
  }
  return out;
}

/** RGBA bytes (canvas ImageData, PNG decoders) -> RGB bytes, alpha dropped as Pillow's convert("RGB") does. */
export function rgbaToRgb(rgba) {
  const rgb = new Uint8Array((rgba.length / 4) * 3);
  for (let p = 0, q = 0; p < rgba.length; p += 4, q += 3) {
    rgb[q] = rgba[p]; rgb[q + 1] = rgba[p + 1]; rgb[q + 2] = rgba[p + 2];
  }
  return rgb;
}
