// Elementwise optimizer kernels for wasm32 + SIMD128, compiled by build.sh with Debian's clang/lld.
// Each kernel is a fused chain of alignkit transforms and computes exactly what the TypeScript
// chain computes, in float32 (see src/optim/kernels/dispatch.ts for which chain maps to which
// kernel). All pointers point into the imported memory (the WasmArena). No libc.

#include <wasm_simd128.h>

// chain(scaleByAdam, addDecayedWeights, scaleByLearningRate):
// m = b1 m + (1-b1) g; v = b2 v + (1-b2) g^2; u = (m/bc1) / (sqrt(v/bc2) + eps) + wd p; p -= lr u.
// c1 = 1-b1 and c2 = 1-b2 come from the caller in double precision: 1.0f - 0.999f loses 4 digits.
void adamw_step(float *p, const float *g, float *m, float *v, int n, float lr, float b1, float b2,
                float c1, float c2, float eps, float wd, float bc1, float bc2) {
  const float ibc1 = 1.0f / bc1, ibc2 = 1.0f / bc2;
  const v128_t vb1 = wasm_f32x4_splat(b1), vb2 = wasm_f32x4_splat(b2), vc1 = wasm_f32x4_splat(c1),
               vc2 = wasm_f32x4_splat(c2), vi1 = wasm_f32x4_splat(ibc1), vi2 = wasm_f32x4_splat(ibc2),
               veps = wasm_f32x4_splat(eps), vwd = wasm_f32x4_splat(wd), vlr = wasm_f32x4_splat(lr);
  int i = 0;
  for (; i + 4 <= n; i += 4) {
    v128_t gg = wasm_v128_load(g + i);
    v128_t mm = wasm_f32x4_add(wasm_f32x4_mul(vb1, wasm_v128_load(m + i)), wasm_f32x4_mul(vc1, gg));
    v128_t vv = wasm_f32x4_add(wasm_f32x4_mul(vb2, wasm_v128_load(v + i)), wasm_f32x4_mul(vc2, wasm_f32x4_mul(gg, gg)));
    wasm_v128_store(m + i, mm);
    wasm_v128_store(v + i, vv);
    v128_t den = wasm_f32x4_add(wasm_f32x4_sqrt(wasm_f32x4_mul(vv, vi2)), veps);
    v128_t pp = wasm_v128_load(p + i);
    v128_t u = wasm_f32x4_add(wasm_f32x4_div(wasm_f32x4_mul(mm, vi1), den), wasm_f32x4_mul(vwd, pp));
    wasm_v128_store(p + i, wasm_f32x4_sub(pp, wasm_f32x4_mul(vlr, u)));
  }
  for (; i < n; i++) {
    float gg = g[i];
    float mm = b1 * m[i] + c1 * gg;
    float vv = b2 * v[i] + c2 * (gg * gg);
    m[i] = mm;
    v[i] = vv;
    float u = (mm * ibc1) / (__builtin_sqrtf(vv * ibc2) + eps) + wd * p[i];
    p[i] = p[i] - lr * u;
  }
}

// chain(scaleByLion(sign), addDecayedWeights, scaleByLearningRate):
// c = b1 m + (1-b1) g; p -= lr (sign(c) + wd p); m = b2 m + (1-b2) g.
void lion_step(float *p, const float *g, float *m, int n, float lr, float b1, float b2, float c1,
               float c2, float wd) {
  const v128_t vb1 = wasm_f32x4_splat(b1), vb2 = wasm_f32x4_splat(b2), vc1 = wasm_f32x4_splat(c1),
               vc2 = wasm_f32x4_splat(c2), vwd = wasm_f32x4_splat(wd), vlr = wasm_f32x4_splat(lr),
               zero = wasm_f32x4_splat(0.0f), one = wasm_f32x4_splat(1.0f);
  int i = 0;
  for (; i + 4 <= n; i += 4) {
    v128_t gg = wasm_v128_load(g + i);
    v128_t mm = wasm_v128_load(m + i);
    v128_t c = wasm_f32x4_add(wasm_f32x4_mul(vb1, mm), wasm_f32x4_mul(vc1, gg));
    v128_t sign = wasm_f32x4_sub(wasm_v128_and(wasm_f32x4_gt(c, zero), one), wasm_v128_and(wasm_f32x4_lt(c, zero), one));
    v128_t pp = wasm_v128_load(p + i);
    wasm_v128_store(p + i, wasm_f32x4_sub(pp, wasm_f32x4_mul(vlr, wasm_f32x4_add(sign, wasm_f32x4_mul(vwd, pp)))));
    wasm_v128_store(m + i, wasm_f32x4_add(wasm_f32x4_mul(vb2, mm), wasm_f32x4_mul(vc2, gg)));
  }
  for (; i < n; i++) {
    float c = b1 * m[i] + c1 * g[i];
    float s = c > 0.0f ? 1.0f : (c < 0.0f ? -1.0f : 0.0f);
    p[i] = p[i] - lr * (s + wd * p[i]);
    m[i] = b2 * m[i] + c2 * g[i];
  }
}

// Nearest code of x in a sorted 256-entry map, padded by the caller with +inf at [256] and [257].
// The lookup table, indexed by the top 16 bits of x's float32 pattern, gives the largest code <=
// every value in that bucket; a bucket (relative width 2^-7) holds at most two codes of either map,
// so two branch-free steps reach the largest code <= x, and one comparison picks the nearer
// neighbour: the result equals a binary search over the map, without data-dependent branches.
static inline unsigned char quantize(float x, const float *map, const unsigned char *lut) {
  union { float f; unsigned int u; } bits = {x};
  int j = lut[bits.u >> 16];
  j += map[j + 1] <= x;
  j += map[j + 1] <= x;
  j += (map[j + 1] - x) < (x - map[j]);
  return (unsigned char)j;
}

// chain(scaleByAdam8bit, addDecayedWeights, scaleByLearningRate), bitsandbytes' block-wise scheme:
// dequantize m (signed map) and v (unsigned map) with the block's absmax, update in float32, step
// the parameter, then requantize with the new absmax of each block.
void adam8bit_step(float *p, const float *g, unsigned char *mq, unsigned char *vq, float *mabs, float *vabs,
                   int n, int block, const float *smap, const float *umap, const unsigned char *slut,
                   const unsigned char *ulut, float *scratch, float lr, float b1, float b2, float c1,
                   float c2, float eps, float wd, float bc1, float bc2) {
  const float ibc1 = 1.0f / bc1, ibc2 = 1.0f / bc2;
  const v128_t vb1 = wasm_f32x4_splat(b1), vb2 = wasm_f32x4_splat(b2), vc1 = wasm_f32x4_splat(c1),
               vc2 = wasm_f32x4_splat(c2), vi1 = wasm_f32x4_splat(ibc1), vi2 = wasm_f32x4_splat(ibc2),
               veps = wasm_f32x4_splat(eps), vwd = wasm_f32x4_splat(wd), vlr = wasm_f32x4_splat(lr);
  float *ms = scratch, *vs = scratch + block;
  for (int start = 0, b = 0; start < n; start += block, b++) {
    int len = n - start < block ? n - start : block;
    float am = mabs[b], av = vabs[b], nm = 0.0f, nv = 0.0f;
    v128_t vam = wasm_f32x4_splat(am), vav = wasm_f32x4_splat(av), vnm = wasm_f32x4_splat(0.0f), vnv = vnm;
    int k = 0;
    // Dequantization is a gather (scalar loads); the Adam arithmetic runs four lanes at a time.
    for (; k + 4 <= len; k += 4) {
      int i = start + k;
      v128_t mo = wasm_f32x4_make(smap[mq[i]], smap[mq[i + 1]], smap[mq[i + 2]], smap[mq[i + 3]]);
      v128_t vo = wasm_f32x4_make(umap[vq[i]], umap[vq[i + 1]], umap[vq[i + 2]], umap[vq[i + 3]]);
      v128_t gg = wasm_v128_load(g + i);
      v128_t mm = wasm_f32x4_add(wasm_f32x4_mul(vb1, wasm_f32x4_mul(mo, vam)), wasm_f32x4_mul(vc1, gg));
      v128_t vv = wasm_f32x4_add(wasm_f32x4_mul(vb2, wasm_f32x4_mul(vo, vav)), wasm_f32x4_mul(vc2, wasm_f32x4_mul(gg, gg)));
      wasm_v128_store(ms + k, mm);
      wasm_v128_store(vs + k, vv);
      vnm = wasm_f32x4_max(vnm, wasm_f32x4_abs(mm));
      vnv = wasm_f32x4_max(vnv, vv);
      v128_t den = wasm_f32x4_add(wasm_f32x4_sqrt(wasm_f32x4_mul(vv, vi2)), veps);
      v128_t pp = wasm_v128_load(p + i);
      v128_t u = wasm_f32x4_add(wasm_f32x4_div(wasm_f32x4_mul(mm, vi1), den), wasm_f32x4_mul(vwd, pp));
      wasm_v128_store(p + i, wasm_f32x4_sub(pp, wasm_f32x4_mul(vlr, u)));
    }
    for (int l = 0; l < 4; l++) {
      float a = wasm_f32x4_extract_lane(vnm, 0), c = wasm_f32x4_extract_lane(vnv, 0);
      nm = a > nm ? a : nm;
      nv = c > nv ? c : nv;
      vnm = wasm_i32x4_shuffle(vnm, vnm, 1, 2, 3, 0);
      vnv = wasm_i32x4_shuffle(vnv, vnv, 1, 2, 3, 0);
    }
    for (; k < len; k++) {
      int i = start + k;
      float gg = g[i];
      float mm = b1 * (smap[mq[i]] * am) + c1 * gg;
      float vv = b2 * (umap[vq[i]] * av) + c2 * (gg * gg);
      ms[k] = mm;
      vs[k] = vv;
      float a = mm < 0.0f ? -mm : mm;
      nm = a > nm ? a : nm;
      nv = vv > nv ? vv : nv;
      float u = (mm * ibc1) / (__builtin_sqrtf(vv * ibc2) + eps) + wd * p[i];
      p[i] = p[i] - lr * u;
    }
    float im = nm > 0.0f ? 1.0f / nm : 0.0f, iv = nv > 0.0f ? 1.0f / nv : 0.0f;
    for (int k = 0; k < len; k++) {
      mq[start + k] = quantize(ms[k] * im, smap, slut);
      vq[start + k] = quantize(vs[k] * iv, umap, ulut);
    }
    mabs[b] = nm;
    vabs[b] = nv;
  }
}
