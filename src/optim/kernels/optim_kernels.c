// Elementwise optimizer kernels for wasm32 + SIMD128, compiled by build.sh with Debian's clang/lld.
// Each kernel is a fused chain of alignkit transforms and computes what the TypeScript chain
// computes, in float32 (src/optim/kernels/dispatch.ts maps chains to kernels and turns the
// hyperparameters and step counts into the per-step constants below). Loops are written plainly
// with restrict pointers: clang vectorizes them to f32x4 (build.sh checks every kernel's loop
// does). Reductions accumulate in float64 lanes so they match the TypeScript sums to rounding.
// All pointers point into the imported memory (the WasmArena). No libc.

#include <wasm_simd128.h>

#define R __restrict__

static inline float fabsf_(float x) { return __builtin_fabsf(x); }
static inline float sqrtf_(float x) { return __builtin_sqrtf(x); }
static inline float copysignf_(float m, float s) { return __builtin_copysignf(m, s); }

// ---------------------------------------------------------------- reductions (float64 lanes)

static inline v128_t acc_sq(v128_t acc, v128_t x) {
  v128_t lo = wasm_f64x2_promote_low_f32x4(x), hi = wasm_f64x2_promote_low_f32x4(wasm_i32x4_shuffle(x, x, 2, 3, 0, 1));
  return wasm_f64x2_add(acc, wasm_f64x2_add(wasm_f64x2_mul(lo, lo), wasm_f64x2_mul(hi, hi)));
}

static inline v128_t acc_dot(v128_t acc, v128_t x, v128_t y) {
  v128_t xl = wasm_f64x2_promote_low_f32x4(x), xh = wasm_f64x2_promote_low_f32x4(wasm_i32x4_shuffle(x, x, 2, 3, 0, 1));
  v128_t yl = wasm_f64x2_promote_low_f32x4(y), yh = wasm_f64x2_promote_low_f32x4(wasm_i32x4_shuffle(y, y, 2, 3, 0, 1));
  return wasm_f64x2_add(acc, wasm_f64x2_add(wasm_f64x2_mul(xl, yl), wasm_f64x2_mul(xh, yh)));
}

static inline v128_t acc_sum(v128_t acc, v128_t x) {
  v128_t lo = wasm_f64x2_promote_low_f32x4(x), hi = wasm_f64x2_promote_low_f32x4(wasm_i32x4_shuffle(x, x, 2, 3, 0, 1));
  return wasm_f64x2_add(acc, wasm_f64x2_add(lo, hi));
}

static inline double hsum(v128_t a) { return wasm_f64x2_extract_lane(a, 0) + wasm_f64x2_extract_lane(a, 1); }
// The largest of four non-negative lanes (and 0).
static inline float hmax(v128_t a) {
  float m = 0.0f;
  for (int l = 0; l < 4; l++) {
    float c = wasm_f32x4_extract_lane(a, 0);
    m = c > m ? c : m;
    a = wasm_i32x4_shuffle(a, a, 1, 2, 3, 0);
  }
  return m;
}

// Reductions add float32 partial sums of at most BLOCK entries per lane into float64 lanes: promoting
// every vector costs a pass four times its loads; a block's float32 sum errs by ~1e-6 relative.
#define BLOCK 256
static inline int block_end(int i, int n) { return n - i > BLOCK ? i + BLOCK : n; }

// max |x| (pmax: one maxps; f32x4.max's NaN rules cost several instructions per vector).
float absmax(const float *R x, int n) {
  v128_t a = wasm_f32x4_splat(0.0f);
  int i = 0;
  for (; i + 4 <= n; i += 4) a = wasm_f32x4_pmax(a, wasm_f32x4_abs(wasm_v128_load(x + i)));
  float m = hmax(a);
  for (; i < n; i++) m = fabsf_(x[i]) > m ? fabsf_(x[i]) : m;
  return m;
}

// max |x| into *max, and the sum of x^2 (Stable-SPAM's two statistics in one pass).
double absmax_sumsq(const float *R x, int n, float *R max) {
  v128_t a = wasm_f64x2_splat(0.0), mx = wasm_f32x4_splat(0.0f);
  int i = 0;
  while (i + 4 <= n) {
    v128_t part = wasm_f32x4_splat(0.0f);
    for (int e = block_end(i, n); i + 4 <= e; i += 4) {
      v128_t y = wasm_v128_load(x + i);
      part = wasm_f32x4_add(part, wasm_f32x4_mul(y, y));
      mx = wasm_f32x4_pmax(mx, wasm_f32x4_abs(y));
    }
    a = acc_sum(a, part);
  }
  double s = hsum(a);
  float m = hmax(mx);
  for (; i < n; i++) {
    s += (double)x[i] * x[i];
    m = fabsf_(x[i]) > m ? fabsf_(x[i]) : m;
  }
  *max = m;
  return s;
}

// sum of x^2 (inlined, the unused maximum is dead code).
double sumsq(const float *R x, int n) {
  float max;
  return absmax_sumsq(x, n, &max);
}

// Stable-SPAM: sum of squares of g after AdaClip (entries above `limit` scaled by `scale`).
double clipped_sumsq(const float *R g, int n, float limit, float scale) {
  v128_t a = wasm_f64x2_splat(0.0), vl = wasm_f32x4_splat(limit), vs = wasm_f32x4_splat(scale);
  int i = 0;
  while (i + 4 <= n) {
    v128_t part = wasm_f32x4_splat(0.0f);
    for (int e = block_end(i, n); i + 4 <= e; i += 4) {
      v128_t x = wasm_v128_load(g + i);
      v128_t y = wasm_v128_bitselect(wasm_f32x4_mul(x, vs), x, wasm_f32x4_gt(wasm_f32x4_abs(x), vl));
      part = wasm_f32x4_add(part, wasm_f32x4_mul(y, y));
    }
    a = acc_sum(a, part);
  }
  double s = hsum(a);
  for (; i < n; i++) {
    float x = fabsf_(g[i]) > limit ? g[i] * scale : g[i];
    s += (double)x * x;
  }
  return s;
}

// AdamP/SGDP: for each of `rows` rows of `width` entries, out[3r..3r+2] = (p.g, p.p, g.g).
void row_dots(const float *R p, const float *R g, int rows, int width, double *R out) {
  for (int r = 0; r < rows; r++) {
    const float *pr = p + (long)r * width, *gr = g + (long)r * width;
    v128_t pg = wasm_f64x2_splat(0.0), pp = pg, gg = pg;
    int i = 0;
    for (; i + 4 <= width; i += 4) {
      v128_t x = wasm_v128_load(pr + i), y = wasm_v128_load(gr + i);
      pg = acc_dot(pg, x, y);
      pp = acc_sq(pp, x);
      gg = acc_sq(gg, y);
    }
    double a = hsum(pg), b = hsum(pp), c = hsum(gg);
    for (; i < width; i++) {
      a += (double)pr[i] * gr[i];
      b += (double)pr[i] * pr[i];
      c += (double)gr[i] * gr[i];
    }
    out[3 * r] = a;
    out[3 * r + 1] = b;
    out[3 * r + 2] = c;
  }
}

// ---------------------------------------------------------------- the Adam family

// chain(... scaleByAdam ...) in every form alignkit builds (adam, adamw, spam, stable-spam's Adam,
// 1-bit Adam's warm-up), gradient preprocessing first:
//   x = g; x = |x| > clip_limit ? x * clip_scale : x (AdaClip); x *= gscale (AdaGN, percentile
//   clipping); x += l2 p (Adam's L2 term); x = x^2 > theta v ? sign(x) sqrt(theta v) : x (SPAM);
//   m = b1 m + c1 x; v = b2 v + c2 x^2; vd = vmax ? (vmax = max(vmax, v)) : v;
//   num = nesterov ? b1 m + c1 x : m; u = num k1 / (sqrt(vd k2) + eps);
//   p = (p (1 - decay_pre) - step u)(1 - decay_post).
// k1, k2 carry the bias corrections (1/bc1, 1/bc2; or sqrt(bc2)/bc1, 1 with eps outside them).
void adam_step(float *R p, const float *R g, float *R m, float *R v, float *R vmax, int n, float step, float b1,
               float b2, float c1, float c2, float eps, float k1, float k2, float l2, float decay_pre, float decay_post,
               float theta, float clip_limit, float clip_scale, float gscale, int nesterov) {
  const float keep = 1.0f - decay_pre, post = 1.0f - decay_post;
// One loop of the update from entry START: PREP turns the gradient x into the step's input (pi is p[i]).
#define ADAM_BODY(START, VMAX, NESTEROV, SPAM, PREP)                                    \
  for (int i = START; i < n; i++) {                                                     \
    float x = g[i];                                                                     \
    float pi = p[i];                                                                    \
    PREP;                                                                               \
    float vo = v[i];                                                                    \
    if (SPAM) {                                                                         \
      float lim = theta * vo;                                                           \
      x = x * x > lim ? copysignf_(sqrtf_(lim), x) : x;                                 \
    }                                                                                   \
    float mm = b1 * m[i] + c1 * x;                                                      \
    float vv = b2 * vo + c2 * (x * x);                                                  \
    m[i] = mm;                                                                          \
    v[i] = vv;                                                                          \
    float vd = vv;                                                                      \
    if (VMAX) {                                                                         \
      vd = vmax[i] > vv ? vmax[i] : vv;                                                 \
      vmax[i] = vd;                                                                     \
    }                                                                                   \
    float num = NESTEROV ? b1 * mm + c1 * x : mm;                                       \
    float u = (num * k1) / (sqrtf_(vd * k2) + eps);                                     \
    p[i] = (pi * keep - step * u) * post;                                               \
  }
#define GENERAL x = (fabsf_(x) > clip_limit ? x * clip_scale : x) * gscale + l2 * pi
  if (theta > 0.0f && !vmax && !nesterov && l2 == 0.0f && gscale == 1.0f && clip_limit > 3.0e38f) {
    // SPAM: spikes are rare, so the square root runs only for vectors that hold one.
    const v128_t vth = wasm_f32x4_splat(theta), vb1 = wasm_f32x4_splat(b1), vb2 = wasm_f32x4_splat(b2), vc1 = wasm_f32x4_splat(c1),
                 vc2 = wasm_f32x4_splat(c2), vk1 = wasm_f32x4_splat(k1), vk2 = wasm_f32x4_splat(k2), ve = wasm_f32x4_splat(eps),
                 vkeep = wasm_f32x4_splat(keep), vstep = wasm_f32x4_splat(step), vpost = wasm_f32x4_splat(post),
                 sign = wasm_f32x4_splat(-0.0f);
    int i0 = 0;
    for (; i0 + 4 <= n; i0 += 4) {
      v128_t x = wasm_v128_load(g + i0), vo = wasm_v128_load(v + i0);
      v128_t lim = wasm_f32x4_mul(vth, vo);
      v128_t spike = wasm_f32x4_gt(wasm_f32x4_mul(x, x), lim);
      if (wasm_v128_any_true(spike))
        x = wasm_v128_bitselect(wasm_v128_or(wasm_f32x4_sqrt(lim), wasm_v128_and(x, sign)), x, spike);
      v128_t mm = wasm_f32x4_add(wasm_f32x4_mul(vb1, wasm_v128_load(m + i0)), wasm_f32x4_mul(vc1, x));
      v128_t vv = wasm_f32x4_add(wasm_f32x4_mul(vb2, vo), wasm_f32x4_mul(vc2, wasm_f32x4_mul(x, x)));
      wasm_v128_store(m + i0, mm);
      wasm_v128_store(v + i0, vv);
      v128_t u = wasm_f32x4_div(wasm_f32x4_mul(mm, vk1), wasm_f32x4_add(wasm_f32x4_sqrt(wasm_f32x4_mul(vv, vk2)), ve));
      v128_t pp = wasm_v128_load(p + i0);
      wasm_v128_store(p + i0, wasm_f32x4_mul(wasm_f32x4_sub(wasm_f32x4_mul(pp, vkeep), wasm_f32x4_mul(vstep, u)), vpost));
    }
    ADAM_BODY(i0, 0, 0, 1, (void)pi)
  } else if (!vmax && !nesterov && theta <= 0.0f && l2 == 0.0f && clip_limit > 3.0e38f) {
    // The common case (Adam, AdamW, 8-bit Adam's float32 tensors, 1-bit Adam's warm-up): at most a gradient scale.
    ADAM_BODY(0, 0, 0, 0, x = x * gscale)
  } else if (!vmax && !nesterov && theta <= 0.0f && l2 == 0.0f) {
    // Stable-SPAM: AdaClip's scaling of entries above the limit, and AdaGN's scale.
    ADAM_BODY(0, 0, 0, 0, x = (fabsf_(x) > clip_limit ? x * clip_scale : x) * gscale)
  } else if (vmax) {
    if (nesterov) ADAM_BODY(0, 1, 1, 0, GENERAL) else ADAM_BODY(0, 1, 0, 0, GENERAL)
  } else if (theta > 0.0f) {
    if (nesterov) ADAM_BODY(0, 0, 1, 1, GENERAL) else ADAM_BODY(0, 0, 0, 1, GENERAL)
  } else if (nesterov) {
    ADAM_BODY(0, 0, 1, 0, GENERAL)
  } else {
    ADAM_BODY(0, 0, 0, 0, GENERAL)
  }
#undef GENERAL
#undef ADAM_BODY
}

// chain(scaleByLion(sign), addDecayedWeights, scaleByLearningRate):
// c = b1 m + (1-b1) g; p -= lr (sign(c) + wd p); m = b2 m + (1-b2) g.
void lion_step(float *R p, const float *R g, float *R m, int n, float lr, float b1, float b2, float c1, float c2,
               float wd) {
  for (int i = 0; i < n; i++) {
    float c = b1 * m[i] + c1 * g[i];
    float s = c > 0.0f ? 1.0f : (c < 0.0f ? -1.0f : 0.0f);
    p[i] = p[i] - lr * (s + wd * p[i]);
    m[i] = b2 * m[i] + c2 * g[i];
  }
}

// chain(scaleByExAdam, scaleByLogGrowth?, addDecayedWeights, scaleByLearningRate) (EXAdam):
// d1 = 1 + v/(v+eps) b2^t, d2 = 1 + m^2/(m^2+eps) b1^t; u = (m d1 + g d1)/bc1 / (sqrt(v/bc2 d2) + eps);
// p = p (1 - decay) - step u, step = lr times the growth factor.
// Two divisions per entry (exadam_exact: one for v/(v+eps) and m^2/(m^2+eps) together, one for u); the
// vector loop needs one: with ve = v+eps, me = m^2+eps, A = me + m^2 b1^t (= me d2),
// T = sqrt(v/bc2 A me) (= sqrt(v/bc2 d2) me), u = (m+g)/bc1 (ve + v b2^t) me / (ve (T + eps me)).
// The product under T grows as gradients^6, so a block where it overflows (gradients above ~1e6-1e7)
// takes the two-division form (which holds to gradients of ~1e9).
static inline float exadam_exact(float mm, float vv, float gg, float eps, float b1t, float b2t, float ibc1, float ibc2) {
  // v/(v+eps) and m^2/(m^2+eps) from one division, r = 1 / ((v+eps)(m^2+eps)) (finite while v and m^2 stay
  // below ~1e19, gradients below ~1e9).
  float m2 = mm * mm;
  float ve = vv + eps, me = m2 + eps;
  float r = 1.0f / (ve * me);
  float d1 = 1.0f + vv * me * r * b2t;
  float d2 = 1.0f + m2 * ve * r * b1t;
  return (mm + gg) * (ibc1 * d1) / (sqrtf_(vv * ibc2 * d2) + eps);
}

// The two-division form of s = step u over a block whose m and v are already updated (out of line, so
// the vector loop keeps its constants in registers).
__attribute__((noinline)) static void exadam_exact_block(float *R su, const float *R g, const float *R m, const float *R v, int n,
                                                         float eps, float b1t, float b2t, float ibc1, float ibc2, float step) {
  for (int l = 0; l < n; l++) su[l] = step * exadam_exact(m[l], v[l], g[l], eps, b1t, b2t, ibc1, ibc2);
}

#define EXADAM_BLOCK 256
void exadam_step(float *R p, const float *R g, float *R m, float *R v, int n, float b1, float b2, float c1, float c2,
                 float eps, float b1t, float b2t, float ibc1, float ibc2, float step, float decay) {
  const float keep = 1.0f - decay;
  // 1/bc2 leaves the square root: u = (m+g) ibc1/sqrt(ibc2) d1 / (sqrt(v d2) + eps/sqrt(ibc2)), and the step
  // size joins the numerator's constant.
  const float rt = sqrtf_(ibc2);
  const v128_t vb1 = wasm_f32x4_splat(b1), vb2 = wasm_f32x4_splat(b2), vc1 = wasm_f32x4_splat(c1), vc2 = wasm_f32x4_splat(c2),
               veps = wasm_f32x4_splat(eps), vepsr = wasm_f32x4_splat(eps / rt), vb1t = wasm_f32x4_splat(b1t),
               vb2t = wasm_f32x4_splat(b2t), vk = wasm_f32x4_splat(step * ibc1 / rt), vkeep = wasm_f32x4_splat(keep);
  // Blocks of EXADAM_BLOCK entries (1 KiB of stack, within the arena's reserved bytes): s = step u into
  // `su` and the largest product into `top` (a branch per group of four costs a third of the loop), the
  // block redone in the two-division form if a product overflowed, then p updated from `su`.
  float su[EXADAM_BLOCK];
  int i = 0;
  while (i + 4 <= n) {
    const int len = n - i >= EXADAM_BLOCK ? EXADAM_BLOCK : (n - i) & ~3;
    v128_t top = wasm_f32x4_splat(0.0f);
    for (int j = 0; j < len; j += 4) {
      v128_t gg = wasm_v128_load(g + i + j);
      v128_t mm = wasm_f32x4_add(wasm_f32x4_mul(vb1, wasm_v128_load(m + i + j)), wasm_f32x4_mul(vc1, gg));
      v128_t vv = wasm_f32x4_add(wasm_f32x4_mul(vb2, wasm_v128_load(v + i + j)), wasm_f32x4_mul(vc2, wasm_f32x4_mul(gg, gg)));
      wasm_v128_store(m + i + j, mm);
      wasm_v128_store(v + i + j, vv);
      v128_t m2 = wasm_f32x4_mul(mm, mm);
      v128_t ve = wasm_f32x4_add(vv, veps), me = wasm_f32x4_add(m2, veps);
      v128_t under = wasm_f32x4_mul(vv, wasm_f32x4_mul(wasm_f32x4_add(me, wasm_f32x4_mul(m2, vb1t)), me));
      v128_t num = wasm_f32x4_mul(wasm_f32x4_mul(wasm_f32x4_add(mm, gg), vk), wasm_f32x4_mul(wasm_f32x4_add(ve, wasm_f32x4_mul(vv, vb2t)), me));
      v128_t den = wasm_f32x4_mul(ve, wasm_f32x4_add(wasm_f32x4_sqrt(under), wasm_f32x4_mul(vepsr, me)));
      wasm_v128_store(su + j, wasm_f32x4_div(num, den));
      top = wasm_f32x4_pmax(top, under);
    }
    // The block's largest product is infinite where one overflowed (a NaN product is a NaN gradient's, and
    // the two-division form gives the same NaN).
    v128_t zero_if_finite = wasm_f32x4_sub(top, top);
    if (!wasm_i32x4_all_true(wasm_f32x4_eq(zero_if_finite, zero_if_finite))) exadam_exact_block(su, g + i, m + i, v + i, len, eps, b1t, b2t, ibc1, ibc2, step);
    for (int j = 0; j < len; j += 4)
      wasm_v128_store(p + i + j, wasm_f32x4_sub(wasm_f32x4_mul(wasm_v128_load(p + i + j), vkeep), wasm_v128_load(su + j)));
    i += len;
  }
  for (; i < n; i++) {
    float gg = g[i];
    float mm = b1 * m[i] + c1 * gg;
    float vv = b2 * v[i] + c2 * (gg * gg);
    m[i] = mm;
    v[i] = vv;
    p[i] = p[i] * keep - step * exadam_exact(mm, vv, gg, eps, b1t, b2t, ibc1, ibc2);
  }
}

// chain(scaleByBelief, ...) (AdaBelief), weight decay as an L2 term (l2) or on the pre-step p (decay):
// x = g + l2 p; m = b1 m + c1 x; s = b2 s + c2 (x - m)^2 + eps; smax = max(smax, s) when given;
// mode 0: u = m k1 / (sqrt(smax or s) k2 + eps); mode 1 (rectified): u = m k1 / (sqrt(s) + eps);
// mode 2 (rectification's SGD phase): u = m k1. p = p (1 - decay) - step u.
void adabelief_step(float *R p, const float *R g, float *R m, float *R s, float *R smax, int n, float b1, float b2,
                    float c1, float c2, float eps, float l2, int mode, float k1, float k2, float step, float decay) {
  const float keep = 1.0f - decay;
#define BELIEF_BODY(SMAX, MODE)                                                         \
  for (int i = 0; i < n; i++) {                                                         \
    float pi = p[i];                                                                    \
    float x = g[i] + l2 * pi;                                                           \
    float mm = b1 * m[i] + c1 * x;                                                      \
    float d = x - mm;                                                                   \
    float ss = b2 * s[i] + c2 * (d * d) + eps;                                          \
    m[i] = mm;                                                                          \
    s[i] = ss;                                                                          \
    float sd = ss;                                                                      \
    if (SMAX) {                                                                         \
      float hi = smax[i] > ss ? smax[i] : ss;                                           \
      smax[i] = hi;                                                                     \
      if (MODE == 0) sd = hi;                                                           \
    }                                                                                   \
    float u = MODE == 2 ? mm * k1 : (MODE == 1 ? mm * k1 / (sqrtf_(sd) + eps) : mm * k1 / (sqrtf_(sd) * k2 + eps)); \
    p[i] = pi * keep - step * u;                                                        \
  }
  if (smax) {
    if (mode == 0) BELIEF_BODY(1, 0) else if (mode == 1) BELIEF_BODY(1, 1) else BELIEF_BODY(1, 2)
  } else {
    if (mode == 0) BELIEF_BODY(0, 0) else if (mode == 1) BELIEF_BODY(0, 1) else BELIEF_BODY(0, 2)
  }
#undef BELIEF_BODY
}

// ---------------------------------------------------------------- momentum SGD

// chain(addDecayedWeights?, trace, scaleBySnr?, addDecayedWeights?, scaleByLearningRate) (SGD, SGD-SaI):
// x = g + l2 p; b = first ? x : momentum b + c x; d = nesterov ? x + momentum b : b (x without a buffer);
// p = p (1 - decay) - step d.
void momentum_step(float *R p, const float *R g, float *R buf, int n, float l2, float momentum, float c, int nesterov,
                   int first, float step, float decay) {
  const float keep = 1.0f - decay;
  if (!buf) {
    for (int i = 0; i < n; i++) p[i] = p[i] * keep - step * (g[i] + l2 * p[i]);
    return;
  }
#define MOMENTUM_BODY(FIRST, NESTEROV)                                                  \
  for (int i = 0; i < n; i++) {                                                         \
    float pi = p[i];                                                                    \
    float x = g[i] + l2 * pi;                                                           \
    float b = FIRST ? x : momentum * buf[i] + c * x;                                    \
    buf[i] = b;                                                                         \
    float d = NESTEROV ? x + momentum * b : b;                                          \
    p[i] = pi * keep - step * d;                                                        \
  }
  if (first) {
    if (nesterov) MOMENTUM_BODY(1, 1) else MOMENTUM_BODY(1, 0)
  } else {
    if (nesterov) MOMENTUM_BODY(0, 1) else MOMENTUM_BODY(0, 0)
  }
#undef MOMENTUM_BODY
}

// ---------------------------------------------------------------- second order

// chain(scaleBySophia, addDecayedWeights, scaleByLearningRate): h = b2 h + c2 h_est on refresh steps
// (hest non-null); m = b1 m + c1 g; u = clip(m / max(gamma h, eps), -1, 1); p -= lr (u + wd p).
void sophia_step(float *R p, const float *R g, float *R m, float *R h, const float *R hest, int n, float b1, float b2,
                 float c1, float c2, float gamma, float eps, float lr, float wd) {
  if (hest)
    for (int i = 0; i < n; i++) h[i] = b2 * h[i] + c2 * hest[i];
  for (int i = 0; i < n; i++) {
    float mm = b1 * m[i] + c1 * g[i];
    m[i] = mm;
    float den = gamma * h[i];
    float r = mm / (den > eps ? den : eps);
    float u = r > 1.0f ? 1.0f : (r < -1.0f ? -1.0f : r);
    p[i] = p[i] - lr * (u + wd * p[i]);
  }
}

// chain(scaleByAdaHessian, addDecayedWeights, scaleByLearningRate): |D| averaged over consecutive
// blocks of `block` entries; m = b1 m + c1 g; v = b2 v + c2 Dbar^2;
// u = m ibc1 / (sqrt(v)^k isq2k + eps) with k = 1 or 1/2 (quarter: sqrt(sqrt(v))); p -= lr (u + wd p).
void adahessian_step(float *R p, const float *R g, const float *R d, float *R m, float *R v, int n, int block,
                     float b1, float b2, float c1, float c2, float ibc1, float isq2k, float eps, float lr, float wd,
                     int quarter) {
#define ADAHESSIAN_BODY(START, END, DBAR)                                               \
  for (int i = START; i < END; i++) {                                                   \
    float db = DBAR;                                                                    \
    float mm = b1 * m[i] + c1 * g[i];                                                   \
    float vv = b2 * v[i] + c2 * (db * db);                                              \
    m[i] = mm;                                                                          \
    v[i] = vv;                                                                          \
    float r = sqrtf_(vv);                                                               \
    float den = (quarter ? sqrtf_(r) : r) * isq2k + eps;                                \
    p[i] = p[i] - lr * (mm * ibc1 / den + wd * p[i]);                                   \
  }
  if (block == 1) {
    ADAHESSIAN_BODY(0, n, fabsf_(d[i]))
    return;
  }
  for (int s = 0; s < n; s += block) {
    v128_t a = wasm_f64x2_splat(0.0);
    int j = s;
    while (j + 4 <= s + block) {
      v128_t part = wasm_f32x4_splat(0.0f);
      for (int e = block_end(j, s + block); j + 4 <= e; j += 4) part = wasm_f32x4_add(part, wasm_f32x4_abs(wasm_v128_load(d + j)));
      a = acc_sum(a, part);
    }
    double t = hsum(a);
    for (; j < s + block; j++) t += fabsf_(d[j]);
    const float mean = (float)(t / block);
    ADAHESSIAN_BODY(s, s + block, mean)
  }
#undef ADAHESSIAN_BODY
}

// ---------------------------------------------------------------- 1-bit Adam compression

// Two passes per worker, the last worker's second pass fused with the server's step.
// Pass 1: e <- local = b1 m + c1 g + e (the worker's momentum with its error feedback); out[0] = sum local^2.
// For the last worker also, with z = (first ? 0 : acc) + es (what its compressed momentum is added to):
// out[1] = sum sign(local) z and out[2] = sum z^2, so the server's norm is known before the second pass:
// ||q w + z||^2 = w^2 n scale^2 + 2 w scale out[1] + out[2] with scale = sqrt(out[0] / n).
void onebit_local(const float *R m, const float *R g, float *R e, const float *R acc, const float *R es, int n, float b1,
                  float c1, int first, int last, double *R out) {
  v128_t a = wasm_f64x2_splat(0.0), sz = a, zz = a, vb1 = wasm_f32x4_splat(b1), vc1 = wasm_f32x4_splat(c1),
         one = wasm_f32x4_splat(1.0f), neg = wasm_f32x4_splat(-1.0f), zero = wasm_f32x4_splat(0.0f);
  int i = 0;
  while (i + 4 <= n) {
    v128_t p0 = wasm_f32x4_splat(0.0f), p1 = p0, p2 = p0;
    for (int end = block_end(i, n); i + 4 <= end; i += 4) {
      v128_t x = wasm_f32x4_add(wasm_f32x4_add(wasm_f32x4_mul(vb1, wasm_v128_load(m + i)), wasm_f32x4_mul(vc1, wasm_v128_load(g + i))), wasm_v128_load(e + i));
      wasm_v128_store(e + i, x);
      p0 = wasm_f32x4_add(p0, wasm_f32x4_mul(x, x));
      if (last) {
        v128_t z = first ? wasm_v128_load(es + i) : wasm_f32x4_add(wasm_v128_load(acc + i), wasm_v128_load(es + i));
        p1 = wasm_f32x4_add(p1, wasm_f32x4_mul(wasm_v128_bitselect(one, neg, wasm_f32x4_ge(x, zero)), z));
        p2 = wasm_f32x4_add(p2, wasm_f32x4_mul(z, z));
      }
    }
    a = acc_sum(a, p0);
    sz = acc_sum(sz, p1);
    zz = acc_sum(zz, p2);
  }
  double s0 = hsum(a), s1 = hsum(sz), s2 = hsum(zz);
  for (; i < n; i++) {
    float x = b1 * m[i] + c1 * g[i] + e[i];
    e[i] = x;
    s0 += (double)x * x;
    if (last) {
      float z = first ? es[i] : acc[i] + es[i];
      s1 += x >= 0.0f ? (double)z : -(double)z;
      s2 += (double)z * z;
    }
  }
  out[0] = s0;
  out[1] = s1;
  out[2] = s2;
}

// Pass 2 of a worker but the last: q = scale sign(e) (sign(0) = +1); e <- e - q; acc <- (first ? 0 : acc) + q w.
void onebit_compress(float *R e, float *R acc, int n, float scale, float w, int first) {
  for (int i = 0; i < n; i++) {
    float x = e[i];
    float q = x >= 0.0f ? scale : -scale;
    e[i] = x - q;
    acc[i] = (first ? 0.0f : acc[i]) + q * w;
  }
}

// Pass 2 of the last worker and the server: q = scale sign(e); e <- e - q; y = (first ? 0 : acc) + q w + es;
// q2 = scale2 sign(y); es <- y - q2; m <- q2; u = m / (sqrt(v) + eps); p -= lr (u + wd p).
void onebit_finish(float *R p, float *R m, const float *R v, float *R e, const float *R acc, float *R es, int n, float scale,
                   float w, int first, float scale2, float eps, float lr, float wd) {
  for (int i = 0; i < n; i++) {
    float x = e[i];
    float q = x >= 0.0f ? scale : -scale;
    e[i] = x - q;
    float y = (first ? 0.0f : acc[i]) + q * w + es[i];
    float q2 = y >= 0.0f ? scale2 : -scale2;
    es[i] = y - q2;
    m[i] = q2;
    p[i] = p[i] - lr * (q2 / (sqrtf_(v[i]) + eps) + wd * p[i]);
  }
}

// One worker (the common case, and the only one in a single process). The server receives
// q = scale sign(x), every entry of magnitude scale, so its compression returns q unchanged and its
// error stays 0 (scale2 = sqrt(n scale^2 / n) rounds back to scale in float32): it is skipped. And
// the slot is kept packed between compressed steps: e's array holds y = b1 q + e (the next step's x
// is y + c1 g) and v's sign bit holds sign(q) (v >= 0 is frozen after the warm-up), m is not touched.
// A compressed step then moves 36 bytes per parameter (pass 1 reads g, y; pass 2 reads g, y, v, p
// and writes y, v, p) where the unpacked layout needs 60. onebit_pack / onebit_unpack convert.

// y <- b1 m + y (e's array, holding e, becomes y).
void onebit_pack(const float *R m, float *R y, int n, float b1) {
  for (int i = 0; i < n; i++) y[i] = b1 * m[i] + y[i];
}

// m <- scale sign(v), v <- |v|, e <- y - b1 m (y in e's array). The sign is v's sign bit (-0 included:
// v = 0 where a gradient was always 0), hence bit operations (copysignf is not vectorized by clang).
void onebit_unpack(float *R m, float *R v, float *R e, int n, float b1, float scale) {
  const v128_t sign = wasm_i32x4_splat((int)0x80000000), vs = wasm_f32x4_splat(scale), vb1 = wasm_f32x4_splat(b1);
  int i = 0;
  for (; i + 4 <= n; i += 4) {
    v128_t vv = wasm_v128_load(v + i);
    v128_t q = wasm_v128_or(vs, wasm_v128_and(vv, sign));
    wasm_v128_store(m + i, q);
    wasm_v128_store(v + i, wasm_v128_andnot(vv, sign));
    wasm_v128_store(e + i, wasm_f32x4_sub(wasm_v128_load(e + i), wasm_f32x4_mul(vb1, q)));
  }
  for (; i < n; i++) {
    float q = copysignf_(scale, v[i]);
    m[i] = q;
    v[i] = fabsf_(v[i]);
    e[i] = e[i] - b1 * q;
  }
}

// Pass 1: out[0] = sum x^2 with x = y + c1 g.
void onebit_norm(const float *R g, const float *R y, int n, float c1, double *R out) {
  v128_t a = wasm_f64x2_splat(0.0), vc1 = wasm_f32x4_splat(c1);
  int i = 0;
  while (i + 4 <= n) {
    v128_t part = wasm_f32x4_splat(0.0f);
    for (int end = block_end(i, n); i + 4 <= end; i += 4) {
      v128_t x = wasm_f32x4_add(wasm_v128_load(y + i), wasm_f32x4_mul(vc1, wasm_v128_load(g + i)));
      part = wasm_f32x4_add(part, wasm_f32x4_mul(x, x));
    }
    a = acc_sum(a, part);
  }
  double s = hsum(a);
  for (; i < n; i++) {
    float x = y[i] + c1 * g[i];
    s += (double)x * x;
  }
  out[0] = s;
}

// Pass 2: x = y + c1 g; q = scale sign(x); y <- b1 q + (x - q); v <- sign(q) |v|; p -= lr (q / (sqrt|v| + eps) + wd p).
void onebit_single(float *R p, float *R v, float *R y, const float *R g, int n, float b1, float c1, float scale,
                   float eps, float lr, float wd) {
  const v128_t sign = wasm_i32x4_splat((int)0x80000000), vs = wasm_f32x4_splat(scale), vb1 = wasm_f32x4_splat(b1),
               vc1 = wasm_f32x4_splat(c1), veps = wasm_f32x4_splat(eps), vlr = wasm_f32x4_splat(lr), vwd = wasm_f32x4_splat(wd);
  int i = 0;
  for (; i + 4 <= n; i += 4) {
    v128_t x = wasm_f32x4_add(wasm_v128_load(y + i), wasm_f32x4_mul(vc1, wasm_v128_load(g + i)));
    // sign(0) = +1: q takes x's sign bit except where x is -0, which x >= 0 keeps positive.
    v128_t qs = wasm_v128_andnot(sign, wasm_f32x4_ge(x, wasm_f32x4_splat(0.0f)));
    v128_t q = wasm_v128_or(vs, qs);
    v128_t vv = wasm_v128_andnot(wasm_v128_load(v + i), sign);
    wasm_v128_store(y + i, wasm_f32x4_add(wasm_f32x4_mul(vb1, q), wasm_f32x4_sub(x, q)));
    wasm_v128_store(v + i, wasm_v128_or(vv, qs));
    v128_t pp = wasm_v128_load(p + i);
    v128_t u = wasm_f32x4_add(wasm_f32x4_div(q, wasm_f32x4_add(wasm_f32x4_sqrt(vv), veps)), wasm_f32x4_mul(vwd, pp));
    wasm_v128_store(p + i, wasm_f32x4_sub(pp, wasm_f32x4_mul(vlr, u)));
  }
  for (; i < n; i++) {
    float x = y[i] + c1 * g[i];
    float q = x >= 0.0f ? scale : -scale;
    float vv = fabsf_(v[i]);
    y[i] = b1 * q + (x - q);
    v[i] = copysignf_(vv, q);
    p[i] = p[i] - lr * (q / (sqrtf_(vv) + eps) + wd * p[i]);
  }
}

// ---------------------------------------------------------------- AdamP / SGDP

// One update with the radial projection of AdamP/SGDP over `rows` rows of `width` entries, for a
// tensor found scale-invariant (inv: 1 / (||p_row|| + eps) per row; the caller runs adam_step or
// momentum_step otherwise):
// kind 0 (AdamP): m, v as Adam (k1 = 1/bc1, k2 = 1/bc2), u = num k1 / (sqrt(v k2) + eps);
// kind 1 (SGDP): buf = momentum buf + c g, u = nesterov ? g + momentum buf : buf.
// Sweep A computes u into `urow` (a scratch of `width`) and its dot with p inv in float64; sweep B
// steps p = p (1 - decay) - step (u - p inv dot).
void projected_step(float *R p, const float *R g, float *R m, float *R v, int rows, int width, int kind, float b1,
                    float b2, float c1, float c2, float eps, float k1, float k2, int nesterov, const float *R inv,
                    float *R urow, float step, float decay) {
  const float keep = 1.0f - decay;
  for (int r = 0; r < rows; r++) {
    long o = (long)r * width;
    float *pr = p + o, *mr = m + o, *vr = kind == 0 ? v + o : 0;
    const float *gr = g + o;
    const float ir = inv[r];
    if (kind == 0) {
      for (int i = 0; i < width; i++) {
        float x = gr[i];
        float mm = b1 * mr[i] + c1 * x;
        float vv = b2 * vr[i] + c2 * (x * x);
        mr[i] = mm;
        vr[i] = vv;
        urow[i] = ((nesterov ? b1 * mm + c1 * x : mm) * k1) / (sqrtf_(vv * k2) + eps);
      }
    } else {
      for (int i = 0; i < width; i++) {
        float b = b1 * mr[i] + c1 * gr[i];
        mr[i] = b;
        urow[i] = nesterov ? gr[i] + b1 * b : b;
      }
    }
    v128_t a = wasm_f64x2_splat(0.0), vi = wasm_f32x4_splat(ir);
    int i = 0;
    for (; i + 4 <= width; i += 4) a = acc_dot(a, wasm_f32x4_mul(wasm_v128_load(pr + i), vi), wasm_v128_load(urow + i));
    double dot = hsum(a);
    for (; i < width; i++) dot += (double)(pr[i] * ir) * urow[i];
    const float fd = (float)dot;
    for (int i = 0; i < width; i++) {
      float pi = pr[i];
      pr[i] = pi * keep - step * (urow[i] - pi * ir * fd);
    }
  }
}

// ---------------------------------------------------------------- SOAP's dense operations (matrix-ops.ts)

// C[i, j] = (acc ? C[i, j] : 0) + sum_k A[i sai + k sak] B[k ldb + j], each C entry summed over k in
// increasing order in float32 (a multiply then an add, no fusion): the bits TS_MATRIX_OPS.gemm gives.
// Blocks of 4 rows x 8 columns of C stay in registers over chunks of 256 k (chunks in order, so the
// sums' order is unchanged); A is read with any strides (transposes without copies), B by rows.
void gemm(const float *A, int sai, int sak, const float *B, int ldb, float *C, int ldc, int M, int K, int N, int acc) {
  const int KC = 256;
  for (int k0 = 0; k0 < K; k0 += KC) {
    int k1 = k0 + KC < K ? k0 + KC : K;
    int first = !acc && k0 == 0;
    int i = 0;
    for (; i + 4 <= M; i += 4) {
      int j = 0;
      for (; j + 8 <= N; j += 8) {
        v128_t c00, c01, c10, c11, c20, c21, c30, c31;
        if (first) { c00 = c01 = c10 = c11 = c20 = c21 = c30 = c31 = wasm_f32x4_splat(0.0f); }
        else {
          c00 = wasm_v128_load(C + (i + 0) * ldc + j); c01 = wasm_v128_load(C + (i + 0) * ldc + j + 4);
          c10 = wasm_v128_load(C + (i + 1) * ldc + j); c11 = wasm_v128_load(C + (i + 1) * ldc + j + 4);
          c20 = wasm_v128_load(C + (i + 2) * ldc + j); c21 = wasm_v128_load(C + (i + 2) * ldc + j + 4);
          c30 = wasm_v128_load(C + (i + 3) * ldc + j); c31 = wasm_v128_load(C + (i + 3) * ldc + j + 4);
        }
        const float *a0 = A + (long)(i + 0) * sai, *a1 = A + (long)(i + 1) * sai, *a2 = A + (long)(i + 2) * sai, *a3 = A + (long)(i + 3) * sai;
        for (int k = k0; k < k1; k++) {
          v128_t b0 = wasm_v128_load(B + (long)k * ldb + j), b1 = wasm_v128_load(B + (long)k * ldb + j + 4);
          v128_t x0 = wasm_f32x4_splat(a0[(long)k * sak]), x1 = wasm_f32x4_splat(a1[(long)k * sak]);
          v128_t x2 = wasm_f32x4_splat(a2[(long)k * sak]), x3 = wasm_f32x4_splat(a3[(long)k * sak]);
          c00 = wasm_f32x4_add(c00, wasm_f32x4_mul(x0, b0)); c01 = wasm_f32x4_add(c01, wasm_f32x4_mul(x0, b1));
          c10 = wasm_f32x4_add(c10, wasm_f32x4_mul(x1, b0)); c11 = wasm_f32x4_add(c11, wasm_f32x4_mul(x1, b1));
          c20 = wasm_f32x4_add(c20, wasm_f32x4_mul(x2, b0)); c21 = wasm_f32x4_add(c21, wasm_f32x4_mul(x2, b1));
          c30 = wasm_f32x4_add(c30, wasm_f32x4_mul(x3, b0)); c31 = wasm_f32x4_add(c31, wasm_f32x4_mul(x3, b1));
        }
        wasm_v128_store(C + (i + 0) * ldc + j, c00); wasm_v128_store(C + (i + 0) * ldc + j + 4, c01);
        wasm_v128_store(C + (i + 1) * ldc + j, c10); wasm_v128_store(C + (i + 1) * ldc + j + 4, c11);
        wasm_v128_store(C + (i + 2) * ldc + j, c20); wasm_v128_store(C + (i + 2) * ldc + j + 4, c21);
        wasm_v128_store(C + (i + 3) * ldc + j, c30); wasm_v128_store(C + (i + 3) * ldc + j + 4, c31);
      }
      for (; j < N; j++)
        for (int r = 0; r < 4; r++) {
          float s = first ? 0.0f : C[(i + r) * ldc + j];
          for (int k = k0; k < k1; k++) s += A[(long)(i + r) * sai + (long)k * sak] * B[(long)k * ldb + j];
          C[(i + r) * ldc + j] = s;
        }
    }
    for (; i < M; i++)
      for (int j = 0; j < N; j++) {
        float s = first ? 0.0f : C[i * ldc + j];
        for (int k = k0; k < k1; k++) s += A[(long)i * sai + (long)k * sak] * B[(long)k * ldb + j];
        C[i * ldc + j] = s;
      }
  }
}

// m = b1 m + c1 g; v = b2 v + c2 g^2; out = m / (sqrt(v) + eps) (out may be g).
void soap_adam(const float *g, float *R m, float *R v, float *out, int n, float b1, float b2, float c1, float c2, float eps) {
  for (int i = 0; i < n; i++) {
    float x = g[i];
    float mm = b1 * m[i] + c1 * x;
    float vv = b2 * v[i] + c2 * (x * x);
    m[i] = mm;
    v[i] = vv;
    out[i] = mm / (sqrtf_(vv) + eps);
  }
}

// out = x s.
void scale_to(const float *x, float *out, int n, float s) {
  for (int i = 0; i < n; i++) out[i] = x[i] * s;
}

// dst[c rows + r] = src[r cols + c].
void transpose(const float *R src, int rows, int cols, float *R dst) {
  for (int r = 0; r < rows; r++)
    for (int c = 0; c < cols; c++) dst[(long)c * rows + r] = src[(long)r * cols + c];
}

// dst[c rows + r] = src[r cols + c] for the columns c in [first, first + count) of src: the rows
// [first, first + count) of dst, so that threads given disjoint column ranges write disjoint bytes.
// 4 x 4 tiles (four loads, eight shuffles, four stores) inside 512 x 512 blocks: measured on a
// 768 x 50257 matrix (a tied GPT-2 head's gradient), 27 ms on one thread against 218 ms for the
// plain loop above, and 45-100 ms for blocks of 16-128 (the source's rows are 200 KB apart).
#define TRANSPOSE_BLOCK 512
void transpose_columns(const float *R src, int rows, int cols, float *R dst, int first, int count) {
  int end = first + count;
  for (int r0 = 0; r0 < rows; r0 += TRANSPOSE_BLOCK)
    for (int c0 = first; c0 < end; c0 += TRANSPOSE_BLOCK) {
      int r1 = r0 + TRANSPOSE_BLOCK < rows ? r0 + TRANSPOSE_BLOCK : rows;
      int c1 = c0 + TRANSPOSE_BLOCK < end ? c0 + TRANSPOSE_BLOCK : end;
      int r = r0;
      for (; r + 4 <= r1; r += 4) {
        const float *s = src + (long)r * cols;
        int c = c0;
        for (; c + 4 <= c1; c += 4) {
          v128_t a = wasm_v128_load(s + c), b = wasm_v128_load(s + cols + c);
          v128_t e = wasm_v128_load(s + 2L * cols + c), d = wasm_v128_load(s + 3L * cols + c);
          v128_t ab0 = wasm_i32x4_shuffle(a, b, 0, 4, 1, 5), ab1 = wasm_i32x4_shuffle(a, b, 2, 6, 3, 7);
          v128_t ed0 = wasm_i32x4_shuffle(e, d, 0, 4, 1, 5), ed1 = wasm_i32x4_shuffle(e, d, 2, 6, 3, 7);
          wasm_v128_store(dst + (long)c * rows + r, wasm_i64x2_shuffle(ab0, ed0, 0, 2));
          wasm_v128_store(dst + (long)(c + 1) * rows + r, wasm_i64x2_shuffle(ab0, ed0, 1, 3));
          wasm_v128_store(dst + (long)(c + 2) * rows + r, wasm_i64x2_shuffle(ab1, ed1, 0, 2));
          wasm_v128_store(dst + (long)(c + 3) * rows + r, wasm_i64x2_shuffle(ab1, ed1, 1, 3));
        }
        for (; c < c1; c++)
          for (int k = 0; k < 4; k++) dst[(long)c * rows + r + k] = s[(long)k * cols + c];
      }
      for (; r < r1; r++)
        for (int c = c0; c < c1; c++) dst[(long)c * rows + r] = src[(long)r * cols + c];
    }
}

// The chain after scaleBySoap: p = (p - lr u)(1 - decay) (learning rate, then weight decay of the updated p).
void apply_step(float *R p, const float *R u, int n, float lr, float keep) {
  for (int i = 0; i < n; i++) p[i] = (p[i] - lr * u[i]) * keep;
}

// ---------------------------------------------------------------- 8-bit Adam

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

// The signed code, stepped one towards x's sign when the nearest code's sign bit differs
// (bitsandbytes kOptimizerStatic8bit2StateBlockwise keeps the first moment's sign).
static inline unsigned char quantize_keep_sign(float x, const float *map, const unsigned char *lut) {
  int j = quantize(x, map, lut);
  union { float f; unsigned int u; } a = {x}, b = {map[j]};
  int differ = (int)((a.u ^ b.u) >> 31), negative = (int)(a.u >> 31);
  return (unsigned char)(j + differ * (1 - 2 * negative));
}

// chain(percentileClipping?, scaleByAdam8bit, scaleByLearningRate, decayWeights(afterStep)),
// bitsandbytes' block-wise scheme: dequantize m (signed map) and v (unsigned map) with the block's
// absmax, update in float32 with the gradient scaled by gscale, step p = (p - lr u)(1 - decay_post),
// then requantize with each block's new absmax (x / absmax, as bitsandbytes divides).
void adam8bit_step(float *p, const float *g, unsigned char *mq, unsigned char *vq, float *mabs, float *vabs, int n,
                   int block, const float *smap, const float *umap, const unsigned char *slut, const unsigned char *ulut,
                   float *R scratch, float lr, float b1, float b2, float c1, float c2, float eps, float ibc1, float ibc2,
                   float gscale, float decay_post) {
  const float post = 1.0f - decay_post;
  const v128_t vb1 = wasm_f32x4_splat(b1), vb2 = wasm_f32x4_splat(b2), vc1 = wasm_f32x4_splat(c1),
               vc2 = wasm_f32x4_splat(c2), vi1 = wasm_f32x4_splat(ibc1), vi2 = wasm_f32x4_splat(ibc2),
               veps = wasm_f32x4_splat(eps), vlr = wasm_f32x4_splat(lr), vgs = wasm_f32x4_splat(gscale),
               vpost = wasm_f32x4_splat(post);
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
      v128_t gg = wasm_f32x4_mul(wasm_v128_load(g + i), vgs);
      v128_t mm = wasm_f32x4_add(wasm_f32x4_mul(vb1, wasm_f32x4_mul(mo, vam)), wasm_f32x4_mul(vc1, gg));
      v128_t vv = wasm_f32x4_add(wasm_f32x4_mul(vb2, wasm_f32x4_mul(vo, vav)), wasm_f32x4_mul(vc2, wasm_f32x4_mul(gg, gg)));
      wasm_v128_store(ms + k, mm);
      wasm_v128_store(vs + k, vv);
      vnm = wasm_f32x4_max(vnm, wasm_f32x4_abs(mm));
      vnv = wasm_f32x4_max(vnv, vv);
      v128_t den = wasm_f32x4_add(wasm_f32x4_sqrt(wasm_f32x4_mul(vv, vi2)), veps);
      v128_t pp = wasm_v128_load(p + i);
      v128_t u = wasm_f32x4_div(wasm_f32x4_mul(mm, vi1), den);
      wasm_v128_store(p + i, wasm_f32x4_mul(wasm_f32x4_sub(pp, wasm_f32x4_mul(vlr, u)), vpost));
    }
    nm = hmax(vnm);
    nv = hmax(vnv);
    for (; k < len; k++) {
      int i = start + k;
      float gg = g[i] * gscale;
      float mm = b1 * (smap[mq[i]] * am) + c1 * gg;
      float vv = b2 * (umap[vq[i]] * av) + c2 * (gg * gg);
      ms[k] = mm;
      vs[k] = vv;
      float a = mm < 0.0f ? -mm : mm;
      nm = a > nm ? a : nm;
      nv = vv > nv ? vv : nv;
      float u = (mm * ibc1) / (sqrtf_(vv * ibc2) + eps);
      p[i] = (p[i] - lr * u) * post;
    }
    unsigned char zm = quantize(0.0f, smap, slut), zv = quantize(0.0f, umap, ulut);
    // The divisions four lanes at a time, then the table lookups.
    for (int k = 0; k < len; k++) {
      ms[k] = ms[k] / nm;
      vs[k] = vs[k] / nv;
    }
    for (int k = 0; k < len; k++) {
      mq[start + k] = nm > 0.0f ? quantize_keep_sign(ms[k], smap, slut) : zm;
      vq[start + k] = nv > 0.0f ? quantize(vs[k], umap, ulut) : zv;
    }
    mabs[b] = nm;
    vabs[b] = nv;
  }
}
