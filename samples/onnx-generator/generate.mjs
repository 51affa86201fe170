import * as ort from "onnxruntime-node";
import { writeFileSync } from "node:fs";

const session = await ort.InferenceSession.create("fm32-ddim.onnx");
const n = 10, size = 28 * 28;
const noise = Float32Array.from({ length: n * size }, () => Math.sqrt(-2 * Math.log(1 - Math.random())) * Math.cos(2 * Math.PI * Math.random()));
const { images } = await session.run({
  noise: new ort.Tensor("float32", noise, [n, 1, 28, 28]),
  class_labels: new ort.Tensor("int64", BigInt64Array.from({ length: n }, (_, i) => BigInt(i)), [n]),
  guidance_scale: new ort.Tensor("float32", [2], []),
  steps: new ort.Tensor("int64", [25n], []),
});
const pixels = Uint8Array.from(images.data, v => Math.round((Math.max(-1, Math.min(1, v)) + 1) * 127.5));
writeFileSync("classes.pgm", Buffer.concat([Buffer.from(`P5 28 ${28 * n} 255\n`), pixels])); // one image per class, stacked
