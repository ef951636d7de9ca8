/* Compute kernels compiled twice: natively into reglet-bench and to wasm32-wasi (kernels.wasm),
 * so that the same source measures the interpreter against the host CPU. */
#ifndef REGLET_BENCH_KERNELS_H_
#define REGLET_BENCH_KERNELS_H_

#include <stddef.h>
#include <stdint.h>

/* In the wasm build each kernel is an export of the module; natively a plain function. */
#if defined(__wasm__)
#define KERNEL_EXPORT(name) __attribute__((export_name(name)))
#else
#define KERNEL_EXPORT(name)
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* Naive doubly recursive Fibonacci: a call-heavy kernel (fib(30) makes 1.6 million calls). */
KERNEL_EXPORT("fib") uint32_t kernel_fib(uint32_t n);

/* SHA-256 (FIPS 180-4) of data[0, len) into out[0, 32): a straight-line integer kernel. */
KERNEL_EXPORT("sha256")
void kernel_sha256(const uint8_t* data, uint32_t len, uint8_t* out);

/* Tokenizes the JSON text data[0, len): returns a hash of the tokens (kind, length, integer part
 * of numbers) and stores their number in *tokens; returns 0 with *tokens = 0 on malformed text. */
KERNEL_EXPORT("json_tokenize")
uint32_t kernel_json_tokenize(const uint8_t* data, uint32_t len, uint32_t* tokens);

/* c = a * b for n x n row-major matrices of doubles: a floating-point kernel. */
KERNEL_EXPORT("matmul")
void kernel_matmul(const double* a, const double* b, double* c, uint32_t n);

#ifdef __cplusplus
}
#endif

#endif /* REGLET_BENCH_KERNELS_H_ */
