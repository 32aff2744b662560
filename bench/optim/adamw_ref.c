// The baseline the optimizer bench compares against: one fused AdamW loop in C (same update as
// alignkit's adamw chain), single thread, built by run.mjs with gcc -O3 -march=native -fno-math-errno.
// Usage: adamw_ref <params> <steps>; prints the median seconds per step (wall clock), p[n/2] (so the
// loop is not optimised away) and the median CPU seconds per step (the comparison that holds on a
// loaded machine).
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static double cpu(void) {
  struct timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int cmp(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

int main(int argc, char **argv) {
  long n = atol(argv[1]);
  int steps = atoi(argv[2]);
  float *p = malloc(n * 4), *g = malloc(n * 4), *m = calloc(n, 4), *v = calloc(n, 4);
  for (long i = 0; i < n; i++) {
    p[i] = (float)((i % 1000) - 500) * 1e-3f;
    g[i] = (float)((i % 777) - 388) * 1e-4f;
  }
  const float lr = 1e-3f, b1 = 0.9f, b2 = 0.999f, eps = 1e-8f, wd = 1e-2f;
  double *times = malloc(sizeof(double) * steps), *cpus = malloc(sizeof(double) * steps);
  for (int s = 0; s <= steps; s++) {
    float bc1 = 1.0f - powf(b1, s + 1), bc2 = 1.0f - powf(b2, s + 1);
    float ibc1 = 1.0f / bc1, ibc2 = 1.0f / bc2, c1 = 1.0f - b1, c2 = 1.0f - b2;
    double t0 = now(), c0 = cpu();
    for (long i = 0; i < n; i++) {
      float gg = g[i];
      float mm = b1 * m[i] + c1 * gg;
      float vv = b2 * v[i] + c2 * gg * gg;
      m[i] = mm;
      v[i] = vv;
      p[i] -= lr * ((mm * ibc1) / (sqrtf(vv * ibc2) + eps) + wd * p[i]);
    }
    if (s > 0) {  // step 0 is the warm-up
      times[s - 1] = now() - t0;
      cpus[s - 1] = cpu() - c0;
    }
  }
  qsort(times, steps, sizeof(double), cmp);
  qsort(cpus, steps, sizeof(double), cmp);
  printf("%.9f %f %.9f\n", times[steps / 2], p[n / 2], cpus[steps / 2]);
  return 0;
}
