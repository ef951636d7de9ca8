#include "kernels.h"

uint32_t kernel_fib(uint32_t n) {
  return n < 2 ? n : kernel_fib(n - 1) + kernel_fib(n - 2);
}
