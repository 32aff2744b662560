import * as ort from 'onnxruntime-node';
import { GraphBuilder, Session } from './src/graph/index.js';
const g = new GraphBuilder({ opset: 17 });
const x = g.input('x', 'float32', [1, 4]);
const w = g.input('w', 'float32', [4, 1]);
g.output(g.matMul(x, w), 'y', 'float32', [1, 1]);
const s = await ort.InferenceSession.create((await import('./src/graph/index.js')).serializeModel ? (await import('./src/graph/index.js')).serializeModel(g.toModel()) : new Uint8Array());
