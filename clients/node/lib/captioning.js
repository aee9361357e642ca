// Captioning: RGB pixels -> the square the model takes (pixels.js) -> encoder.onnx -> beam search
// over decoder_step.onnx -> words. Rows match ``python -m apps.captioning.predict --runtime onnx --json``.

import { beamSearch, onnxStep, plainTensor } from "./decoding.js";
import { batches, round6 } from "./exported.js";
import { resizeSquare } from "./pixels.js";
import { Tokenizer } from "./tokenizer.js";
import { checkBeam } from "./translation.js";

export async function loadCaptioning(exported) {
  const vocabulary = new Tokenizer(await exported.json("vocabulary.json"), "vocabulary.json");
  const decoding = await exported.json("decoding.json");
  const encoder = await exported.session("encoder");
  const step = onnxStep(exported.ort, await exported.session("decoder_step"));
  const size = decoding.image_size;

  /** ``images``: ``[{name, width, height, rgb}]`` with ``rgb`` row-major RGB bytes, any size. */
  return async function caption(images, { beam = null, batchSize = 64 } = {}) {
    const beamSize = checkBeam(beam, decoding);
    const rows = [];
    for (const chunk of batches(images, batchSize)) {
      const pixels = new Uint8Array(chunk.length * size * size * 3);
      chunk.forEach((image, index) => pixels.set(resizeSquare(image, size), index * size * size * 3));
      const encoded = await encoder.run({ pixels: exported.tensor("uint8", pixels, [chunk.length, size, size, 3]) });
      const state = Object.fromEntries(decoding.state.map((name) => [name, plainTensor(encoded[name])]));
      const { tokens, scores } = await beamSearch(step, state, {
        beamSize, maxLength: decoding.max_length, lengthPenalty: decoding.length_penalty,
      });
      chunk.forEach((image, row) => rows.push({
        image: image.name, caption: vocabulary.wordsUntilEos(tokens[row]).join(" "),
        token_ids: tokens[row], score: round6(scores[row]),
      }));
    }
    return rows;
  };
}

export const inputs = "image files (PNG, JPEG)";

export async function predict(exported, paths, { batchSize, beam } = {}) {
  const { readImageFiles } = await import("./images-node.js");  // Node only; the page decodes with a canvas
  const images = await readImageFiles(paths.filter((path) => path.trim()));
  return (await loadCaptioning(exported))(images, { batchSize, beam });
}

export function formatRow(row) {
  return `${row.image}\t${row.caption}`;
}
