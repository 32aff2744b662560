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

// sum of x^2.
double sumsq(const float *R x, int n) {
  v128_t a = wasm_f64x2_splat(0.0);
  int i = 0;
  for (; i + 4 <= n; i += 4) a = acc_sq(a, wasm_v128_load(x + i));
  double s = hsum(a);
  for (; i < n; i++) s += (double)x[i] * x[i];
  return s;
}

// max |x|.
float absmax(const float *R x, int n) {
  v128_t a = wasm_f32x4_splat(0.0f);
  int i = 0;
  for (; i + 4 <= n; i += 4) a = wasm_f32x4_max(a, wasm_f32x4_abs(wasm_v128_load(x + i)));
  float m = 0.0f;
  for (int l = 0; l < 4; l++) {
    float c = wasm_f32x4_extract_lane(a, 0);
    m = c > m ? c : m;
    a = wasm_i32x4_shuffle(a, a, 1, 2, 3, 0);
  }
  for (; i < n; i++) m = fabsf_(x[i]) > m ? fabsf_(x[i]) : m;
  return m;
}

// Stable-SPAM: sum of squares of g after AdaClip (entries above `limit` scaled by `scale`).
double clipped_sumsq(const float *R g, int n, float limit, float scale) {
  v128_t a = wasm_f64x2_splat(0.0), vl = wasm_f32x4_splat(limit), vs = wasm_f32x4_splat(scale);
  int i = 0;
  for (; i + 4 <= n; i += 4) {
    v128_t x = wasm_v128_load(g + i);
    a = acc_sq(a, wasm_v128_bitselect(wasm_f32x4_mul(x, vs), x, wasm_f32x4_gt(wasm_f32x4_abs(x), vl)));
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
#define ADAM_BODY(VMAX, NESTEROV, SPAM)                                                 \
  for (int i = 0; i < n; i++) {                                                         \
    float x = g[i];                                                                     \
    x = fabsf_(x) > clip_limit ? x * clip_scale : x;                                    \
    float pi = p[i];                                                                    \
    x = x * gscale + l2 * pi;                                                           \
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
  if (vmax) {
    if (nesterov) ADAM_BODY(1, 1, 0) else ADAM_BODY(1, 0, 0)
  } else if (theta > 0.0f) {
    ADAM_BODY(0, 0, 1)
  } else if (nesterov) {
    ADAM_BODY(0, 1, 0)
  } else {
    ADAM_BODY(0, 0, 0)
  }
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
void exadam_step(float *R p, const float *R g, float *R m, float *R v, int n, float b1, float b2, float c1, float c2,
                 float eps, float b1t, float b2t, float ibc1, float ibc2, float step, float decay) {
  const float keep = 1.0f - decay;
  for (int i = 0; i < n; i++) {
    float gg = g[i];
    float mm = b1 * m[i] + c1 * gg;
    float vv = b2 * v[i] + c2 * (gg * gg);
    m[i] = mm;
    v[i] = vv;
    float d1 = 1.0f + vv / (vv + eps) * b2t;
    float m2 = mm * mm;
    float d2 = 1.0f + m2 / (m2 + eps) * b1t;
    float u = (mm * ibc1 * d1 + gg * ibc1 * d1) / (sqrtf_(vv * ibc2 * d2) + eps);
    p[i] = p[i] * keep - step * u;
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
    for (; j + 4 <= s + block; j += 4) a = acc_sum(a, wasm_f32x4_abs(wasm_v128_load(d + j)));
    double t = hsum(a);
    for (; j < s + block; j++) t += fabsf_(d[j]);
    const float mean = (float)(t / block);
    ADAHESSIAN_BODY(s, s + block, mean)
  }
#undef ADAHESSIAN_BODY
}

// ---------------------------------------------------------------- 1-bit Adam compression

// Worker pass: e <- b1 m + c1 g + e (the worker's momentum with its error feedback); returns sum e^2.
double onebit_local(const float *R m, const float *R g, float *R e, int n, float b1, float c1) {
  v128_t a = wasm_f64x2_splat(0.0), vb1 = wasm_f32x4_splat(b1), vc1 = wasm_f32x4_splat(c1);
  int i = 0;
  for (; i + 4 <= n; i += 4) {
    v128_t x = wasm_f32x4_add(wasm_f32x4_add(wasm_f32x4_mul(vb1, wasm_v128_load(m + i)), wasm_f32x4_mul(vc1, wasm_v128_load(g + i))), wasm_v128_load(e + i));
    wasm_v128_store(e + i, x);
    a = acc_sq(a, x);
  }
  double s = hsum(a);
  for (; i < n; i++) {
    float x = b1 * m[i] + c1 * g[i] + e[i];
    e[i] = x;
    s += (double)x * x;
  }
  return s;
}

// Worker compression: q = scale sign(e) (sign(0) = +1); e <- e - q; acc <- (first ? 0 : acc) + q w;
// on the last worker acc also takes the server's error es and the sum acc^2 is returned.
double onebit_compress(float *R e, float *R acc, const float *R es, int n, float scale, float w, int first, int last) {
  v128_t a = wasm_f64x2_splat(0.0), vs = wasm_f32x4_splat(scale), vn = wasm_f32x4_splat(-scale), vw = wasm_f32x4_splat(w),
         zero = wasm_f32x4_splat(0.0f);
  int i = 0;
  for (; i + 4 <= n; i += 4) {
    v128_t x = wasm_v128_load(e + i);
    v128_t q = wasm_v128_bitselect(vs, vn, wasm_f32x4_ge(x, zero));
    wasm_v128_store(e + i, wasm_f32x4_sub(x, q));
    v128_t y = wasm_f32x4_mul(q, vw);
    if (!first) y = wasm_f32x4_add(wasm_v128_load(acc + i), y);
    if (last) {
      y = wasm_f32x4_add(y, wasm_v128_load(es + i));
      a = acc_sq(a, y);
    }
    wasm_v128_store(acc + i, y);
  }
  double s = hsum(a);
  for (; i < n; i++) {
    float x = e[i];
    float q = x >= 0.0f ? scale : -scale;
    e[i] = x - q;
    float y = q * w;
    if (!first) y = acc[i] + y;
    if (last) {
      y = y + es[i];
      s += (double)y * y;
    }
    acc[i] = y;
  }
  return s;
}

// Server: q = scale sign(acc); es <- acc - q; m <- q; u = m / (sqrt(v) + eps); p -= lr (u + wd p).
void onebit_server(float *R p, float *R m, const float *R v, const float *R acc, float *R es, int n, float scale,
                   float eps, float lr, float wd) {
  for (int i = 0; i < n; i++) {
    float x = acc[i];
    float q = x >= 0.0f ? scale : -scale;
    es[i] = x - q;
    m[i] = q;
    p[i] = p[i] - lr * (q / (sqrtf_(v[i]) + eps) + wd * p[i]);
  }
}

// ---------------------------------------------------------------- AdamP / SGDP

// One update with the radial projection of AdamP/SGDP over `rows` rows of `width` entries:
// kind 0 (AdamP): m, v as Adam (k1 = 1/bc1, k2 = 1/bc2), u = num k1 / (sqrt(v k2) + eps);
// kind 1 (SGDP): buf = momentum buf + c g, u = nesterov ? g + momentum buf : buf.
// With inv (1 / (||p_row|| + eps) per row) the row's u loses its component along p:
// u -= p inv (sum p inv u), the dot taken in float64. p = p (1 - decay) - step u.
void projected_step(float *R p, const float *R g, float *R m, float *R v, int rows, int width, int kind, float b1,
                    float b2, float c1, float c2, float eps, float k1, float k2, int nesterov, const float *R inv,
                    float step, float decay) {
  const float keep = 1.0f - decay;
  for (int r = 0; r < rows; r++) {
    long o = (long)r * width;
    float *pr = p + o, *mr = m + o, *vr = v ? v + o : 0;
    const float *gr = g + o;
    double dot = 0.0;
    float ir = inv ? inv[r] : 0.0f;
    // Sweep A: the moments, and the dot of p inv with u.
    if (kind == 0) {
      for (int i = 0; i < width; i++) {
        float x = gr[i];
        float mm = b1 * mr[i] + c1 * x;
        float vv = b2 * vr[i] + c2 * (x * x);
        mr[i] = mm;
        vr[i] = vv;
      }
    } else {
      for (int i = 0; i < width; i++) mr[i] = b1 * mr[i] + c1 * gr[i];
    }
    if (inv) {
      v128_t a = wasm_f64x2_splat(0.0);
      int i = 0;
      if (kind == 0) {
        v128_t vk1 = wasm_f32x4_splat(k1), vk2 = wasm_f32x4_splat(k2), ve = wasm_f32x4_splat(eps), vb1 = wasm_f32x4_splat(b1),
               vc1 = wasm_f32x4_splat(c1), vi = wasm_f32x4_splat(ir);
        for (; i + 4 <= width; i += 4) {
          v128_t mm = wasm_v128_load(mr + i);
          v128_t num = nesterov ? wasm_f32x4_add(wasm_f32x4_mul(vb1, mm), wasm_f32x4_mul(vc1, wasm_v128_load(gr + i))) : mm;
          v128_t u = wasm_f32x4_div(wasm_f32x4_mul(num, vk1), wasm_f32x4_add(wasm_f32x4_sqrt(wasm_f32x4_mul(wasm_v128_load(vr + i), vk2)), ve));
          a = acc_dot(a, wasm_f32x4_mul(wasm_v128_load(pr + i), vi), u);
        }
      } else {
        v128_t vb1 = wasm_f32x4_splat(b1), vi = wasm_f32x4_splat(ir);
        for (; i + 4 <= width; i += 4) {
          v128_t b = wasm_v128_load(mr + i);
          v128_t u = nesterov ? wasm_f32x4_add(wasm_v128_load(gr + i), wasm_f32x4_mul(vb1, b)) : b;
          a = acc_dot(a, wasm_f32x4_mul(wasm_v128_load(pr + i), vi), u);
        }
      }
      dot = hsum(a);
      for (; i < width; i++) {
        float u = kind == 0 ? ((nesterov ? b1 * mr[i] + c1 * gr[i] : mr[i]) * k1) / (sqrtf_(vr[i] * k2) + eps)
                            : (nesterov ? gr[i] + b1 * mr[i] : mr[i]);
        dot += (double)(pr[i] * ir) * u;
      }
    }
    // Sweep B: the projected step.
    const float fd = (float)dot;
    for (int i = 0; i < width; i++) {
      float u = kind == 0 ? ((nesterov ? b1 * mr[i] + c1 * gr[i] : mr[i]) * k1) / (sqrtf_(vr[i] * k2) + eps)
                          : (nesterov ? gr[i] + b1 * mr[i] : mr[i]);
      float pi = pr[i];
      u = u - pi * ir * fd;
      pr[i] = pi * keep - step * u;
    }
  }
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
  if ((a.u >> 31) != (b.u >> 31)) j += (a.u >> 31) ? -1 : 1;
  return (unsigned char)j;
}

// chain(percentileClipping?, scaleByAdam8bit, scaleByLearningRate, decayWeights(afterStep)),
// bitsandbytes' block-wise scheme: dequantize m (signed map) and v (unsigned map) with the block's
// absmax, update in float32 with the gradient scaled by gscale, step p = (p - lr u)(1 - decay_post),
// then requantize with each block's new absmax (x / absmax, as bitsandbytes divides).
void adam8bit_step(float *p, const float *g, unsigned char *mq, unsigned char *vq, float *mabs, float *vabs, int n,
                   int block, const float *smap, const float *umap, const unsigned char *slut, const unsigned char *ulut,
                   float *scratch, float lr, float b1, float b2, float c1, float c2, float eps, float ibc1, float ibc2,
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
    for (int l = 0; l < 4; l++) {
      float a = wasm_f32x4_extract_lane(vnm, 0), c = wasm_f32x4_extract_lane(vnv, 0);
      nm = a > nm ? a : nm;
      nv = c > nv ? c : nv;
      vnm = wasm_i32x4_shuffle(vnm, vnm, 1, 2, 3, 0);
      vnv = wasm_i32x4_shuffle(vnv, vnv, 1, 2, 3, 0);
    }
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
    for (int k = 0; k < len; k++) {
      mq[start + k] = nm > 0.0f ? quantize_keep_sign(ms[k] / nm, smap, slut) : zm;
      vq[start + k] = nv > 0.0f ? quantize(vs[k] / nv, umap, ulut) : zv;
    }
    mabs[b] = nm;
    vabs[b] = nv;
  }
}
