// Image files to RGB pixels in Node.js: PNG with pngjs, JPEG with libjpeg-turbo compiled to
// WebAssembly (@cwasm/jpeg-turbo), the library and defaults (accurate integer DCT, fancy
// upsampling) Pillow decodes with, so the pixels are identical to the Python route's.

import { readFile, stat } from "node:fs/promises";

import jpegTurbo from "@cwasm/jpeg-turbo";
import pngjs from "pngjs";

import { rgbaToRgb } from "./pixels.js";

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47];
const JPEG_SIGNATURE = [0xff, 0xd8, 0xff];

function startsWith(bytes, signature) {
  return signature.every((byte, index) => bytes[index] === byte);
}

/** Every file decoded up front, so one bad file is named before any work is done. */
export async function readImageFiles(paths) {
  const images = [];
  for (const path of paths) {
    const info = await stat(path).catch(() => null);
    if (!info?.isFile()) throw new Error(`${path}: no such image file`);
    const bytes = await readFile(path);
    try {
      images.push({ name: path, ...decode(bytes) });
    } catch (error) {
      throw new Error(`${path}: not a readable image (${error.message})`);
    }
  }
  return images;
}

function decode(bytes) {
  if (startsWith(bytes, PNG_SIGNATURE)) {
    const png = pngjs.PNG.sync.read(bytes);
    return { width: png.width, height: png.height, rgb: rgbaToRgb(png.data) };
  }
  if (startsWith(bytes, JPEG_SIGNATURE)) {
    const image = jpegTurbo.decode(bytes);
    return { width: image.width, height: image.height, rgb: rgbaToRgb(image.data) };
  }
  throw new Error("the Node.js client reads PNG and JPEG files (convert GIF and BMP first)");
}
