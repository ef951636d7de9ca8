/* Naive dense matrix multiply, C = A * B of n x n doubles, row-major: a floating-point kernel
 * whose inner loop is a dot product over a row of A and a column of B (strided loads). The order
 * of the additions is fixed (no reassociation without -ffast-math), so native and wasm compute
 * the same bits. */
#include "kernels.h"

void kernel_matmul(const double* a, const double* b, double* c, uint32_t n) {
  for (uint32_t i = 0; i < n; ++i) {
    for (uint32_t j = 0; j < n; ++j) {
      double sum = 0.0;
      for (uint32_t k = 0; k < n; ++k) sum += a[i * n + k] * b[k * n + j];
      c[i * n + j] = sum;
    }
  }
}
